#include "cli/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "cli/run_options.h"

namespace forkpool::cli {

struct Regex::Impl {
  pcre2_code* code = nullptr;
  pcre2_match_data* match = nullptr;
  ~Impl() {
    pcre2_match_data_free(match);
    pcre2_code_free(code);
  }
};

Regex::Regex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;
Regex::~Regex() = default;

Regex Regex::compile(std::string_view pattern, std::string_view option) {
  auto impl = std::make_unique<Impl>();
  int error = 0;
  PCRE2_SIZE offset = 0;
  impl->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), 0,
                             &error, &offset, nullptr);
  if (impl->code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    throw UsageError("invalid " + std::string(option) + " regex '" + std::string(pattern) +
                     "': " + reinterpret_cast<const char*>(message) + " at offset " +
                     std::to_string(offset));
  }
  // JIT compiling makes --pipe's record scanning several times faster; without it (a kernel
  // that forbids executable memory) matching still works, interpreted.
  pcre2_jit_compile(impl->code, PCRE2_JIT_COMPLETE);
  impl->match = pcre2_match_data_create_from_pattern(impl->code, nullptr);
  if (impl->match == nullptr) throw std::bad_alloc();
  return Regex(std::move(impl));
}

std::optional<std::pair<std::size_t, std::size_t>> Regex::search(std::string_view text,
                                                                 std::size_t start,
                                                                 bool not_empty_at_start) const {
  if (start > text.size()) return std::nullopt;
  const uint32_t options = not_empty_at_start ? PCRE2_NOTEMPTY_ATSTART : 0;
  const int rc = pcre2_match(impl_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(),
                             start, options, impl_->match, nullptr);
  if (rc < 0) return std::nullopt;  // no match, or a match limit hit: Perl also gives up
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(impl_->match);
  return std::make_pair(static_cast<std::size_t>(ovector[0]), static_cast<std::size_t>(ovector[1]));
}

std::vector<std::pair<std::size_t, std::size_t>> Regex::search_groups(std::string_view text,
                                                                      std::size_t start) const {
  std::vector<std::pair<std::size_t, std::size_t>> groups;
  if (start > text.size()) return groups;
  const int rc = pcre2_match(impl_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(),
                             start, 0, impl_->match, nullptr);
  if (rc < 0) return groups;
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(impl_->match);
  const std::uint32_t count = pcre2_get_ovector_count(impl_->match);
  for (std::uint32_t i = 0; i < count; ++i) {
    const bool unset = ovector[2 * i] == PCRE2_UNSET;
    groups.emplace_back(unset ? std::string_view::npos : ovector[2 * i],
                        unset ? std::string_view::npos : ovector[2 * i + 1]);
  }
  return groups;
}

}  // namespace forkpool::cli
