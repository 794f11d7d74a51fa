// The options of `forkpool bench`: its own (--workers, --runs, the report files), then the job
// exactly as `forkpool run` takes it, parsed by parse_run_options().
#pragma once

#include <span>
#include <string>
#include <vector>

#include "cli/run_options.h"

namespace forkpool::cli {

struct BenchOptions {
  std::vector<unsigned> workers;  // --workers: sorted, no duplicates; empty: the default sweep
  unsigned runs = 3;              // --runs: whole batches per worker count
  std::string json, csv, plot;    // report files ("" none)
  bool help = false;
  // The job: command, input sources, and those `forkpool run` options that mean something
  // when the batch runs many times with its output discarded (-a, -0, --colsep, -q, -n, -N,
  // -X, -m, -s, --retries, --timeout, --delay).
  RunOptions run;
  // The command words as given, for the report's title.
  std::string label;
};

// Parses the words after `bench`. Bench's own options come first; the first other word ends
// them: `--` (everything after it is the job), another option (handed to forkpool run's parser
// with the rest), or the command. Throws UsageError naming the offending option, for a
// forkpool run option that has no meaning here (-j, -k, --joblog, --dry-run, ...), and when
// there is no command. Does not touch the file system.
BenchOptions parse_bench_options(std::span<const std::string> args);

// --workers: "1,2,4", ranges "1-8", or both ("1,2,6-8"); each count 1-250 (forkpool run's
// most job slots). Returns them sorted, without duplicates. Throws UsageError.
std::vector<unsigned> parse_worker_list(const std::string& text);

// `forkpool bench --help`.
extern const char* const kBenchUsage;

// bench's own options, as parse_bench_options() reads them (the job's options are forkpool
// run's: run_option_names()).
std::vector<OptionName> bench_option_names();

}  // namespace forkpool::cli
