// The runner behind `forkpool run` and run_batch(): a Pool of exec-task workers, one job per
// job slot, fed lazily from the input. The main thread starts jobs and handles each as it
// finishes (Future::on_ready wakes it); a signal thread turns SIGINT/SIGTERM/SIGHUP into an
// orderly stop.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/file_movers.h"
#include "cli/job_feed.h"
#include "cli/job_gate.h"
#include "cli/job_log.h"
#include "cli/job_source.h"
#include "cli/job_tally.h"
#include "cli/jobs_file.h"
#include "cli/output_order.h"
#include "cli/results_dir.h"
#include "cli/results_table.h"
#include "cli/run_command.h"
#include "cli/run_options.h"
#include "cli/spool_dir.h"
#include "forkpool/exec.h"
#include "forkpool/pool.h"

namespace forkpool::cli {

class Runner {
 public:
  // Opens the inputs and the job log and reads ahead (see JobFeed::preload). Throws
  // UsageError, before any job starts, for what forkpool run reports as one.
  Runner(RunOptions options, unsigned slots, BatchSettings settings = {});

  // Runs every job; returns the exit status run_command() documents.
  int run();
  // --dry-run: prints each command (after its --tag) instead of running it. Returns 0.
  int dry_run();

  // After run(): the jobs that ran to an end, and (with BatchSettings::discard_output) the
  // ones that failed.
  std::uint64_t completed() const { return tally_.completed(); }
  std::vector<JobFailure> take_failures() { return std::move(failures_); }
  // After run(): the signal that stopped the run (SIGINT, SIGTERM; SIGPIPE when stdout's
  // reader went away), or 0.
  int stop_signal() const { return stop_signal_; }

 private:
  using Clock = std::chrono::steady_clock;

  struct RunningJob {
    JobInput input;
    std::uint64_t order = 0;  // position in output order (-k)
    std::string command;
    std::string tag;
    unsigned slot = 0;
    unsigned tries = 0;
    Future<ExecResult> future;
    // Why the runner asked this job's worker to stop it (the job gate made room), for the
    // debug log; "" when it was not asked.
    std::string stopped_because;
  };

  // scheduling (runner_schedule.cc)
  void run_loop();
  std::vector<std::uint64_t> wait_for_finished();
  bool input_left();
  bool more_to_start();
  std::optional<Clock::time_point> next_start_time() const;
  void start_jobs();
  std::optional<RunningJob> next_job();
  ExecRequest make_request(const RunningJob& job) const;
  void fail_unstarted(RunningJob job, const std::string& why);
  void skip_unstarted(RunningJob job);
  bool resources_allow_start();
  void stop_youngest_job();
  double timeout_for_next_job() const;

  // finishing (runner_finish.cc)
  void finish(std::uint64_t seq);
  void record(RunningJob& job, ExecResult& result, FinishedOutput output, bool failed,
              const std::string& lost_reason);
  struct RowNumbers {
    int exitval = 0;
    std::uint64_t sent = 0;
  };
  void deliver_to_table(const RunningJob& job, const ExecResult& result, FinishedOutput output,
                        RowNumbers numbers, const std::function<void()>& log);
  bool save_output(const RunningJob& job, const ExecResult& result, FinishedOutput output,
                   const std::function<void()>& log);
  bool write_results(const RunningJob& job, const ResultsFiles& files,
                     const FinishedOutput& output);
  void follow_output(const RunningJob& job, ExecRequest& request);
  // --line-buffer whose lines the parent prints (-k, a tag or a colour), not the workers.
  bool parent_prints_lines() const {
    return options_.output == OutputMode::kLineBuffer &&
           (options_.keep_order || options_.color || options_.tagstring);
  }
  bool dry_run_saves(const JobInput& job, const std::string& prefix, const std::string& command);
  void count(const RunningJob& job, bool failed, int exitval, int signal);
  int exit_status() const;
  void show_progress(bool final);
  void report(const std::string& message) const;

  // -j FILE (runner_schedule.cc)
  void follow_jobs_file();
  void release_slot(unsigned slot);

  // stopping (runner.cc)
  void on_signal(int signal);
  void start_no_new_jobs();
  void stdout_gone();
  bool stop_requested();
  void stop_running_jobs();

  RunOptions options_;
  BatchSettings settings_;
  unsigned slots_;
  CommandTemplate templ_;
  JobFeed feed_;  // after options_: it keeps a reference to them
  std::string shell_;
  bool skip_shell_;  // plain commands are exec'd without the shell
  JobLog job_log_;
  ResultsTable results_table_;  // --results NAME.csv/.tsv/.json

  Pool* pool_ = nullptr;  // while run() runs
  // -j FILE on this machine: slots_ follows the file as it changes. Slots above slots_ are
  // not handed out again; the jobs in them finish.
  std::optional<JobsFile> jobs_file_;
  std::set<unsigned> free_slots_;
  std::map<std::uint64_t, RunningJob> running_;  // by seq
  std::deque<RunningJob> retry_;
  std::uint64_t next_order_ = 0;
  OutputOrder output_;
  std::string spool_dir_;                // while run() runs
  std::size_t spool_over_ = kSpoolOver;  // output bytes past which a job's output is spooled
  std::optional<FileMovers> movers_;     // while run() runs, with --workdir, --transfer ...
  std::optional<Clock::time_point> last_start_;
  std::vector<double> runtimes_;
  std::vector<JobFailure> failures_;  // with BatchSettings::discard_output

  JobGate gate_;  // --memfree, --load, --limit

  JobTally tally_;
  bool halting_ = false;
  bool stopping_ = false;
  bool input_failed_ = false;

  // The ETA counts from here, not from the first progress line (after the first job).
  const Clock::time_point started_at_ = Clock::now();
  std::optional<Clock::time_point> last_progress_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::uint64_t> finished_;  // guarded by mutex_
  int stop_signal_ = 0;                  // guarded by mutex_
  bool hangup_ = false;                  // guarded by mutex_: a SIGHUP not yet acted on
  bool output_grew_ = false;             // guarded by mutex_: spool_watch_ saw a write

  // -k --line-buffer, while run() runs: wakes the main loop when a job's output grows. Last:
  // its thread uses the members above.
  std::optional<SpoolWatch> spool_watch_;
};

}  // namespace forkpool::cli
