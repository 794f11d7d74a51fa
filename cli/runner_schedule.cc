// The runner's scheduling: which job starts next, in which slot, and how it is asked of a
// worker.
#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "cli/job_internal.h"
#include "cli/job_output.h"
#include "cli/resource_probe.h"
#include "cli/runner.h"
#include "cli/shell_words.h"
#include "cli/spool_dir.h"
#include "forkpool/worker.h"

namespace forkpool::cli {

// Whether another job is there to start. Input that turns bad half-way (a read error, an
// argument too long for a command line) is reported once; the jobs already running finish and
// are reported, and nothing new starts.
bool Runner::input_left() {
  if (input_failed_) return false;
  try {
    return feed_.has_next();
  } catch (const UsageError& e) {
    report(e.what());
    input_failed_ = true;
    halting_ = true;
    return false;
  }
}

bool Runner::more_to_start() {
  if (halting_) return false;
  return !retry_.empty() || input_left();
}

std::optional<Runner::Clock::time_point> Runner::next_start_time() const {
  if (options_.delay <= 0 || !last_start_ || halting_) return std::nullopt;
  if (free_slots_.empty()) return std::nullopt;
  return *last_start_ +
         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.delay));
}

// A retry first (always allowed: it may be the job the held output waits for), else the next
// input, unless held output (-k) is over its limit.
std::optional<Runner::RunningJob> Runner::next_job() {
  if (!retry_.empty()) {
    RunningJob job = std::move(retry_.front());
    retry_.pop_front();
    return job;
  }
  // Only output that is actually held back can hold back a job: with nothing held (a limit
  // of 0, or every earlier job printed) the next job always starts.
  if (output_.holds_back_jobs()) return std::nullopt;
  if (!input_left()) return std::nullopt;
  RunningJob job;
  job.input = std::move(*feed_.next());
  job.order = next_order_++;
  return job;
}

void Runner::start_jobs() {
  if (!resources_allow_start()) return;
  // -j FILE may have shrunk the count below the jobs running: a free slot is not enough.
  while (!free_slots_.empty() && running_.size() < slots_ && !halting_ && !stop_requested()) {
    if (auto at = next_start_time(); at && Clock::now() < *at) return;
    std::optional<RunningJob> next = next_job();
    if (!next) return;
    RunningJob& job = *next;
    job.stopped_because.clear();  // a retry of a job that was stopped
    job.slot = *free_slots_.begin();
    free_slots_.erase(free_slots_.begin());
    bool skipped = false;
    job.command = templ_.command(job.input, job.slot, &skipped);
    job.tag = templ_.tag(job.input, job.slot);
    if (options_.verbose) write_stderr(job.command + "\n");  // -t, as the job starts
    ++job.tries;
    if (skipped) {
      skip_unstarted(std::move(job));
      continue;
    }
    ExecRequest request = make_request(job);
    if (movers_) {
      try {
        movers_->prepare(job.input, job.slot, request);
      } catch (const MoveError& e) {
        fail_unstarted(std::move(job), e.what());
        continue;
      }
    }
    if (spool_watch_) follow_output(job, request);  // -k --line-buffer
    if (PipeJobs* pipe = feed_.pipe()) pipe->attach(job.input.seq, request);
    last_start_ = Clock::now();
    tally_.count_started();
    const std::uint64_t seq = job.input.seq;
    job.future = pool_->submit(exec_task, request);
    Future<ExecResult> future = job.future;
    if (PipeJobs* pipe = feed_.pipe()) pipe->submitted(seq, *pool_, future);
    running_.emplace(seq, std::move(job));
    future.on_ready([this, seq] {
      std::lock_guard lock(mutex_);
      finished_.push_back(seq);
      wake_.notify_one();
    });
    if (!free_slots_.empty() && !resources_allow_start()) return;
  }
}

// The job gate (--memfree, --load, --limit), asked before each start, and once on each turn
// of the loop while jobs run: it may also want the youngest job stopped to make room.
bool Runner::resources_allow_start() {
  if (!gate_.active() || halting_) return true;
  // Nothing to start and nothing to stop: the user's --limit command need not run.
  if (running_.empty() && (free_slots_.empty() || !more_to_start())) return true;
  const JobGate::Answer answer = gate_.check();
  if (gate_.began_waiting()) task_logger().debug("not starting a job yet: {}", gate_.reason());
  if (answer == JobGate::Answer::kStopYoungest) stop_youngest_job();
  return answer == JobGate::Answer::kStart;
}

