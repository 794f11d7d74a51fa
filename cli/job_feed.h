// The jobs a run starts, in order: JobSource's jobs, minus those --resume / --resume-failed
// skip, with a look-ahead so the runner knows whether another job is there.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <unordered_map>

#include "cli/job_source.h"
#include "cli/pipe_jobs.h"
#include "cli/run_options.h"

namespace forkpool::cli {

class JobFeed {
 public:
  // Opens the input sources and, with --resume / --resume-failed, reads the job log. Throws
  // UsageError for an unreadable source, or a --resume without --joblog FILE.
  explicit JobFeed(const RunOptions& options);

  // Under --pipe / --pipepart the jobs are blocks of the input instead (PipeJobs, which
  // preload() starts): their stdin is fed while they run, through pipe().
  // Reads ahead before the run starts: every job when the run needs their number (--bar,
  // --eta, --shuf, --halt N%, or `read_all`), else up to `slots` jobs when the input is at hand
  // (values or regular files, never stdin or a pipe, where waiting for more would hold back the
  // first job), so that `-j 0 echo ::: a b c` starts three workers, not 250. `read_all` asks for
  // every job whatever the options (total_jobs() in an expression). Throws UsageError.
  void preload(unsigned slots, bool read_all);

  // The number of workers a run with `slots` job slots needs.
  unsigned workers_needed(unsigned slots) const;
  // The number of jobs, when preload() read them all because the run needs it; else 0.
  std::uint64_t total_jobs() const { return total_jobs_; }

  // Whether another job is there (reading it ahead); next() then returns it. Throws UsageError
  // for input that turns bad (a read error, an argument too long for a command line).
  bool has_next();
  // The next job, or nullopt at the end. Throws UsageError.
  std::optional<JobInput> next();

  // --pipe / --pipepart's blocks and their feeding, after preload(); else null.
  PipeJobs* pipe() const { return pipe_.get(); }

 private:
  std::optional<JobInput> read_one();
  bool input_is_at_hand() const;

  const RunOptions& options_;
  JobSource source_;
  std::unordered_map<std::uint64_t, bool> resume_;  // seq -> succeeded, from the job log
  std::deque<JobInput> preloaded_;
  bool all_read_ = false;
  std::optional<JobInput> peeked_;
  std::uint64_t total_jobs_ = 0;
  std::unique_ptr<PipeJobs> pipe_;
};

}  // namespace forkpool::cli
