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

// Reads jobs from the input sources in GNU parallel's order (the cartesian product of the
// sources, :::+ linking, -0, --colsep, -n/-N/-X/-m grouping). Lazy and streaming: a file or
// stdin of ten million lines is read as jobs are taken, never held whole (except for
// --shuf, which must see every job first, and for crossing a file source with a later
// one, which must be re-read or kept).
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

// The command template (and --tagstring), compiled once: checks replacement strings (an
// unbalanced or unknown one is a UsageError before any job starts) and renders a job.
class CommandTemplate {
 public:
  explicit CommandTemplate(const RunOptions& options);
  ~CommandTemplate();
  CommandTemplate(CommandTemplate&&) noexcept;

  // The shell command line for `job` running in job slot `slot` (1-based: {%} and
  // PARALLEL_JOBSLOT), quoted exactly as GNU parallel 20221122 quotes it, so that
  // `--dry-run` prints the same bytes.
  std::string command(const JobInput& job, unsigned slot) const;
  // The --tag / --tagstring prefix of each output line (without the tab), or "" when
  // neither option is given.
  std::string tag(const JobInput& job, unsigned slot) const;
  // The directory under --results DIR for `job`, relative to DIR, as GNU parallel lays it
  // out (for example "1/a/2/b" for two sources with values a and b).
  std::string results_subdir(const JobInput& job) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace forkpool::cli
