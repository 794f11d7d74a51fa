// `forkpool run`: GNU parallel's everyday subset, with jobs started by persistent forkpool
// workers running the built-in exec task.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cli/run_options.h"

namespace forkpool::cli {

// Runs `forkpool run` with the words after "run". Returns the exit status: 0 when every job
// succeeded, the number of failed jobs (1-100), 101 for more, --halt's status when it
// stopped the run, 255 after SIGINT or SIGTERM stopped it (as GNU parallel), 141 when stdout's
// reader went away, 255 for an error of forkpool's own (a malformed option, an unreadable
// file), reported in one line on stderr before any job.
int run_command(std::span<const std::string> args);

// ---- One batch, for a caller that runs batches itself (forkpool bench) ---------------------

// How run_batch() differs from `forkpool run`.
struct BatchSettings {
  // Prefixes the runner's own messages on stderr ("forkpool run: job 3 (...) was lost: ...").
  std::string program = "forkpool run";
  // Every job's output is captured and dropped instead of printed; a failed job's stderr is
  // kept in BatchOutcome::failures instead.
  bool discard_output = false;
};

// A job that failed (after its retries), with BatchSettings::discard_output.
struct JobFailure {
  std::string command;
  std::string reason;  // "exited with code 3", "was killed by signal 9", "timed out", ...
  std::string err;     // its stderr
};

struct BatchOutcome {
  int exit_status = 0;          // as run_command() returns it
  std::uint64_t completed = 0;  // jobs that ran to an end, failed ones included
  std::vector<JobFailure> failures;
};

// Runs every job of `options` with `slots` job slots, exactly as `forkpool run` runs them
// (the same job source, command templates, pool of spawned exec workers, signal handling),
// and waits for the end. Throws UsageError, before any job starts, for what forkpool run
// reports as one: an unreadable file, a bad --colsep, a --resume without --joblog.
// --dry-run is not honoured here. Ctrl-C ends the batch: exit_status is then 128+N.
BatchOutcome run_batch(RunOptions options, unsigned slots, const BatchSettings& settings);

}  // namespace forkpool::cli
