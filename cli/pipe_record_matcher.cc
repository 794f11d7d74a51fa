#include "cli/pipe_record_matcher.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "cli/run_options.h"

namespace forkpool::cli {

namespace {

// The JIT's stack: PCRE2's default of 32 KiB is too small for GNU parallel's record patterns
// ((?:(?!end start).)*? over a long record needs a frame per byte); past this the interpreter,
// whose frames are on the heap, takes over.
constexpr std::size_t kJitStack = std::size_t{64} << 20;

}  // namespace

struct RecordMatcher::Impl {
  pcre2_code* code = nullptr;
  pcre2_match_data* match = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
  std::string what;
  ~Impl() {
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(jit_stack);
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
  impl_->context = pcre2_match_context_create(nullptr);
  // A block of a few megabytes legitimately takes more steps than the default ten million.
  pcre2_set_match_limit(impl_->context, 0xFFFFFFFFu);
  impl_->jit_stack = pcre2_jit_stack_create(32 * 1024, kJitStack, nullptr);
  if (impl_->jit_stack != nullptr)
    pcre2_jit_stack_assign(impl_->context, nullptr, impl_->jit_stack);
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
  const auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  int rc = pcre2_match(impl_->code, subject, text.size(), start, 0, impl_->match, impl_->context);
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
    rc = pcre2_match(impl_->code, subject, text.size(), start, PCRE2_NO_JIT, impl_->match,
                     impl_->context);
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
