// The runner's handling of a finished job: retry, log, deliver its output, count it against
// --halt.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "cli/job_output.h"
#include "cli/results_dir.h"
#include "cli/results_files.h"
#include "cli/results_table.h"
#include "cli/runner.h"
#include "forkpool/worker.h"

namespace forkpool::cli {
namespace {

constexpr int kExitForkpoolError = 255;

// The job's output, from the result or from the files a worker spooled it to (opened and
// unlinked here). Throws std::system_error if a spooled file cannot be opened.
// With `keep_out_file` (--files), a spooled stdout is left where it is, for keep_output_file.
FinishedOutput take_output(ExecResult& result, bool keep_out_file) {
  FinishedOutput o;
  if (result.out_file.empty()) {
    o.out = JobStream(std::move(result.out));
  } else if (!keep_out_file) {
    o.out = JobStream::spooled(std::exchange(result.out_file, {}), result.out_size);
  }
  o.err = result.err_file.empty() ? JobStream(std::move(result.err))
                                  : JobStream::spooled(result.err_file, result.err_size);
  return o;
}

std::string failure_reason(const ExecResult& result, const std::string& lost_reason) {
  if (!lost_reason.empty()) return lost_reason;
  if (result.timed_out) return "timed out";
  if (result.stopped) return "was stopped to make room (--memfree, --load or --limit)";
  if (result.signal != 0) return "was killed by signal " + std::to_string(result.signal);
  return "exited with code " + std::to_string(result.exit_code);
}

}  // namespace

void Runner::finish(std::uint64_t seq) {
  auto it = running_.find(seq);
  if (it == running_.end()) return;
  RunningJob job = std::move(it->second);
  running_.erase(it);
  release_slot(job.slot);
  if (PipeJobs* pipe = feed_.pipe()) pipe->job_ended(seq);

  ExecResult result;
  FinishedOutput output;
  std::string lost_reason;
  try {
    result = job.future.get();
    output = take_output(result, options_.files);
    if (movers_) {
      for (const std::string& problem : movers_->deliver(job.input, job.slot, result))
        report(problem);
    }
  } catch (const std::exception& e) {
    if (stopping_) return;  // we stopped it
    lost_reason = std::string("was lost: ") + e.what();
    report("job " + std::to_string(seq) + " (" + job.command + ") " + lost_reason);
  }
  if (stopping_) return;
  if (result.output_closed) {
    stdout_gone();  // the worker's --line-buffer output met a stdout whose reader is gone
    return;
  }
  // The job gate stopped it: GNU parallel says nothing of it, and prints its output.
  if (result.stopped) task_logger().debug("job {} ({}) {}", seq, job.command, job.stopped_because);
  const bool lost = !lost_reason.empty();
  bool failed =
      lost || result.stopped || result.timed_out || result.exit_code != 0 || result.signal != 0;
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
  // GNU parallel's Exitval: -1 for a job it killed (on timeout, or to make room), or lost here.
  const int exitval = (lost || result.timed_out || result.stopped) ? -1 : result.exit_code;
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
  if (settings_.discard_output) {
    if (failed)
      failures_.push_back(
          {job.command, failure_reason(result, lost_reason), output.err.head(1 << 20)});
    log();
  } else if (results_table_.active()) {
    deliver_to_table(job, result, std::move(output), {exitval, sent}, log);
  } else if (!options_.results.empty() || options_.files) {
    // GNU parallel 20221122 saves the output instead of printing it (--files: prints where).
    // Output that cannot be saved is lost: that job failed, whatever its exit code.
    if (!save_output(job, result, std::move(output), log)) failed = true;
  } else if (options_.output == OutputMode::kGroup || parent_prints_lines()) {
    // -u and --line-buffer (without -k or a colour) output went out as the job ran.
    output.prefix = options_.tagstring ? job.tag + "\t" : "";
    // GNU parallel's color(): white on red for a failed job with --color-failed, else the
    // job's own colour with --color. --line-buffer colours only with --color (or --ctag), and
    // a job keeps the colour of its first coloured line (OutputOrder::deliver).
    const bool line_buffered = options_.output == OutputMode::kLineBuffer;
    if (options_.color_failed && exitval != 0 && (options_.color || !line_buffered)) {
      output.color = failed_color();
    } else if (options_.color) {
      output.color = color_of_job(job.input.seq);
    }
    output.line_buffered = line_buffered;
    output.after = log;
    output_.deliver(job.order, std::move(output));
  } else {
    log();
  }
  count(job, failed, exitval, result.signal);
}

// --results NAME.csv/.tsv/.json: the job's row, written when its output would be printed (with
// -k, in job order), after its --joblog line, as GNU parallel writes them.
void Runner::deliver_to_table(const RunningJob& job, const ExecResult& result,
                              FinishedOutput output, RowNumbers numbers,
                              const std::function<void()>& log) {
  ResultsRow row{.seq = job.input.seq,
                 .start_time = result.start_time,
                 .runtime = result.duration,
                 .sent = numbers.sent,
                 .received = result.out_size,
                 .exitval = numbers.exitval,
                 .signal = result.signal,
                 .command = job.command,
                 .values = {}};
  for (const auto& record : job.input.args)
    row.values.insert(row.values.end(), record.begin(), record.end());
  std::string shown;  // --files: the file's name, printed and in the Stdout column
  if (options_.files) {
    try {
      shown = keep_output_file(output.out, result.out_file);
    } catch (const std::system_error& e) {
      report("cannot keep the output of job " + std::to_string(job.input.seq) + ": " + e.what());
    }
    if (options_.tagstring) shown = job.tag + "\t" + shown;
    output.out = JobStream(shown);
    output.err = JobStream();
  }
  output.save = [this, row = std::move(row), log, files = options_.files](const FinishedOutput& o) {
    // The names go to stdout, unless the table does (GNU parallel then drops them).
    if (files && !results_table_.on_stdout()) write_stdout(o.out.head(o.out.size()) + "\n");
    log();
    results_table_.write(row, o.out, o.err);
  };
  output_.deliver(job.order, std::move(output));
}

// --results DIR or a templated name (files written now, as GNU parallel writes them before the
// job's turn to print), and --files (the name printed in the job's turn). False if the output
// could not be saved.
bool Runner::save_output(const RunningJob& job, const ExecResult& result, FinishedOutput output,
                         const std::function<void()>& log) {
  std::string shown;
  bool saved = true;
  if (!options_.results.empty()) {
    const ResultsFiles files =
        results_files(options_.results, templ_.results_name(job.input, job.slot),
                      templ_.results_subdir(job.input));
    saved = write_results(job, files, output);
    shown = files.out;
  } else {
    try {
      shown = keep_output_file(output.out, result.out_file);
    } catch (const std::system_error& e) {
      report("cannot keep the output of job " + std::to_string(job.input.seq) + " (" + job.command +
             "): " + e.what());
      saved = false;
    }
  }
  if (!options_.files || !saved) {
    log();
    return saved;
  }
  FinishedOutput name;
  name.out = JobStream(shown + "\n");
  name.prefix = options_.tagstring ? job.tag + "\t" : "";
  name.after = log;
  output_.deliver(job.order, std::move(name));
  return true;
}

// Writes seq, stdout and stderr under --results; false (and one message) if any of them could
// not be written. A name that expands to nothing is GNU parallel's fatal error: no new job
// starts and the run exits 255.
bool Runner::write_results(const RunningJob& job, const ResultsFiles& files,
                           const FinishedOutput& output) {
  if (files.out.empty()) {
    report("--results " + options_.results + ": the file name for job " +
           std::to_string(job.input.seq) + " (" + job.command + ") is empty");
    input_failed_ = true;
    halting_ = true;
    return false;
  }
  std::string failed_path;
  if (save_results(files, job.input.seq, output.out, output.err, failed_path)) return true;
  report("cannot save the output of job " + std::to_string(job.input.seq) + " (" + job.command +
         ") in " + failed_path + ": " + std::strerror(errno));
  return false;
}

// -k --line-buffer, or --line-buffer with a colour: the job's output goes to files in the
// spool directory from its first byte; its lines are printed from there as they come (with
// -k, while it is the oldest job; the spool watch wakes the main loop when they grow).
void Runner::follow_output(const RunningJob& job, ExecRequest& request) {
  request.spool_to = spool_dir_ + "/follow-" + std::to_string(job.order);
  output_.follow(job.order, request.spool_to + ".out", request.spool_to + ".err",
                 options_.tagstring ? job.tag + "\t" : "",
                 options_.color ? color_of_job(job.input.seq) : LineColor{});
}

// --dry-run with --results or --files, as GNU parallel 20221122 does it: the command line is
// the job's output. A table gets its row (Stdout: the command line), a results directory or
// template the seq and an empty stderr file, and --files prints the name a file would have
// had (none is left). False when neither option is given: the command is printed.
bool Runner::dry_run_saves(const JobInput& job, const std::string& prefix,
                           const std::string& command) {
  if (options_.results.empty() && !options_.files) return false;
  // --files: a fresh name, of a file that is not kept.
  auto unkept_name = [] {
    std::string name = keep_output_file(JobStream(), "");
    ::unlink(name.c_str());
    return name;
  };
  std::string shown;
  if (results_table_.active()) {
    ResultsRow row{.seq = job.seq,
                   .start_time = std::chrono::duration<double>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count(),
                   .received = options_.files ? 0 : command.size() + 1,
                   .command = command};
    for (const auto& record : job.args)
      row.values.insert(row.values.end(), record.begin(), record.end());
    if (options_.files) shown = unkept_name();
    const JobStream out(options_.files ? prefix + shown : prefix + command + "\n");
    if (options_.files && !results_table_.on_stdout()) write_stdout(prefix + shown + "\n");
    results_table_.write(row, out, JobStream());
    return true;
  }
  if (!options_.results.empty()) {
    const ResultsFiles files =
        results_files(options_.results, templ_.results_name(job, 1), templ_.results_subdir(job));
    std::string failed_path;
    if (!save_dry_run_results(files, job.seq, failed_path))
      report("cannot write " + failed_path + ": " + std::strerror(errno));
    shown = files.out;
  } else {
    shown = unkept_name();
  }
  if (options_.files) write_stdout(prefix + shown + "\n");
  return true;
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
