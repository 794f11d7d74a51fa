// The runner's life: setting up, the main loop, and stopping (on a signal, on --halt now,
// when stdout's reader goes away).
#include "cli/runner.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <utility>

#include "cli/caller_shell.h"
#include "cli/input_header.h"
#include "cli/job_output.h"
#include "cli/parallel_config.h"
#include "cli/progress_line.h"
#include "cli/remote_options.h"
#include "cli/signal_watcher.h"
#include "cli/spool_dir.h"
#include "forkpool/worker.h"
#include "io/private_dir.h"

namespace forkpool::cli {
namespace {

using namespace std::chrono_literals;

// The largest frame between the runner and its workers: job output past kSpoolOver travels as
// a file, not in the frame; a remote job's output and files do travel in it.
constexpr std::size_t kMaxFrame = std::size_t{1} << 30;

// How long a worker told to stop may take before the pool kills it: long enough for the jobs'
// --termseq (the worker stops its job's process group with it first, then dies), and never
// below the pool's usual grace.
std::chrono::milliseconds worker_kill_grace(const std::vector<int>& termseq) {
  std::chrono::milliseconds total = 500ms;
  for (std::size_t i = 1; i < termseq.size(); i += 2)
    total += std::chrono::milliseconds(termseq[i]);
  return std::max<std::chrono::milliseconds>(total, 1s);
}

// Values are quoted for the shell that runs the jobs, as GNU parallel quotes them.
RunOptions with_shell_quoting(RunOptions options) {
  options.csh_quoting = is_csh(caller_shell());
  return options;
}

}  // namespace

Runner::Runner(RunOptions options, unsigned slots, BatchSettings settings)
    : options_(with_shell_quoting(with_input_headers(std::move(options)))),
      settings_(std::move(settings)),
      slots_(slots),
      templ_(options_),
      feed_(options_),
      shell_(caller_shell()),
      skip_shell_(shell_can_be_skipped(shell_)),
      output_(options_.keep_order, held_output_limit(), [this] { stdout_gone(); }),
      gate_(options_.resources, available_cpus(), shell_),
      tally_(options_.halt) {
  check_quoting_for(shell_, options_.remote.given());
  if (names_jobs_file(options_.jobs) && !options_.remote.given()) {
    jobs_file_.emplace(options_.jobs, available_cpus());
    slots_ = jobs_file_->slots();
  }
  for (unsigned s = 1; s <= slots_; ++s) free_slots_.insert(s);
  if (options_.resources.any() && options_.remote.given()) {
    throw UsageError(
        "--memfree, --load and --limit measure this machine: they cannot be combined with -S "
        "or --launcher");
  }
  check_env_names(options_.env_names);
  // As GNU parallel: a dry run writes no log; --joblog +FILE, or a resumed log that has a
  // first line, is appended to without a header.
  if (!options_.joblog.empty() && !options_.dry_run) {
    const bool resuming = options_.resume || options_.resume_failed;
    job_log_ = JobLog(options_.joblog,
                      options_.joblog_append || (resuming && has_first_line(options_.joblog)));
  }
  if (const ResultsFormat format = results_format(options_.results);
      format != ResultsFormat::kDirectory)
    results_table_ = ResultsTable(options_.results, format);
  // GNU parallel's `if($opt::header)`: "0" is false.
  if (options_.pipe.header && *options_.pipe.header != "0" && !options_.pipe.header->empty())
    results_table_.name_columns(options_.column_names);
  feed_.preload(slots_, templ_.needs_total_jobs() && !options_.total_jobs);
  tally_.set_total_jobs(options_.total_jobs.value_or(feed_.total_jobs()));
  templ_.set_total_jobs(options_.total_jobs.value_or(feed_.total_jobs()));
}

int Runner::dry_run() {
  int skipped_jobs = 0;  // skip() in {= =}: printed all the same, counted as failed (GNU)
  while (auto job = feed_.next()) {
    const std::string prefix = options_.tagstring ? templ_.tag(*job, 1) + "\t" : "";
    bool skipped = false;
    const std::string command = templ_.command(*job, 1, &skipped);
    if (skipped && skipped_jobs < 101) ++skipped_jobs;
    if (dry_run_saves(*job, prefix, command)) continue;  // --results, --files
    if (options_.color) {
      // As GNU parallel: the command line is the job's output, in the job's colour.
      LinePrefixer colored(prefix, color_of_job(job->seq));
      std::string line;
      colored.append(command + "\n", line);
      write_stdout(line);
      continue;
    }
    write_stdout(prefix + command + "\n");
  }
  return skipped_jobs;
}

int Runner::run() {
  SignalWatcher signals([this](int signal) { on_signal(signal); });
  // The runner reports each job a dead worker took with it, in its own words; the pool's
  // warnings about the same deaths would say it twice (and on Ctrl-C, once per worker);
  // unless FORKPOOL_LOG or -v asked for debug detail.
  if (!task_logger().should_log(spdlog::level::debug)) {
    task_logger().set_level(spdlog::level::err);
  }
  const unsigned workers = feed_.workers_needed(slots_);
  if (workers == 0) return exit_status();  // no job at all
  // Spawned workers are fresh execs of this program: nothing of the runner's memory or
  // threads is copied into them (and a ThreadSanitizer build delivers their signals, which
  // it does not in children forked from a multi-threaded process).
  io::PrivateDir spool(kSpoolDirPrefix);  // removed with whatever a worker that died left in it
  spool_dir_ = spool.path();
  const std::optional<Launcher> remote = run_launcher(options_.remote);
  // A remote job's output comes back in its frame: a spool file would be on its host.
  spool_over_ = remote ? std::numeric_limits<std::size_t>::max() : kSpoolOver;
  // -k --line-buffer: the oldest job's lines stream from its spooled output as they come;
  // with a colour, every job's, which the parent colours. (Remote jobs' output comes back
  // whole; a retried job's lines could not be taken back.)
  if (parent_prints_lines() && !remote && options_.results.empty() && !options_.files &&
      !settings_.discard_output && options_.retries == 0)
    spool_watch_.emplace(spool_dir_, [this] {
      std::lock_guard lock(mutex_);
      output_grew_ = true;
      wake_.notify_one();
    });
  if (remote) {
    // The caller's shell is a path on this machine, and its exported functions do not travel.
    shell_ = "/bin/sh";
    skip_shell_ = shell_can_be_skipped(shell_);
  }
  const FileMoverOptions& moving = options_.remote.movers;
  if (moving.moves() || moving.workdir) {
    // What is not a transferred file's bytes in a request fits in the frame's last MiB.
    movers_.emplace(options_, has_remote_hosts(remote), kMaxFrame - (std::size_t{1} << 20));
    if (std::string warning = movers_->warning(); !warning.empty()) report(warning);
  }
  // Each worker stops its job's process group before it dies of SIGTERM, SIGINT or SIGHUP:
  // the handlers are this program's choice, made in its workers, not the library's.
  // -j FILE: the slot count may grow during the run, so the pool may start workers up to the
  // most any -j value gives, as jobs wait for them; those left idle by fewer slots retire.
  Pool pool({.workers = jobs_file_ ? resolve_jobs("0", 1) : workers,
             .start_method = StartMethod::kSpawn,
             .launcher = remote.value_or(Launcher{}),
             .max_frame = kMaxFrame,
             .kill_grace = worker_kill_grace(options_.termseq),
             .idle_timeout = jobs_file_ ? std::chrono::milliseconds(10s) : 0ms,
             .min_workers = workers,
             .initializer = movers_ && movers_->has_basefiles()
                                ? initializer(exec_worker_setup_task, movers_->worker_setup())
                                : initializer(exec_stop_handlers_task)});
  pool_ = &pool;
  // --pipe --round-robin on other hosts streams blocks through the pool: none once it goes.
  const PipeJobsPoolUse pipe_pool_use(feed_.pipe());
  run_loop();
  spool_watch_.reset();
  output_.flush(/*everything=*/true);
  show_progress(true);
  pool.close();
  pool_ = nullptr;
  movers_.reset();
  output_.clear();  // before the spool directory goes
  if (stop_signal_ != 0) return 128 + stop_signal_;
  return exit_status();
}

void Runner::run_loop() {
  for (;;) {
    if (stop_requested()) {
      stop_running_jobs();
      return;
    }
    start_no_new_jobs();
    follow_jobs_file();
    start_jobs();
    if (running_.empty() && !more_to_start()) return;
    for (std::uint64_t seq : wait_for_finished()) finish(seq);
    show_progress(false);
  }
}

// The jobs that finished since the last call; waits for one (or a signal, or the time
// --delay allows the next start).
std::vector<std::uint64_t> Runner::wait_for_finished() {
  std::vector<std::uint64_t> finished;
  bool output_grew = false;
  {
    std::unique_lock lock(mutex_);
    auto ready = [&] { return !finished_.empty() || stop_signal_ != 0 || hangup_ || output_grew_; };
    std::optional<Clock::time_point> until = next_start_time();
    // The job gate's rules change with nothing to wait on (free memory, the load): look again.
    if (gate_.active()) {
      const auto check_at = Clock::now() + gate_.next_check_in();
      until = until ? std::min(*until, check_at) : check_at;
    }
    // -j FILE changes with nothing to wait on either: GNU parallel looks once a second.
    if (jobs_file_) {
      const auto check_at = Clock::now() + 1s;
      until = until ? std::min(*until, check_at) : check_at;
    }
    if (until) {
      wake_.wait_until(lock, *until, ready);
    } else {
      wake_.wait(lock, ready);
    }
    finished.swap(finished_);
    output_grew = std::exchange(output_grew_, false);
  }
  if (!finished.empty()) gate_.job_ended();
  if (output_grew) output_.catch_up();  // -k --line-buffer: the oldest job's new lines
  return finished;
}

// ---- stopping ------------------------------------------------------------------------------

// SIGHUP, as GNU parallel 20221122 takes it: start no new job, let the running ones finish,
// exit as usual. SIGINT and SIGTERM (also after a SIGHUP) stop every job now; run_command
// then exits 255, as GNU parallel does.
void Runner::on_signal(int signal) {
  std::lock_guard lock(mutex_);
  if (signal == SIGHUP) {
    hangup_ = true;
  } else if (stop_signal_ == 0) {
    stop_signal_ = signal;
  }
  wake_.notify_one();
  if (PipeJobs* pipe = feed_.pipe()) pipe->interrupt();  // the main thread may wait for a block
}

// After a SIGHUP: no new jobs, and GNU parallel's messages about the ones left running, said
// again for each SIGHUP, as GNU parallel does.
void Runner::start_no_new_jobs() {
  {
    std::lock_guard lock(mutex_);
    if (!hangup_) return;
    hangup_ = false;
  }
  halting_ = true;
  report("SIGHUP received. No new jobs will be started.");
  report("Waiting for these " + std::to_string(running_.size()) +
         " jobs to finish. Send SIGTERM to stop now.");
  for (const auto& [seq, job] : running_) report(job.command);
}

// Stdout's reader went away: nothing more can be delivered. Stop as on a signal (every job
// stopped, the temporary files removed) and exit 141, SIGPIPE's status, as GNU parallel.
void Runner::stdout_gone() {
  output_.mark_stdout_gone();
  std::lock_guard lock(mutex_);
  if (stop_signal_ == 0) stop_signal_ = SIGPIPE;
}

bool Runner::stop_requested() {
  std::lock_guard lock(mutex_);
  return stop_signal_ != 0;
}

// Ends every running job now: each worker, told SIGTERM, terminates its job's process group
// (TERM, then KILL) and dies; what it was running settles with WorkerDied. A task that was
// still in a dying worker's pipe may start on a replacement, so the round repeats until every
// job has settled; the deadline only guards against a hang.
void Runner::stop_running_jobs() {
  stopping_ = true;
  // These deaths are ours; the pool's errors about them (a crash loop) are too.
  task_logger().set_level(spdlog::level::off);
  const auto deadline = Clock::now() + 30s;
  while (!running_.empty() && Clock::now() < deadline) {
    for (pid_t pid : pool_->worker_pids()) ::kill(pid, SIGTERM);
    std::vector<std::uint64_t> settled;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, 200ms, [&] { return !finished_.empty(); });
      settled.swap(finished_);
    }
    for (std::uint64_t seq : settled) running_.erase(seq);
  }
  pool_->terminate();
}

// ---- progress and messages -----------------------------------------------------------------

void Runner::show_progress(bool final) {
  if (!options_.bar && !options_.eta && !options_.progress) return;
  const auto now = Clock::now();
  if (!final && last_progress_ && now - *last_progress_ < 200ms) return;
  last_progress_ = now;
  write_stderr(progress_line({.bar = options_.bar,
                              .eta = options_.eta,
                              .total_jobs = tally_.total_jobs(),
                              .completed = tally_.completed(),
                              .running = running_.size(),
                              .failed = tally_.failed(),
                              .elapsed = std::chrono::duration<double>(now - started_at_).count()},
                             final));
}

void Runner::report(const std::string& message) const {
  write_stderr(settings_.program + ": " + message + "\n");
}

}  // namespace forkpool::cli
