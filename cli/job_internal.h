// Pieces shared by JobSource and CommandTemplate: GNU parallel's shell quoting, the value
// transforms behind the replacement strings, and the compiled form of a template. Exposed in
// a header so that tests can check them one by one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cli/job_source.h"

namespace forkpool::cli {
class PerlEvaluator;
class ReplacementStrings;
}  // namespace forkpool::cli

namespace forkpool::cli::internal {

// GNU parallel's shell_quote_scalar_default(): values made only of [-_.+a-zA-Z0-9/] stay as
// they are, "" becomes '', anything else is single-quoted with ' written as '"'"' (and the
// '' that would start or end the result dropped).
std::string shell_quote(std::string_view value);
// GNU parallel's shell_quote_scalar_csh(), for jobs that csh or tcsh runs: a backslash before
// each special character, a newline as "\\\n", "" as ''.
std::string csh_quote(std::string_view value);
// shell_quote, or csh_quote when `csh`.
std::string quote_for(std::string_view value, bool csh);

// Perl's \s (without Unicode rules): space, \t, \n, \v, \f, \r.
inline bool is_perl_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// What a replacement string does to its argument.
enum class Transform {
  kNone,     // {}
  kDot,      // {.}   s:\.[^/.]*$::
  kBase,     // {/}   s:.*/::
  kDir,      // {//}  File::Basename::dirname
  kBaseDot,  // {/.}  {/} then {.}
  kSeq,      // {#}
  kSlot,     // {%}
  kPerl,     // any other: a Perl expression, run by the PerlEvaluator
};

std::string apply_transform(std::string value, Transform transform);

// Perl's \s trim at both ends, which GNU parallel applies to every argument under --colsep.
std::string trim_space(std::string_view value);
// GNU parallel's trim_of(): --trim n, l, r or lr/rl (lr by default under --colsep).
enum class Trim { kNone, kLeft, kRight, kBoth };
std::string trim_value(std::string_view value, Trim trim);
// The --trim of `options`. Throws UsageError for a mode GNU parallel does not know.
Trim trim_of(const RunOptions& options);

// One replacement string in a template.
struct Replacement {
  Transform transform = Transform::kNone;
  // {N...}: N as written ("1", "-1", "01"). Empty: {} {.} ... which take every argument.
  std::string position;
  std::size_t perl = 0;  // kPerl: the index of its expression
  bool positional() const;
};

// A template word split the way GNU parallel's replace_placeholders() tokenizes it.
struct Token {
  enum class Kind {
    kText,         // literal text without whitespace
    kSpace,        // one whitespace character inside a word
    kEmpty,        // an empty command word
    kWordBreak,    // between two command words (never quoted)
    kReplacement,  // a replacement string
  };
  Kind kind = Kind::kText;
  std::string text;  // kText, kSpace
  Replacement replacement;
};

// Where a template is used: the command line, or --tagstring (never quoted).
struct RenderMode {
  bool quote_values = true;       // shell-quote the substituted values
  bool quote_words = false;       // -q: quote each finished word
  bool context = false;           // -X / -N: repeat the word around {} per argument
  bool csh = false;               // quote for csh and tcsh (csh_quote)
  PerlEvaluator* perl = nullptr;  // for kPerl; REQUIRED when the template has any
  std::uint64_t total_jobs = 0;   // total_jobs() in expressions
};

// A template (the command words, or the --tagstring) compiled once.
class CompiledTemplate {
 public:
  // `append_if_none`: GNU parallel appends {} to a command that has no replacement string.
  // Replacement strings are those of `rpl`; the Perl expressions that forkpool does not
  // evaluate itself are appended to `expressions` (once each), and kPerl replacements index
  // into it.
  CompiledTemplate(const std::vector<std::string>& words, bool append_if_none,
                   const ReplacementStrings& rpl, std::vector<std::string>& expressions);

  // True when a replacement string starts the command (before any space, tab, newline or
  // '='), e.g. "{}" or "{1}x": GNU parallel then quotes no value at all.
  bool replacement_leads() const { return replacement_leads_; }
  bool has_replacements() const { return !counts_.empty(); }

  // The rendered text for one job. `records` holds one entry per input record, each a list
  // of column values; with `no_args` (-n 0) every argument is GNU parallel's "\0noarg". `*skipped`
  // (if given) is set when an expression called skip().
  std::string render(const JobInput& job, unsigned slot, const RenderMode& mode, Trim trim,
                     bool* skipped = nullptr) const;

  // GNU parallel's estimate of the command length (CommandLine::len()) for the records
  // pushed so far, used to fill -m / -X lines and to refuse too-long lines.
  class Length {
   public:
    explicit Length(const CompiledTemplate& t, const RenderMode& mode, Trim trim, bool no_args);
    void push(const std::vector<std::string>& record, std::uint64_t seq);
    void reset();
    std::size_t total(std::size_t records, std::size_t columns_of_first) const;
    // A cheap bound on total() from the records' sizes alone (`bytes` of values in
    // `columns` values): while it is below the limit, push() and total() can be skipped.
    std::size_t upper_bound(std::size_t records, std::size_t columns_of_first, std::size_t bytes,
                            std::size_t columns) const;

   private:
    const CompiledTemplate& t_;
    RenderMode mode_;
    Trim trim_;
    bool no_args_;
    std::vector<std::size_t> lengths_;  // per distinct replacement, like len{perlexpr}
  };

 private:
  struct Count {
    Replacement replacement;
    std::size_t uses = 0;
  };
  // Appends one command word's tokens (after a word break), counting its replacement strings
  // and the lengths CommandLine::len() uses.
  void append_word(std::vector<Token> word);
  void count_replacement(const Replacement& r);
  // GNU parallel: if "@command" =~ /^[^ \t\n=]*\257</, no value is quoted.
  bool find_replacement_leads() const;

  std::vector<Token> tokens_;
  std::vector<Count> counts_;  // distinct replacement strings and how often each is used
  std::size_t words_ = 0;
  std::size_t context_length_ = 0;
  std::size_t context_groups_ = 0;
  std::size_t noncontext_length_ = 0;
  bool replacement_leads_ = false;
};

// Splits `line` on the --colsep regex (Perl's dialect, through PCRE2), as Perl's split with
// limit -1 does.
class ColumnSplitter {
 public:
  explicit ColumnSplitter(const std::string& perl_regex);  // throws UsageError
  ~ColumnSplitter();
  ColumnSplitter(const ColumnSplitter&) = delete;
  ColumnSplitter& operator=(const ColumnSplitter&) = delete;
  std::vector<std::string> split(const std::string& line) const;

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace forkpool::cli::internal
