// Jobs of `forkpool run`: reading the input sources lazily and turning each group of
// arguments into a shell command line with GNU parallel's replacement strings and quoting.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/run_options.h"

namespace forkpool::cli {

// The arguments of one job, before the command is rendered.
struct JobInput {
  std::uint64_t seq = 0;  // 1-based in input order: {#} and PARALLEL_SEQ
  // One entry per input argument the job takes (-n); each is one value per input source
  // (or per --colsep column).
  std::vector<std::vector<std::string>> args;
  // -n 0 / -N 0: the job consumed its input record(s), but no argument is inserted.
  bool no_args = false;
};

// Reads jobs from the input sources in GNU parallel's order: the cartesian product of the
// sources with the LAST varying fastest; :::+ / ::::+ pair a source with the previous one
// element by element, stopping at the shorter; a source with no value at all, next to
// sources that have some, counts as one empty value (with no value anywhere there is no
// job). Then -0, --colsep, and -n/-N/-X/-m grouping, with -m/-X filling the line to
// RunOptions::max_line_length and, at end of input, spreading the last arguments over
// RunOptions::job_slots, exactly as GNU parallel does. {#} numbers jobs in the order they
// are returned (after --shuf).
//
// Lazy and streaming: the first source (or linked group) is read as jobs are taken, so a
// file or stdin of ten million lines is never held whole. Later sources are read again from
// the start for each value before them (::: values, regular files), or kept from their
// first pass when they cannot be re-read (pipes). --shuf reads every record first.
class JobSource {
 public:
  // Opens every file source now, so a missing or unreadable file is a UsageError
  // ("cannot open 'FILE': No such file or directory") before any job starts. Nothing is
  // read until next(). Also throws UsageError for a bad --colsep regex.
  explicit JobSource(const RunOptions& options);
  ~JobSource();
  JobSource(const JobSource&) = delete;
  JobSource& operator=(const JobSource&) = delete;

  // The next job, or nullopt when the input is exhausted. Throws UsageError on a read error,
  // and (as GNU parallel stops with "Command line too long") when a single argument makes
  // the command longer than RunOptions::max_line_length.
  std::optional<JobInput> next();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The command template (and --tagstring), compiled once: finds the replacement strings (those
// of ReplacementStrings: --plus, -I, --rpl...) and {= perl =} expressions, which one perl
// coprocess (PerlEvaluator) compiles before any job starts and evaluates for every job; a
// Perl syntax error is a UsageError. Renders a job. As in GNU parallel:
//  - anything that is not a replacement string, like "{", "{abc}" or "{1", is literal text;
//  - the command words are joined by spaces as given, so shell syntax in them works;
//  - a command without replacement strings gets {} appended; no command at all is "{}";
//  - values are shell-quoted (see internal::shell_quote), except when a replacement string
//    starts the command (before any space, tab, newline or '='), e.g. `{}` or `{1}.sh`:
//    then no value is quoted, so each input line can be a command;
//  - -q quotes each finished command word instead of the values;
//  - {} {.} ... stand for every argument of the job (-n, -m), space-separated; {N} is the
//    N-th argument of the job's flat list (negative counts from the end), "" if missing.
class CommandTemplate {
 public:
  explicit CommandTemplate(const RunOptions& options);
  ~CommandTemplate();
  CommandTemplate(CommandTemplate&&) noexcept;

  // The shell command line for `job` running in job slot `slot` (1-based: {%} and
  // PARALLEL_JOBSLOT), quoted exactly as GNU parallel 20221122 quotes it, so that
  // `--dry-run` prints the same bytes. `*skipped` (if given) says whether an expression called
  // skip(): GNU parallel then runs nothing and counts the job as failed, with Exitval -2.
  std::string command(const JobInput& job, unsigned slot, bool* skipped = nullptr) const;
  // Whether an expression calls total_jobs(): the runner then reads every job before the
  // first starts, and says how many there are with set_total_jobs().
  bool needs_total_jobs() const;
  void set_total_jobs(std::uint64_t total);
  // The --tag / --tagstring prefix of each output line (without the tab GNU parallel puts
  // after it), or "" when neither option is given. --tag is --tagstring {}: the job's
  // arguments joined by a space, never quoted (trimmed under --colsep).
  std::string tag(const JobInput& job, unsigned slot) const;
  // The --results name for `job` run in `slot`: its replacement strings expanded, unquoted,
  // as GNU parallel expands them (a name without any is returned as it is).
  std::string results_name(const JobInput& job, unsigned slot) const;
  // The directory under --results DIR for `job`, relative to DIR, as GNU parallel lays it
  // out (for example "1/a/2/b" for two sources with values a and b; "1/a/1/b" for -n2 with
  // a and b). Values are untrimmed, with \ → \\, TAB → \t, NUL → \0 and / → \_. An
  // empty value gives "1/" (GNU parallel's files then land in DIR/1/). Only for a plain DIR.
  std::string results_subdir(const JobInput& job) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace forkpool::cli
