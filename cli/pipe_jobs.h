// PipeJobs: `forkpool run --pipe` / `--pipepart` as the runner sees it -- a source of jobs
// whose input is a block instead of arguments, and the thread that feeds each running job
// its block.
//
// Memory stays bounded whatever the input's size: a block is read only when a job can take
// it (one is read ahead), and dropped when its job has ended, so the parent holds at most
// (job slots + 1) blocks, plus what a record longer than the block adds. --pipepart holds no
// block at all: each job's range goes from the page cache to its pipe with splice(2).
//
// A job's stdin is a named pipe in a private directory, which the worker opens for the job
// (ExecRequest::stdin_path). One thread writes to every job's pipe without blocking, so a job
// that reads slowly (or not at all) delays only its own block.
//
// On other hosts (PipeOptions::in_request) the block travels inside the job's request instead
// (ExecRequest::stdin_bytes; with --cat or --fifo, {} is a name the worker replaces by its own
// file's), and the worker feeds it. Then the parent drops a block once its request is made,
// unless --retries may need it again. With --round-robin the job's stdin stays open there, and
// the later blocks follow through the pool's connection to its worker (submitted()).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "cli/job_source.h"
#include "forkpool/exec.h"
#include "forkpool/pool.h"

namespace forkpool::cli {

class PipeJobs {
 public:
  // Opens the input (stdin, -a FILE or :::: FILE) and starts the feeding thread. Throws
  // UsageError for an input that cannot be opened, or --pipepart on what is not a regular
  // file, before any job starts.
  PipeJobs(const RunOptions& options, unsigned slots);
  // Stops the feeding thread, closes every pipe and removes the temporary files.
  ~PipeJobs();
  PipeJobs(const PipeJobs&) = delete;
  PipeJobs& operator=(const PipeJobs&) = delete;

  // The next job: waits until its block has been read. nullopt when the input is exhausted
  // (with --round-robin: once every slot has its job), or after interrupt(). With --cat or --fifo
  // its one argument,
  // {}, is the file's name. Throws UsageError if the input could not be read.
  std::optional<JobInput> next_job();
  // From any thread (a signal's): next_job() returns nullopt from now on, at once, even while
  // it waits for input that may never come.
  void interrupt();
  // Starts feeding job `seq` (from next_job()) into a new named pipe, named in `request`
  // (--cat writes its file instead). Call again for each retry of the job.
  void attach(std::uint64_t seq, ExecRequest& request);
  // --round-robin on other hosts: job `seq` (attach()ed) was submitted to `pool` as `future`.
  // Its later blocks are dealt to it through the pool (forkpool/task_input.h), each once its
  // worker has taken the one before. Nothing otherwise.
  void submitted(std::uint64_t seq, Pool& pool, const Future<ExecResult>& future);
  // Before the pool goes: nothing more is sent through it (waits for a send under way).
  void forget_pool();
  // Job `seq`'s process has ended (its pipe is closed; its block is kept for a retry).
  void job_ended(std::uint64_t seq);
  // The size of job `seq`'s first block (--joblog's Send; with --round-robin a job gets more),
  // until release(seq).
  std::uint64_t bytes_sent(std::uint64_t seq) const;
  // Job `seq` will not run again: its block and files go.
  void release(std::uint64_t seq);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Declared after the pool a PipeJobs streams through: forget_pool() before the pool goes,
// however the scope ends.
class PipeJobsPoolUse {
 public:
  explicit PipeJobsPoolUse(PipeJobs* pipe) : pipe_(pipe) {}
  ~PipeJobsPoolUse() {
    if (pipe_ != nullptr) pipe_->forget_pool();
  }
  PipeJobsPoolUse(const PipeJobsPoolUse&) = delete;
  PipeJobsPoolUse& operator=(const PipeJobsPoolUse&) = delete;

 private:
  PipeJobs* pipe_;
};

}  // namespace forkpool::cli
