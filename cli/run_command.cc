// forkpool run: a Pool of exec-task workers, one job per job slot, fed lazily from the input
// sources. The main thread starts jobs, and handles each as it finishes (Future::on_ready
// wakes it); a signal thread turns SIGINT/SIGTERM/SIGHUP into an orderly stop.
#include "cli/run_command.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cli/job_output.h"
#include "cli/job_source.h"
#include "cli/pipe_jobs.h"
#include "cli/run_options.h"
#include "cli/shell_words.h"
#include "forkpool/exec.h"
#include "forkpool/pool.h"
#include "forkpool/worker.h"
#include "io/fd.h"
#include "io/syscalls.h"

namespace forkpool::cli {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int kExitForkpoolError = 255;

// ---- Output ----------------------------------------------------------------------------------

// A job's stdout or stderr past this size goes from the worker to a file, not into its result
// frame: neither process then holds more than about this much of any job's output in memory,
// whatever its size (GNU parallel keeps all job output in temporary files).
constexpr std::size_t kSpoolOver = std::size_t{1} << 20;

// A private directory for the spooled output of one run, removed with whatever a worker that
// died midway left in it.
class SpoolDir {
 public:
  SpoolDir() {
    const char* tmp = ::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/forkpool-run-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::system_error(errno, std::generic_category(),
                              "cannot create a directory for job output in " + pattern);
    path_ = std::move(pattern);
  }
  ~SpoolDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  SpoolDir(const SpoolDir&) = delete;
  SpoolDir& operator=(const SpoolDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---- The job log ---------------------------------------------------------------------------

constexpr const char* kJobLogHeader =
    "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";

// What an earlier run's --joblog says: for each sequence number, whether its last attempt
// succeeded.
std::unordered_map<std::uint64_t, bool> read_job_log(const std::string& path) {
  std::unordered_map<std::uint64_t, bool> done;
  std::ifstream in(path);
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (header) {
      header = false;
      if (line.rfind("Seq\t", 0) == 0) continue;
    }
    std::vector<std::string> fields;
    std::stringstream s(line);
    for (std::string f; std::getline(s, f, '\t') && fields.size() < 8;) fields.push_back(f);
    if (fields.size() < 8) continue;
    char* end = nullptr;
    const auto seq = std::strtoull(fields[0].c_str(), &end, 10);
    if (end == fields[0].c_str() || seq == 0) continue;
    done[seq] = fields[6] == "0" && fields[7] == "0";
  }
  return done;
}

class JobLog {
 public:
  JobLog() = default;
  // "-" is stdout. Appends (without a new header) when resuming an existing log.
  JobLog(const std::string& path, bool append) {
    if (path == "-") {
      fd_ = STDOUT_FILENO;
      write_stdout(kJobLogHeader);
      return;
    }
    const bool existed = ::access(path.c_str(), F_OK) == 0;
    owned_ = io::Fd(
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0666));
    if (!owned_)
      throw UsageError("cannot write the job log '" + path + "': " + std::strerror(errno));
    fd_ = owned_.get();
    if (!(append && existed)) write_line(kJobLogHeader);
  }
  // `sent`: the bytes the job was given on stdin (--pipe), GNU parallel's Send.
  void write(std::uint64_t seq, const ExecResult& r, int exitval, const std::string& command,
             std::uint64_t sent = 0) {
    if (fd_ < 0) return;
    char head[160];
    std::snprintf(head, sizeof head, "%llu\t:\t%.3f\t%10.3f\t%llu\t%zu\t%d\t%d\t",
                  static_cast<unsigned long long>(seq), r.start_time, r.duration,
                  static_cast<unsigned long long>(sent), static_cast<std::size_t>(r.out_size),
                  exitval, r.signal);
    write_line(std::string(head) + command + "\n");
  }

 private:
  void write_line(std::string_view line) {
    if (fd_ == STDOUT_FILENO) {
      write_stdout(line);
      return;
    }
    iovec iov{const_cast<char*>(line.data()), line.size()};
    io::write_all(fd_, std::span(&iov, 1), std::nullopt);
  }

