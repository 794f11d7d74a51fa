// RecordMatcher: one Perl-compatible regular expression (PCRE2), compiled once, for the
// record separators and headers of --pipe. GNU parallel's regexps are Perl's, so std::regex's
// dialects would read some of them differently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace forkpool::cli {

class RecordMatcher {
 public:
  // Compiles `pattern` with PCRE2 `flags` (PCRE2_MULTILINE, ...), JIT-compiled where the
  // library can. Throws UsageError naming `what` (e.g. "--recend") if it does not compile.
  RecordMatcher(const std::string& pattern, std::uint32_t flags, const std::string& what);
  ~RecordMatcher();
  RecordMatcher(RecordMatcher&& other) noexcept;
  RecordMatcher& operator=(RecordMatcher&& other) noexcept;
  RecordMatcher(const RecordMatcher&) = delete;
  RecordMatcher& operator=(const RecordMatcher&) = delete;

  // The first match in `text` at or after `start`: where capture group `group` (0: the whole
  // match) begins and ends. nullopt if there is none (or the group took no part in it).
  // Throws UsageError if PCRE2 gives up (its match limit on a pathological pattern).
  std::optional<std::pair<std::size_t, std::size_t>> search(std::string_view text,
                                                            std::size_t start = 0,
                                                            int group = 0) const;

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace forkpool::cli
