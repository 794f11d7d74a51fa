#include "cli/pipe_record_matcher.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "cli/run_options.h"

namespace forkpool::cli {

struct RecordMatcher::Impl {
  pcre2_code* code = nullptr;
  pcre2_match_data* match = nullptr;
  std::string what;
  ~Impl() {
    pcre2_match_data_free(match);
    pcre2_code_free(code);
  }
};

RecordMatcher::RecordMatcher(const std::string& pattern, std::uint32_t flags,
                             const std::string& what)
    : impl_(new Impl) {
  impl_->what = what;
  int error = 0;
  PCRE2_SIZE offset = 0;
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), flags,
                              &error, &offset, nullptr);
  if (impl_->code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    delete impl_;
    throw UsageError("invalid regular expression for " + what + ": " +
                     reinterpret_cast<const char*>(message));
  }
  // Without JIT (not built for this CPU) PCRE2 interprets the pattern: slower, same matches.
  pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE);
  impl_->match = pcre2_match_data_create_from_pattern(impl_->code, nullptr);
}

RecordMatcher::~RecordMatcher() { delete impl_; }

RecordMatcher::RecordMatcher(RecordMatcher&& other) noexcept
    : impl_(std::exchange(other.impl_, nullptr)) {}

RecordMatcher& RecordMatcher::operator=(RecordMatcher&& other) noexcept {
  std::swap(impl_, other.impl_);
  return *this;
}

std::optional<std::pair<std::size_t, std::size_t>> RecordMatcher::search(std::string_view text,
                                                                         std::size_t start,
                                                                         int group) const {
  if (start > text.size()) return std::nullopt;
  const int rc = pcre2_match(impl_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(),
                             start, 0, impl_->match, nullptr);
  if (rc == PCRE2_ERROR_NOMATCH) return std::nullopt;
  if (rc < 0) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(rc, message, sizeof message);
    throw UsageError("cannot match the regular expression of " + impl_->what + ": " +
                     reinterpret_cast<const char*>(message));
  }
  if (group >= rc) return std::nullopt;
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(impl_->match);
  if (ovector[2 * group] == PCRE2_UNSET) return std::nullopt;
  return std::pair<std::size_t, std::size_t>(ovector[2 * group], ovector[2 * group + 1]);
}

}  // namespace forkpool::cli
