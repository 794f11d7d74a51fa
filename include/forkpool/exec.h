// The built-in `exec` task: a worker runs a command and reports how it ended, with its
// output. `forkpool run` is a Pool running this task.
//
//   forkpool::ExecRequest job{.command = "gzip -9 big.log"};
//   forkpool::ExecResult r = pool.submit(forkpool::exec_task, job).get();
//   if (r.exit_code != 0 || r.signal != 0) ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "forkpool/task.h"

namespace forkpool {

// A job for exec_task or run_exec(): a command and how to run it.
struct ExecRequest {
  // Where the job's stdout and stderr go.
  enum Output : int {
    kCapture = 0,  // into ExecResult::out and ExecResult::err
    kLines = 1,    // to the worker's own stdout/stderr, whole lines at a time, each line
                   // written with one write(2) and preceded by `line_prefix`
    kInherit = 2,  // the job writes to the worker's stdout/stderr itself
  };

  // Run as `shell -c command` ...
  std::string command;
  // ... unless `argv` is not empty: then argv[0] (searched in PATH) is run with these
  // arguments directly. If it cannot be started (not found, not executable, not a binary),
  // `command` runs through the shell instead, so errors read exactly as the shell's.
  std::vector<std::string> argv;
  // The shell that runs `command`.
  std::string shell = "/bin/sh";
  // NAME=value entries added to (or replacing in) the worker's environment.
  std::vector<std::string> env;
  // An Output: where the job's stdout and stderr go.
  int output = kCapture;
  // With kLines: written before each line (forkpool run's --tag).
  std::string line_prefix;
  // Seconds; 0 is none. When it passes, the job's process group is stopped with
  // `stop_sequence`. Anything above kMaxExecTimeout (or not a number) is no timeout at all.
  double timeout = 0;
  // How the job's process group is stopped, on the timeout or a stop signal (see
  // install_exec_stop_handlers): signal, milliseconds, signal, milliseconds... Each signal is
  // sent, then the job has that long to exit before the next; at most kMaxStopSteps signals.
  // Empty: GNU parallel's sequence, SIGTERM, 200, SIGTERM, 100, SIGTERM, 50, SIGKILL.
  std::vector<int> stop_sequence;
  // The job's niceness, set as the job starts (GNU parallel's --nice). 0: the worker's own.
  // A value below the worker's needs privilege (CAP_SYS_NICE); without it the job runs at
  // the worker's, as in GNU parallel. The kernel clamps the value to -20..19.
  int nice = 0;
  // kCapture: once a stream passes `spool_over` bytes (0: never), it goes to a file in
  // `spool_dir` (which must exist, on a file system the caller can read) instead of into the
  // result, so that output of any size costs neither process more than about `spool_over`
  // bytes of memory. See ExecResult::out_file.
  std::size_t spool_over = 0;
  std::string spool_dir;
  // When not empty: the job's stdin, opened for reading (a named pipe another process feeds,
  // as `forkpool run --pipe` does). It is opened without waiting for a writer; the job sees
  // end of file once no writer is left. Empty: the job's stdin is the worker's (/dev/null).
  std::string stdin_path;

  // Boost.Serialization's hook: the fields travel in this order.
  template <typename Archive>
  void serialize(Archive& ar, unsigned) {
    // Archive operators, not declarations: clang-format would write `ar& x&`.
    // clang-format off
    ar & command & argv & shell & env & output & line_prefix & timeout & spool_over & spool_dir
       & stdin_path;
    ar & stop_sequence & nice;
    // clang-format on
  }
};

// The most signals ExecRequest::stop_sequence may hold.
inline constexpr std::size_t kMaxStopSteps = 16;

// About 31 years: far below where a steady_clock time point overflows (about 292 years of
// nanoseconds from boot), far above any real job.
inline constexpr double kMaxExecTimeout = 1e9;

// How a job ended, with its output.
struct ExecResult {
  int exit_code = 0;  // the exit status, or 0 when a signal ended the job
  int signal = 0;     // the signal that ended the job, or 0
  // True if ExecRequest::timeout ended the job.
  bool timed_out = false;
  std::string out;  // kCapture only
  // The job's stderr (kCapture only).
  std::string err;
  // kCapture with ExecRequest::spool_over: when not empty, that stream is in this file instead
  // (`out` or `err` is then empty). The caller owns the file and removes it.
  std::string out_file;
  std::string err_file;
  std::uint64_t out_size = 0;  // kCapture: the stream's size, in memory or in its file
  std::uint64_t err_size = 0;
  // kLines: this process's stdout refused the output (its reader went away, or another write
  // error). The job's process group was then terminated as for a stop signal, and the rest of
  // its output dropped: nobody is left to read it.
  bool output_closed = false;
  double start_time = 0;  // seconds since the epoch, when the job was started
  double duration = 0;    // seconds, start to exit

  // Boost.Serialization's hook: the fields travel in this order.
  template <typename Archive>
  void serialize(Archive& ar, unsigned) {
    // Archive operators, not declarations: clang-format would write `ar& x&`.
    // clang-format off
    ar & exit_code & signal & timed_out & out & err & out_file & err_file & out_size & err_size
      & output_closed & start_time & duration;
    // clang-format on
  }
};

// Runs `request` in this process and waits for it. The job is the leader of a new process
// group. Throws std::system_error if the job cannot be started at all.
//
// Installs no signal handler. The first call starts this process's job guard
// (workers/job_guard.h): a detached helper process, and one descriptor that this process keeps
// open for the rest of its life. If this process dies while a job runs, however it dies
// (SIGKILL, the OOM killer), the guard SIGKILLs the job's process group, children included.
ExecResult run_exec(const ExecRequest& request);

FORKPOOL_TASK(exec_task, run_exec);

// The caller's choice, process-wide, for a process that exists to run jobs (a worker): from now
// on SIGTERM, SIGINT and SIGHUP -- and the death of the parent, delivered as SIGTERM -- arriving
// while run_exec runs a job first terminate the job's process group with GNU parallel's
// sequence (SIGTERM, then SIGKILL), then this process dies of that signal. Arriving between
// jobs, they kill this process at once, as without handlers. Installs handlers for those three
// signals for the rest of the process's life, and replaces any there were; calling it again
// does nothing. `forkpool run` installs them in each of its workers (through the
// exec_stop_handlers_task initializer). Throws std::system_error.
void install_exec_stop_handlers();

// install_exec_stop_handlers() as a task, for Options::initializer:
//   Pool pool({.initializer = forkpool::initializer(forkpool::exec_stop_handlers_task)});
inline int install_exec_stop_handlers_for_task() {
  install_exec_stop_handlers();
  return 0;
}
FORKPOOL_TASK(exec_stop_handlers_task, install_exec_stop_handlers_for_task);

}  // namespace forkpool
