// `forkpool bench`: sweeps worker counts for a batch of `forkpool run` jobs and recommends one.
#pragma once

#include <span>
#include <string>

namespace forkpool::cli {

// Runs `forkpool bench` with the words after "bench" (kBenchUsage describes them). Prints the
// table and its recommendation on stdout, progress on stderr, and writes the --json, --csv
// and --plot files. Returns 0 when every job succeeded; 1 when a job failed (it is named on
// stderr; the sweep stops there, and what was measured before it is still printed and
// written); 128+N after signal N; 255 for a malformed command line, input that cannot be
// read, or a report file that cannot be written, reported in one line before any job runs,
// and for a failure of forkpool's own during the sweep (what was measured is still written).
int bench_command(std::span<const std::string> args);

}  // namespace forkpool::cli
