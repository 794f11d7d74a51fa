// Counting finished jobs: --halt's decisions and the exit status of a run, as GNU parallel
// 20221122's should_we_halt() makes them. Pure: no I/O, no clock.
#pragma once

#include <cstdint>
#include <optional>

#include "cli/run_options.h"

namespace forkpool::cli {

class JobTally {
 public:
  explicit JobTally(HaltPolicy halt) : halt_(halt) {}

  // The number of jobs in the run, when it is known before the first job ends (N% forms).
  void set_total_jobs(std::uint64_t total) { total_jobs_ = total; }
  void count_started() { ++started_; }

  // What --halt says once a finished job is counted.
  struct Verdict {
    // The line GNU parallel prints before the job's command ("This job failed: "), or null.
    const char* announcement = nullptr;
    // Set the first time --halt's threshold is reached: the status the run then exits with.
    std::optional<int> halt_status;
  };
  // Counts one finished job (after its retries). `exitval` and `signal` are the last attempt's.
  Verdict count(bool failed, int exitval, int signal);

  // The exit status of a run that ended without a halt of forkpool's own: --halt's status,
  // else the percentage of failed jobs (--halt N%), else the number of failed jobs, 101 at most.
  int exit_status() const;

  std::uint64_t total_jobs() const { return total_jobs_; }
  std::uint64_t completed() const { return completed_; }
  std::uint64_t failed() const { return failed_; }

 private:
  int status_at_halt(int exitval, int signal) const;

  HaltPolicy halt_;
  std::uint64_t total_jobs_ = 0;
  std::uint64_t started_ = 0, completed_ = 0, failed_ = 0;
  std::optional<int> halt_status_;
};

}  // namespace forkpool::cli