// GNU parallel's rule: the job started last goes (with its --retries, it runs again later).
// Its worker, asked with a signal that names the job's pid, stops it with --termseq and sends
// back its result as usual: the job's output is printed and it counts as failed, Exitval -1, as
// GNU parallel's killed job. One at a time: none is stopped while another still goes, so that
// what it frees is counted before the next is chosen.
void Runner::stop_youngest_job() {
  for (const auto& [seq, job] : running_)
    if (!job.stopped_because.empty()) return;
  for (auto it = running_.rbegin(); it != running_.rend(); ++it) {
    const std::optional<JobProcess> process =
        worker_running_job(pool_->worker_pids(), "PARALLEL_SEQ=" + std::to_string(it->first));
    if (!process) continue;  // not started yet in its worker, or already ending
    it->second.stopped_because = "was stopped: " + gate_.reason();
    sigval job{};
    job.sival_int = process->job;
    // A request that arrives after the job ended names no running job: the worker ignores it.
    ::sigqueue(process->worker, kExecStopJobSignal, job);
    return;
  }
}

// -j FILE: the slot count the file holds now. More slots start more jobs at once (the pool
// starts workers for them); fewer stop none, but no job starts until fewer than that run.
void Runner::follow_jobs_file() {
  if (!jobs_file_) return;
  std::string problem;
  const std::optional<unsigned> slots = jobs_file_->changed(problem);
  if (!problem.empty()) report(problem);
  if (!slots) return;
  std::set<unsigned> busy;
  for (const auto& [seq, job] : running_) busy.insert(job.slot);
  for (unsigned s = slots_ + 1; s <= *slots; ++s)
    if (!busy.contains(s)) free_slots_.insert(s);
  free_slots_.erase(free_slots_.upper_bound(*slots), free_slots_.end());
  slots_ = *slots;
}

// A job's slot, free again unless -j FILE has taken it away meanwhile.
void Runner::release_slot(unsigned slot) {
  if (slot <= slots_) free_slots_.insert(slot);
}

// A job whose files cannot be sent: it fails without running, and the others go on.
void Runner::fail_unstarted(RunningJob job, const std::string& why) {
  report(why + "; job " + std::to_string(job.input.seq) + " (" + job.command + ") not run");
  release_slot(job.slot);
  tally_.count_started();
  ExecResult result;
  record(job, result, {}, /*failed=*/true, why);
}

// A job whose {= =} called skip(): GNU parallel runs `true` in its place and records it with
// Exitval -2, a failed job.
void Runner::skip_unstarted(RunningJob job) {
  free_slots_.insert(job.slot);
  tally_.count_started();
  ExecResult result;
  result.exit_code = -2;
  result.start_time =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  record(job, result, {}, /*failed=*/true, "");
}

ExecRequest Runner::make_request(const RunningJob& job) const {
  ExecRequest request;
  // exec(2) ends the command at a NUL, as GNU parallel's does: -n 0's "\0noarg" inside a
  // {= =} value leaves only what comes before it for the shell.
  request.command = job.command.substr(0, job.command.find('\0'));
  request.shell = shell_;
  if (skip_shell_) {
    if (auto argv = direct_argv(request.command)) request.argv = std::move(*argv);
  }
  if (options_.shellquote > 0) {
    // --shellquote: the job prints its command, quoted once per --shellquote.
    std::string quoted = request.command;
    for (unsigned i = 0; i < options_.shellquote; ++i)
      quoted = internal::quote_for(quoted, options_.csh_quoting);
    request.command = "printf '%s\\n' " + internal::shell_quote(quoted);
    request.argv = {"printf", "%s\n", quoted};
  }
  request.env = {"PARALLEL_SEQ=" + std::to_string(job.input.seq),
                 "PARALLEL_JOBSLOT=" + std::to_string(job.slot),
                 "PARALLEL_PID=" + std::to_string(::getpid())};
  if (!options_.process_slot_var.empty())
    request.env.push_back(options_.process_slot_var + "=" + std::to_string(job.slot - 1));
  request.timeout = timeout_for_next_job();
  request.stop_sequence = options_.termseq;
  request.nice = options_.nice;
  switch (options_.output) {
    case OutputMode::kGroup:
      request.output = ExecRequest::kCapture;
      break;
    case OutputMode::kLineBuffer:
      // With -k, the output order is the job order: grouping gives the same bytes. A colour
      // ends each line after its text: the parent prints those lines.
      request.output = parent_prints_lines() ? ExecRequest::kCapture : ExecRequest::kLines;
      request.line_prefix = options_.tagstring ? job.tag + "\t" : "";
      break;
    case OutputMode::kUngroup:
      request.output = ExecRequest::kInherit;
      break;
  }
  if (!options_.results.empty() || options_.files || settings_.discard_output)
    request.output = ExecRequest::kCapture;
  request.spool_over = spool_over_;
  request.spool_dir = spool_dir_;
  return request;
}

// --timeout SECS, or N% of the median run time once three jobs have finished.
double Runner::timeout_for_next_job() const {
  if (options_.timeout.value <= 0) return 0;
  if (!options_.timeout.percent) return options_.timeout.value;
  if (runtimes_.size() < 3) return 0;
  std::vector<double> sorted = runtimes_;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  return sorted[sorted.size() / 2] * options_.timeout.value / 100;
}

}  // namespace forkpool::cli