  io::Fd owned_;
  int fd_ = -1;
};

// ---- Signals -------------------------------------------------------------------------------

// Blocks SIGINT, SIGTERM and SIGHUP in this thread (so in every thread started after it,
// the pool's included) and waits for them in a thread of its own. Workers unblock them.
class SignalWatcher {
 public:
  explicit SignalWatcher(std::function<void(int)> on_signal) {
    sigemptyset(&set_);
    for (int s : {SIGINT, SIGTERM, SIGHUP, kWake}) sigaddset(&set_, s);
    pthread_sigmask(SIG_BLOCK, &set_, &previous_);
    thread_ = std::thread([this, on_signal = std::move(on_signal)] {
      for (;;) {
        int signal = 0;
        if (sigwait(&set_, &signal) != 0) continue;
        if (signal == kWake) {
          if (done_.load()) return;
          continue;
        }
        on_signal(signal);
      }
    });
  }
  ~SignalWatcher() {
    done_ = true;
    pthread_kill(thread_.native_handle(), kWake);
    thread_.join();
    // Signals that arrived after the run ended are dropped with the mask: the run is over.
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  static constexpr int kWake = SIGUSR2;
  sigset_t set_{}, previous_{};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// ---- The runner ----------------------------------------------------------------------------

struct RunningJob {
  JobInput input;
  std::uint64_t order = 0;  // position in output order (-k)
  std::string command;
  std::string tag;
  unsigned slot = 0;
  unsigned tries = 0;
  Future<ExecResult> future;
};

class Runner {
 public:
  Runner(RunOptions options, unsigned slots, BatchSettings settings = {})
      : options_(std::move(options)),
        settings_(std::move(settings)),
        slots_(slots),
        templ_(options_),
        source_(options_),
        shell_(shell_path()) {
    for (unsigned s = 1; s <= slots_; ++s) free_slots_.insert(s);
    if (options_.resume || options_.resume_failed) {
      if (options_.joblog.empty() || options_.joblog == "-")
        throw UsageError(std::string(options_.resume ? "--resume" : "--resume-failed") +
                         " needs --joblog FILE");
      resume_ = read_job_log(options_.joblog);
    }
    if (!options_.joblog.empty())
      job_log_ = JobLog(options_.joblog, options_.resume || options_.resume_failed);
    check_pipe_input(options_);
    if (options_.pipe.on()) {
      pipe_ = std::make_unique<PipeJobs>(options_, slots_);  // blocks, not arguments
    } else if (options_.bar || options_.eta || options_.shuffle || options_.halt.percent) {
      // These need the number of jobs, as in GNU parallel: read all input first.
      while (auto job = source_.next()) preloaded_.push_back(std::move(*job));
      total_jobs_ = preloaded_.size();
      all_read_ = true;
    } else if (input_is_at_hand()) {
      // Read a slot's worth ahead, to start no more workers than there are jobs (`-j 0
      // echo ::: a b c` needs three, not 250). Never from stdin or a pipe, where waiting for
      // more lines would hold back the first job.
      while (preloaded_.size() < slots_) {
        std::optional<JobInput> job = source_.next();
        if (!job) {
          all_read_ = true;
          break;
        }
        preloaded_.push_back(std::move(*job));
      }
    }
  }

  // The number of workers the run needs.
  unsigned workers_needed() const {
    if (!all_read_) return slots_;
    return static_cast<unsigned>(std::min<std::size_t>(slots_, preloaded_.size()));
  }

  // After run(): the jobs that ran to an end, and (with BatchSettings::discard_output) the
  // ones that failed.
  std::uint64_t completed() const { return total_completed_; }
  std::vector<JobFailure> take_failures() { return std::move(failures_); }

  int dry_run() {
    while (auto job = next_input()) {
      const std::string tag = templ_.tag(*job, 1);
      write_stdout((tag.empty() ? "" : tag + "\t") + templ_.command(*job, 1) + "\n");
    }
    return 0;
  }

  int run() {
    SignalWatcher signals([this](int signal) {
      std::lock_guard lock(mutex_);
      if (stop_signal_ == 0) stop_signal_ = signal;
      wake_.notify_one();
      if (pipe_) pipe_->interrupt();  // the main thread may be waiting for a block
    });
    // The runner reports each job a dead worker took with it, in its own words; the pool's
    // warnings about the same deaths would say it twice (and on Ctrl-C, once per worker);
    // unless FORKPOOL_LOG or -v asked for debug detail.
    if (!task_logger().should_log(spdlog::level::debug)) {
      task_logger().set_level(spdlog::level::err);
    }
    const unsigned workers = workers_needed();
    if (workers == 0) return exit_status();  // no job at all
    // Spawned workers are fresh execs of this program: nothing of the runner's memory or
    // threads is copied into them (and a ThreadSanitizer build delivers their signals, which
    // it does not in children forked from a multi-threaded process).
    SpoolDir spool;
    spool_dir_ = spool.path();
    // Each worker stops its job's process group before it dies of SIGTERM, SIGINT or SIGHUP:
    // the handlers are this program's choice, made in its workers, not the library's.
    Pool pool({.workers = workers,
               .start_method = StartMethod::kSpawn,
               // Job output past kSpoolOver travels as a file, not in the frame.
               .max_frame = std::size_t{1} << 30,
               .initializer = initializer(exec_stop_handlers_task)});
    pool_ = &pool;
    for (;;) {
      if (stop_requested()) {
        stop_running_jobs();
        break;
      }
      start_jobs();
      if (running_.empty() && !more_to_start()) break;
      std::vector<std::uint64_t> finished;
      {
        std::unique_lock lock(mutex_);
        auto ready = [&] { return !finished_.empty() || stop_signal_ != 0; };
        if (auto until = next_start_time()) {
          wake_.wait_until(lock, *until, ready);
        } else {
          wake_.wait(lock, ready);
        }
        finished.swap(finished_);
      }
      for (std::uint64_t seq : finished) finish(seq);
      show_progress(false);
    }
    flush_ordered_output(/*everything=*/true);
    show_progress(true);
    pool.close();
    pool_ = nullptr;
    held_.clear();  // before the spool directory goes
    if (stop_signal_ != 0) return 128 + stop_signal_;
    return exit_status();
  }

 private:
  static std::string shell_path() {
    const char* shell = ::getenv("PARALLEL_SHELL");
    return shell && *shell ? shell : "/bin/sh";
  }

  // ---- input -----------------------------------------------------------------------------

  // True if every input source is a list of values or a regular file: reading from it never
  // waits for someone else to write.
  bool input_is_at_hand() const {
    if (options_.sources.empty()) return false;  // stdin
    for (const InputSource& source : options_.sources) {
      if (source.kind == InputSource::Kind::kValues) continue;
      struct stat st {};
      if (source.path == "-" || ::stat(source.path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    }
    return true;
  }

  std::optional<JobInput> read_one() {
    if (pipe_) return pipe_->next_job();
    if (!preloaded_.empty()) {
      JobInput job = std::move(preloaded_.front());
      preloaded_.pop_front();
      return job;
    }
    if (all_read_) return std::nullopt;
    return source_.next();
  }

  // The next job that --resume / --resume-failed does not skip.
  std::optional<JobInput> next_input() {
    if (peeked_) return std::exchange(peeked_, std::nullopt);
    for (;;) {
      std::optional<JobInput> job = read_one();
      if (!job) return job;
      auto it = resume_.find(job->seq);
      if (it != resume_.end() && (options_.resume || it->second)) continue;
      return job;
    }
  }

  // Whether another job is there to start. Input that turns bad half-way (a read error, an
  // argument too long for a command line) is reported once; the jobs already running finish
  // and are reported, and nothing new starts.
  bool input_left() {
    if (input_failed_) return false;
    if (!peeked_) {
      try {
        peeked_ = next_input();
      } catch (const UsageError& e) {
        report(e.what());
        input_failed_ = true;
        halting_ = true;
      }
    }
    return peeked_.has_value();
  }

  bool more_to_start() {
    if (halting_) return false;
    return !retry_.empty() || input_left();
  }

  // ---- starting jobs ---------------------------------------------------------------------

  std::optional<Clock::time_point> next_start_time() const {
    if (options_.delay <= 0 || !last_start_ || halting_) return std::nullopt;
    if (free_slots_.empty()) return std::nullopt;
    return *last_start_ + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(options_.delay));
  }

  // Output waiting for an earlier job (-k) holds back new jobs once it passes this size, so
  // that one slow job cannot make memory grow without bound. FORKPOOL_RUN_HELD_OUTPUT_LIMIT
  // (bytes) sets another limit: for machines with little memory, and for the tests.
  static std::size_t held_output_limit() {
    const char* text = ::getenv("FORKPOOL_RUN_HELD_OUTPUT_LIMIT");
    if (text != nullptr && *text != '\0') {
      char* end = nullptr;
      const unsigned long long limit = std::strtoull(text, &end, 10);
      if (*end == '\0') return static_cast<std::size_t>(limit);
    }
    return std::size_t{256} << 20;
  }

  void start_jobs() {
    while (!free_slots_.empty() && !halting_ && !stop_requested()) {
      if (auto at = next_start_time(); at && Clock::now() < *at) return;
      RunningJob job;
      if (!retry_.empty()) {
        // Always allowed: a retried job may be the one the held output waits for.
        job = std::move(retry_.front());
        retry_.pop_front();
      } else {
        // Only output that is actually held back can hold back a job: with nothing held (a
        // limit of 0, or every earlier job printed) the next job always starts.
        if (!held_.empty() && held_bytes_ >= held_output_limit_) return;
        if (!input_left()) return;
        job.input = std::move(*std::exchange(peeked_, std::nullopt));
        job.order = next_order_++;
      }
      job.slot = *free_slots_.begin();
      free_slots_.erase(free_slots_.begin());
      job.command = templ_.command(job.input, job.slot);
      job.tag = templ_.tag(job.input, job.slot);
      ++job.tries;
      ExecRequest request;
      request.command = job.command;
      request.shell = shell_;
      if (shell_ == "/bin/sh") {
        if (auto argv = direct_argv(job.command)) request.argv = std::move(*argv);
      }
      request.env = {"PARALLEL_SEQ=" + std::to_string(job.input.seq),
                     "PARALLEL_JOBSLOT=" + std::to_string(job.slot),
                     "PARALLEL_PID=" + std::to_string(::getpid())};
      request.timeout = timeout_for_next_job();
      switch (options_.output) {
        case OutputMode::kGroup:
          request.output = ExecRequest::kCapture;
          break;
        case OutputMode::kLineBuffer:
          // With -k, the output order is the job order: grouping gives the same bytes.
          request.output = options_.keep_order ? ExecRequest::kCapture : ExecRequest::kLines;
          request.line_prefix = job.tag.empty() ? "" : job.tag + "\t";
          break;
        case OutputMode::kUngroup:
          request.output = ExecRequest::kInherit;
          break;
      }
      if (!options_.results.empty() || settings_.discard_output)
        request.output = ExecRequest::kCapture;
      request.spool_over = kSpoolOver;
      request.spool_dir = spool_dir_;
      if (pipe_) pipe_->attach(job.input.seq, request);
      last_start_ = Clock::now();
      ++total_started_;
      const std::uint64_t seq = job.input.seq;
      job.future = pool_->submit(exec_task, request);
      Future<ExecResult> future = job.future;
      running_.emplace(seq, std::move(job));
      future.on_ready([this, seq] {
        std::lock_guard lock(mutex_);
        finished_.push_back(seq);
        wake_.notify_one();
      });
    }
  }

  // --timeout SECS, or N% of the median run time once three jobs have finished.
  double timeout_for_next_job() const {
    if (options_.timeout.value <= 0) return 0;
    if (!options_.timeout.percent) return options_.timeout.value;
    if (runtimes_.size() < 3) return 0;
    std::vector<double> sorted = runtimes_;
    std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
    return sorted[sorted.size() / 2] * options_.timeout.value / 100;
  }

  // ---- finishing jobs --------------------------------------------------------------------

  void finish(std::uint64_t seq) {
    auto it = running_.find(seq);
    if (it == running_.end()) return;
    RunningJob job = std::move(it->second);
    running_.erase(it);
    free_slots_.insert(job.slot);
    if (pipe_) pipe_->job_ended(seq);

    ExecResult result;
    Output output;
    bool lost = false;
    std::string lost_reason;
    try {
      result = job.future.get();
      output = take_output(result);
    } catch (const std::exception& e) {
      if (stopping_) return;  // we stopped it
      lost = true;
      lost_reason = std::string("was lost: ") + e.what();
      report("job " + std::to_string(seq) + " (" + job.command + ") " + lost_reason);
    }
    if (stopping_) return;
    if (result.output_closed) {
      stdout_gone();  // the worker's --line-buffer output met a stdout whose reader is gone
      return;
    }
    bool failed = lost || result.timed_out || result.exit_code != 0 || result.signal != 0;
    if (failed && job.tries < options_.retries) {
      retry_.push_back(std::move(job));
      return;
    }
    if (result.timed_out)
      report("warning: this job was killed because it timed out: " + job.command);
    if (!failed) runtimes_.push_back(result.duration);

    // GNU parallel's Exitval: -1 for a job it killed on timeout (or lost here).
    const int exitval = (lost || result.timed_out) ? -1 : result.exit_code;
    try {
      job_log_.write(seq, result, exitval, job.command, pipe_ ? pipe_->bytes_sent(seq) : 0);
    } catch (const StdoutClosed&) {
      stdout_gone();  // --joblog -
    }
    if (pipe_) pipe_->release(seq);
    if (settings_.discard_output) {
      if (failed)
        failures_.push_back(
            {job.command, failure_reason(result, lost_reason), output.err.head(1 << 20)});
    } else if (!options_.results.empty()) {
      // GNU parallel 20221122 writes the output under --results DIR instead of printing it.
      // Output that cannot be saved is lost: that job failed, whatever its exit code.
      if (!write_results(job, output)) failed = true;
    } else {
      deliver_output(job, std::move(output));
    }
    count(job, failed, exitval, result.signal);
  }

  struct Output {
    JobStream out, err;
    std::string prefix;  // --tag: before every line of both
    std::size_t size() const { return out.size() + err.size(); }
  };

  // The job's output, from the result or from the files a worker spooled it to (opened and
  // unlinked here). Throws std::system_error if a spooled file cannot be opened.
  static Output take_output(ExecResult& result) {
    Output o;
    o.out = result.out_file.empty() ? JobStream(std::move(result.out))
                                    : JobStream::spooled(result.out_file, result.out_size);
    o.err = result.err_file.empty() ? JobStream(std::move(result.err))
                                    : JobStream::spooled(result.err_file, result.err_size);
    return o;
  }

  void deliver_output(const RunningJob& job, Output out) {
    if (options_.output == OutputMode::kUngroup) return;
    if (options_.output == OutputMode::kLineBuffer && !options_.keep_order) return;
    out.prefix = job.tag.empty() ? "" : job.tag + "\t";
    if (!options_.keep_order) {
      write_output(out);
      return;
    }
    held_bytes_ += out.size();
    held_.emplace(job.order, std::move(out));
    flush_ordered_output(false);
  }

  void write_output(const Output& o) {
    if (stdout_gone_) return;
    try {
      o.out.write_to(STDOUT_FILENO, o.prefix);
    } catch (const StdoutClosed&) {
      stdout_gone();
      return;
    }
    o.err.write_to(STDERR_FILENO, o.prefix);
  }

  // Stdout's reader went away: nothing more can be delivered. Stop as on a signal (every job
  // stopped, the temporary files removed) and exit 141, SIGPIPE's status, as GNU parallel.
  void stdout_gone() {
    stdout_gone_ = true;
    std::lock_guard lock(mutex_);
    if (stop_signal_ == 0) stop_signal_ = SIGPIPE;
  }

  // -k: prints held output in job order, up to the first job still running. At the end of a
  // run stopped early, `everything` prints what did finish, in order, past the gaps.
  void flush_ordered_output(bool everything) {
    while (!held_.empty() && (everything || held_.begin()->first == next_to_print_)) {
      auto node = held_.extract(held_.begin());
      held_bytes_ -= node.mapped().size();
      write_output(node.mapped());
      next_to_print_ = node.key() + 1;
    }
    // Order numbers are given to started jobs only (not to jobs --resume skips), so there
    // is no gap to step over except where a stopped run killed a job.
  }

  // Writes seq, stdout and stderr under --results; false (and one message) if any of them
  // could not be written.
  bool write_results(const RunningJob& job, const Output& output) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(options_.results) / templ_.results_subdir(job.input);
    std::error_code ec;
    fs::create_directories(dir, ec);
    auto put = [&](const char* name, const JobStream& data) {
      const std::string path = (dir / name).string();
      io::Fd f(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
      if (f && data.copy_to(f.get())) return true;
      report("cannot save the output of job " + std::to_string(job.input.seq) + " (" + job.command +
             ") in " + path + ": " + std::strerror(errno));
      return false;
    };
    return put("seq", JobStream(std::to_string(job.input.seq))) && put("stdout", output.out) &&
           put("stderr", output.err);
  }

  // Counts the job and applies --halt (GNU parallel's should_we_halt).
  void count(const RunningJob& job, bool failed, int exitval, int signal) {
    ++total_completed_;
    std::optional<std::uint64_t> limit;
    const HaltPolicy& halt = options_.halt;
    const bool halting_on = halt.when != HaltPolicy::When::kNever;
    if (failed) {
      ++total_failed_;
      if (halting_on && halt.condition == HaltPolicy::Condition::kFail) {
        report("This job failed: " + job.command);
        limit = total_failed_;
      }
    } else if (halting_on && halt.condition == HaltPolicy::Condition::kSuccess) {
      report("This job succeeded: " + job.command);
      limit = total_completed_ - total_failed_;
    }
    if (halting_on && halt.condition == HaltPolicy::Condition::kDone) {
      report("This job finished: " + job.command);
      limit = total_completed_;
    }
    if (!limit || halting_) return;
    const double needed =
        halt.percent ? static_cast<double>(total_jobs_) * halt.threshold / 100 : halt.threshold;
    if (static_cast<double>(*limit) < needed) return;
    if (halt.condition == HaltPolicy::Condition::kSuccess) {
      halt_status_ = 0;
    } else if (halt.percent) {
      halt_status_ = static_cast<int>(
          std::ceil(static_cast<double>(total_failed_) /
                    static_cast<double>(std::max<std::uint64_t>(total_jobs_, 1)) * 100));
    } else if (halt.threshold == 1) {
      // Bash's 128+N for a signal, as GNU parallel emulates it.
      halt_status_ = exitval != 0 ? exitval : (signal != 0 ? signal + 128 : 0);
    } else {
      halt_status_ = static_cast<int>(std::min<std::uint64_t>(total_failed_, 101));
    }
    halting_ = true;
    if (halt.when == HaltPolicy::When::kNow) {
      stop_running_jobs();
    } else if (!running_.empty()) {
      report("Starting no more jobs. Waiting for " + std::to_string(running_.size()) +
             " jobs to finish.");
    }
  }

  int exit_status() const {
    if (input_failed_) return kExitForkpoolError;
    if (halt_status_) return *halt_status_ & 0xff;
    if (options_.halt.when != HaltPolicy::When::kNever && options_.halt.percent) {
      return static_cast<int>(
          std::ceil(static_cast<double>(total_failed_) /
                    static_cast<double>(std::max<std::uint64_t>(total_started_, 1)) * 100));
    }
    return static_cast<int>(std::min<std::uint64_t>(total_failed_, 101));
  }

  // ---- stopping --------------------------------------------------------------------------

  bool stop_requested() {
    std::lock_guard lock(mutex_);
    return stop_signal_ != 0;
  }

  // Ends every running job now: each worker, told SIGTERM, terminates its job's process
  // group (TERM, then KILL) and dies; what it was running settles with WorkerDied. A task
  // that was still in a dying worker's pipe may start on a replacement, so the round repeats
  // until every job has settled; the deadline only guards against a hang.
  void stop_running_jobs() {
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

  // ---- progress --------------------------------------------------------------------------

  void show_progress(bool final) {
    if (!options_.bar && !options_.eta && !options_.progress) return;
    const auto now = Clock::now();
    if (!final && last_progress_ && now - *last_progress_ < 200ms) return;
    last_progress_ = now;
    const double elapsed = std::chrono::duration<double>(now - started_at_).count();
    std::string line = "\r";
    if (options_.bar && total_jobs_ > 0) {
      const double done = static_cast<double>(total_completed_) / static_cast<double>(total_jobs_);
      const int width = 30;
      const int filled = static_cast<int>(done * width);
      line += "[" + std::string(filled, '#') + std::string(width - filled, ' ') + "] ";
      line += std::to_string(static_cast<int>(done * 100)) + "% ";
    }
    line += std::to_string(total_completed_) +
            (total_jobs_ ? "/" + std::to_string(total_jobs_) : "") + " done, " +
            std::to_string(running_.size()) + " running, " + std::to_string(total_failed_) +
            " failed";
    if (options_.eta && total_jobs_ > 0 && total_completed_ > 0) {
      const double per_job = elapsed / static_cast<double>(total_completed_);
      const double left =
          per_job * static_cast<double>(total_jobs_ - std::min(total_jobs_, total_completed_));
      char eta[48];
      std::snprintf(eta, sizeof eta, ", ETA %.0fs", left);
      line += eta;
    }
    line += final ? "\n" : "\033[K";
    write_stderr(line);
  }

  void report(const std::string& message) const {
    write_stderr(settings_.program + ": " + message + "\n");
  }

  static std::string failure_reason(const ExecResult& result, const std::string& lost_reason) {
    if (!lost_reason.empty()) return lost_reason;
    if (result.timed_out) return "timed out";
    if (result.signal != 0) return "was killed by signal " + std::to_string(result.signal);
    return "exited with code " + std::to_string(result.exit_code);
  }

  RunOptions options_;
  BatchSettings settings_;
  unsigned slots_;
  CommandTemplate templ_;
  JobSource source_;
  std::string shell_;
  JobLog job_log_;
  std::unordered_map<std::uint64_t, bool> resume_;
  std::unique_ptr<PipeJobs> pipe_;  // --pipe / --pipepart

  std::deque<JobInput> preloaded_;
  bool all_read_ = false;
  std::optional<JobInput> peeked_;
  std::uint64_t total_jobs_ = 0;

  Pool* pool_ = nullptr;
  std::set<unsigned> free_slots_;
  std::map<std::uint64_t, RunningJob> running_;  // by seq
  std::deque<RunningJob> retry_;
  std::uint64_t next_order_ = 0;
  std::uint64_t next_to_print_ = 0;
  std::map<std::uint64_t, Output> held_;
  std::string spool_dir_;  // while run() runs
  bool stdout_gone_ = false;
  std::size_t held_bytes_ = 0;
  const std::size_t held_output_limit_ = held_output_limit();
  std::optional<Clock::time_point> last_start_;
  std::vector<double> runtimes_;
  std::vector<JobFailure> failures_;  // with BatchSettings::discard_output

  std::uint64_t total_started_ = 0, total_completed_ = 0, total_failed_ = 0;
  bool halting_ = false;
  bool stopping_ = false;
  bool input_failed_ = false;
  std::optional<int> halt_status_;

  // The ETA counts from here, not from the first progress line (after the first job).
  const Clock::time_point started_at_ = Clock::now();
  std::optional<Clock::time_point> last_progress_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::uint64_t> finished_;  // guarded by mutex_
  int stop_signal_ = 0;                  // guarded by mutex_
};

}  // namespace

BatchOutcome run_batch(RunOptions options, unsigned slots, const BatchSettings& settings) {
  options.job_slots = slots;
  Runner runner(std::move(options), slots, settings);
  BatchOutcome outcome;
  outcome.exit_status = runner.run();
  outcome.completed = runner.completed();
  outcome.failures = runner.take_failures();
  return outcome;
}

int run_command(std::span<const std::string> args) {
  try {
    RunOptions options = parse_run_options(args);
    if (options.help) {
      std::fputs(kRunUsage, stdout);
      return 0;
    }
    const unsigned slots = resolve_jobs(options.jobs, available_cpus());
    options.job_slots = slots;
    const bool dry_run = options.dry_run;
    Runner runner(std::move(options), slots);
    return dry_run ? runner.dry_run() : runner.run();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "forkpool run: %s\n", e.what());
    return kExitForkpoolError;
  } catch (const StdoutClosed&) {
    return 128 + SIGPIPE;  // --dry-run's reader went away
  } catch (const std::exception& e) {
    std::fprintf(stderr, "forkpool run: %s\n", e.what());
    return kExitForkpoolError;
  }
}

}  // namespace forkpool::cli
