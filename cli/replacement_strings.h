// GNU parallel 20221122's replacement strings as it defines them: each a Perl expression
// (%Global::replace, --plus's %Global::plus), renamed by -I, --extensionreplace and the other
// *replace options, extended by --rpl; and the rewriting of a command word into literal text
// and expressions, as CommandLine::new() does it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/regex.h"
#include "cli/run_options.h"

namespace forkpool::cli {

// The Perl expressions of the built-in replacement strings, which forkpool evaluates itself.
inline constexpr std::string_view kPerlSeq = "$_=$job->seq()";
inline constexpr std::string_view kPerlSlot = "$_=$job->slot()";
inline constexpr std::string_view kPerlBase = "s:.*/::";
inline constexpr std::string_view kPerlDir =
    "$Global::use{\"File::Basename\"} ||= eval \"use File::Basename; 1;\"; $_ = dirname($_);";
inline constexpr std::string_view kPerlBaseDot = "s:.*/::; s:\\.[^/.]*$::;";
inline constexpr std::string_view kPerlDot = "s:\\.[^/.]*$::";

// One piece of a command word: literal text, or an expression ("{= ... =}" and every
// replacement string, as the Perl code GNU parallel would evaluate, a position first for
// positional ones: "2s:.*/::", "1 $_=$job->seq()").
struct WordPiece {
  bool expression = false;
  std::string text;
};

// --parens as GNU parallel splits it: the first half (rounded down) opens {= perl =}, the rest
// closes it.
struct Parens {
  std::string left = "{=";
  std::string right = "=}";
};
Parens parens_of(const RunOptions& options);

class ReplacementStrings {
 public:
  // The table for these options (--plus, -I, --rpl ...). Throws UsageError for a --rpl that
  // is not "STRING PERL", or whose STRING holds an invalid regular expression.
  explicit ReplacementStrings(const RunOptions& options);
  ~ReplacementStrings();
  ReplacementStrings(ReplacementStrings&&) noexcept;

  // `word` with {= =} and every replacement string turned into expressions.
  std::vector<WordPiece> expand(const std::string& word) const;

 private:
  struct Rpl;
  void expand_text(const Rpl& rpl, std::vector<WordPiece>& pieces) const;
  std::vector<std::unique_ptr<Rpl>> table_;  // longest first
  Parens parens_;
};

// GNU parallel's merge_rpl_parts(): words that split a {= ... =} are joined with spaces.
std::vector<std::string> merge_expression_words(const std::vector<std::string>& words,
                                                const Parens& parens = {});

}  // namespace forkpool::cli
