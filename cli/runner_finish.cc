// The runner's handling of a finished job: retry, log, deliver its output, count it against
// --halt.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "cli/job_output.h"
#include "cli/results_dir.h"
#include "cli/runner.h"

namespace forkpool::cli {
namespace {

constexpr int kExitForkpoolError = 255;

// The job's output, from the result or from the files a worker spooled it to (opened and
// unlinked here). Throws std::system_error if a spooled file cannot be opened.
FinishedOutput take_output(ExecResult& result) {
  FinishedOutput o;
  o.out = result.out_file.empty() ? JobStream(std::move(result.out))
                                  : JobStream::spooled(result.out_file, result.out_size);
  o.err = result.err_file.empty() ? JobStream(std::move(result.err))
                                  : JobStream::spooled(result.err_file, result.err_size);
  return o;
}

std::string failure_reason(const ExecResult& result, const std::string& lost_reason) {
  if (!lost_reason.empty()) return lost_reason;
  if (result.timed_out) return "timed out";
  if (result.signal != 0) return "was killed by signal " + std::to_string(result.signal);
  return "exited with code " + std::to_string(result.exit_code);
}

}  // namespace

void Runner::finish(std::uint64_t seq) {
  auto it = running_.find(seq);
  if (it == running_.end()) return;
  RunningJob job = std::move(it->second);
  running_.erase(it);
  free_slots_.insert(job.slot);
  if (PipeJobs* pipe = feed_.pipe()) pipe->job_ended(seq);

  ExecResult result;
  FinishedOutput output;
  std::string lost_reason;
  try {
    result = job.future.get();
    output = take_output(result);
  } catch (const std::exception& e) {
    if (stopping_) return;  // we stopped it
    lost_reason =
        job.stopped_because.empty() ? std::string("was lost: ") + e.what() : job.stopped_because;
    report("job " + std::to_string(seq) + " (" + job.command + ") " + lost_reason);
  }
  if (stopping_) return;
  if (result.output_closed) {
    stdout_gone();  // the worker's --line-buffer output met a stdout whose reader is gone
    return;
  }
  const bool lost = !lost_reason.empty();
  bool failed = lost || result.timed_out || result.exit_code != 0 || result.signal != 0;
  if (failed && job.tries < options_.retries) {
    retry_.push_back(std::move(job));
    return;
  }
  record(job, result, std::move(output), failed, lost_reason);
}

// A job that ran for the last time: logged, its output delivered (or saved, or kept as a
// failure), counted.
void Runner::record(RunningJob& job, ExecResult& result, FinishedOutput output, bool failed,
                    const std::string& lost_reason) {
  const bool lost = !lost_reason.empty();
  if (result.timed_out) report("warning: this job was killed because it timed out: " + job.command);
  if (!failed) runtimes_.push_back(result.duration);
  // GNU parallel's Exitval: -1 for a job it killed on timeout (or lost here).
  const int exitval = (lost || result.timed_out) ? -1 : result.exit_code;
  // --pipe: the bytes the job was given, GNU parallel's Send; then its block can go.
  std::uint64_t sent = 0;
  if (PipeJobs* pipe = feed_.pipe()) {
    sent = pipe->bytes_sent(job.input.seq);
    pipe->release(job.input.seq);
  }
  // As GNU parallel: a job's log line follows its output (with -k, in job order).
  auto log = [this, seq = job.input.seq, result, exitval, command = job.command, sent] {
    try {
      job_log_.write(seq, result, exitval, command, sent);
    } catch (const StdoutClosed&) {
      stdout_gone();  // --joblog -
    }
  };
  bool delivered = false;
  if (settings_.discard_output) {
    if (failed)
      failures_.push_back(
          {job.command, failure_reason(result, lost_reason), output.err.head(1 << 20)});
  } else if (!options_.results.empty()) {
    // GNU parallel 20221122 writes the output under --results DIR instead of printing it.
    // Output that cannot be saved is lost: that job failed, whatever its exit code.
    if (!write_results(job, output)) failed = true;
  } else if (options_.output == OutputMode::kGroup ||
             (options_.output == OutputMode::kLineBuffer && options_.keep_order)) {
    // -u and --line-buffer (without -k) output went out as the job ran.
    output.prefix = options_.tagstring ? job.tag + "\t" : "";
    output.after = log;
    output_.deliver(job.order, std::move(output));
    delivered = true;
  }
  if (!delivered) log();
  count(job, failed, exitval, result.signal);
}

// Writes seq, stdout and stderr under --results; false (and one message) if any of them could
// not be written.
bool Runner::write_results(const RunningJob& job, const FinishedOutput& output) {
  const std::string dir =
      (std::filesystem::path(options_.results) / templ_.results_subdir(job.input)).string();
  std::string failed_path;
  if (save_results(dir, job.input.seq, output.out, output.err, failed_path)) return true;
  report("cannot save the output of job " + std::to_string(job.input.seq) + " (" + job.command +
         ") in " + failed_path + ": " + std::strerror(errno));
  return false;
}

// Counts the job and applies --halt (GNU parallel's should_we_halt).
void Runner::count(const RunningJob& job, bool failed, int exitval, int signal) {
  const JobTally::Verdict verdict = tally_.count(failed, exitval, signal);
  if (verdict.announcement != nullptr) report(verdict.announcement + job.command);
  if (!verdict.halt_status || halting_) return;
  halting_ = true;
  if (PipeJobs* pipe = feed_.pipe()) pipe->interrupt();  // no new job waits for a block
  if (options_.halt.when == HaltPolicy::When::kNow) {
    stop_running_jobs();
  } else if (!running_.empty()) {
    report("Starting no more jobs. Waiting for " + std::to_string(running_.size()) +
           " jobs to finish.");
  }
}

int Runner::exit_status() const {
  if (input_failed_) return kExitForkpoolError;
  return tally_.exit_status();
}

}  // namespace forkpool::cli
