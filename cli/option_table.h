// The table of `forkpool run`'s options: every spelling, whether it takes a value, and what it
// sets. Internal to option parsing.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/run_options.h"

namespace forkpool::cli {

// kOptional: a value that may be left out, as Getopt::Long's ":s" (see OptionParser).
enum class Arity { kFlag, kValue, kOptional };

// What parsing gathers before it can settle RunOptions (-n with -N, -X, -m; -a files; --tag
// with --tagstring).
struct ParseState {
  bool output_seen = false;
  OutputMode output_mode = OutputMode::kGroup;
  bool max_args_given = false;
  bool max_replace_args_given = false;
  std::size_t max_args = 0;
  std::size_t max_replace_args = 0;
  bool x = false;
  bool m = false;
  std::vector<std::string> arg_files;  // -a, in order
  std::optional<std::string> tagstring;
};

struct OptionSpec {
  std::vector<std::string_view> long_names;  // without "--"
  char short_name;                           // 0: none
  Arity arity;
  // Called with the option as the user wrote it ("--jobs", "-j") and its value ("" for a flag).
  std::function<void(RunOptions&, const std::string& name, const std::string& value)> apply;
  // False for options that concern `forkpool run` itself and mean nothing to a batch that
  // forkpool bench runs: the parser lists them in RunOptions::run_only.
  bool in_batch = true;
};

// Every option; the actions write to `st` as well as to RunOptions.
std::vector<OptionSpec> option_table(ParseState& st);

// The option `written` (after "--") names, resolved as GNU parallel's Getopt::Long resolves
// it: case-insensitively, an exact name first, else a prefix of the names of exactly one
// option (of all GNU parallel's options, so that an abbreviation means what it means there).
// Throws UsageError for an unknown or ambiguous name, or one of GNU parallel's options that
// forkpool run does not implement.
const OptionSpec& resolve_long(const std::vector<OptionSpec>& table, std::string_view written);
// The option -`name`. Throws UsageError as resolve_long() does.
const OptionSpec& resolve_short(const std::vector<OptionSpec>& table, char name);

}  // namespace forkpool::cli
