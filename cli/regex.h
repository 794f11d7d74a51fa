// Perl-compatible regular expressions (PCRE2), for every regular expression GNU parallel takes:
// --colsep, --recstart / --recend with --regexp. GNU parallel hands them to Perl, so they are
// Perl's dialect: non-greedy quantifiers, (?i) inline flags, \s \d \w, lookarounds.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace forkpool::cli {

class Regex {
 public:
  // Compiles `pattern` as bytes (Perl without `use utf8`, as GNU parallel runs it). Throws
  // UsageError "invalid OPTION regex 'PATTERN': WHY at offset N", `option` naming where the
  // pattern came from (e.g. "--colsep").
  static Regex compile(std::string_view pattern, std::string_view option = "regular expression");

  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  ~Regex();

  // The first match in `text` at or after `start`, as [begin, end) offsets into `text`.
  // Lookbehind and \b see the bytes before `start`. `not_empty_at_start`: an empty match at
  // `start` does not count (Perl's split and global matching use it to move on).
  // Not thread-safe: one object holds one match buffer.
  std::optional<std::pair<std::size_t, std::size_t>> search(std::string_view text,
                                                            std::size_t start = 0,
                                                            bool not_empty_at_start = false) const;
  // As search(), with the capture groups: [0] is the whole match, [N] group N, an unset group
  // {npos, npos}. Empty when there is no match.
  std::vector<std::pair<std::size_t, std::size_t>> search_groups(std::string_view text,
                                                                 std::size_t start = 0) const;

 private:
  struct Impl;
  explicit Regex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace forkpool::cli
