// The built-in `exec` task: a worker runs a command and reports how it ended, with its
// output. `forkpool run` is a Pool running this task.
//
//   forkpool::ExecRequest job{.command = "gzip -9 big.log"};
//   forkpool::ExecResult r = pool.submit(forkpool::exec_task, job).get();
//   if (r.exit_code != 0 || r.signal != 0) ...
#pragma once

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
  // Seconds; 0 is none. When it passes, the job's process group gets SIGTERM, SIGTERM again
  // after 200 ms, again after 100 ms, then SIGKILL after 50 ms (GNU parallel's sequence).
  double timeout = 0;

  // Boost.Serialization's hook: the fields travel in this order.
  template <typename Archive>
  void serialize(Archive& ar, unsigned) {
    ar & command & argv & shell & env & output & line_prefix & timeout;
  }
};

// How a job ended, with its output.
struct ExecResult {
  int exit_code = 0;  // the exit status, or 0 when a signal ended the job
  int signal = 0;     // the signal that ended the job, or 0
  // True if ExecRequest::timeout ended the job.
  bool timed_out = false;
  std::string out;  // kCapture only
  // The job's stderr (kCapture only).
  std::string err;
  double start_time = 0;  // seconds since the epoch, when the job was started
  double duration = 0;    // seconds, start to exit

  // Boost.Serialization's hook: the fields travel in this order.
  template <typename Archive>
  void serialize(Archive& ar, unsigned) {
    ar & exit_code & signal & timed_out & out & err & start_time & duration;
  }
};

// Runs `request` in this process and waits for it. The job is the leader of a new process
// group, and it and its group are terminated (SIGTERM, then SIGKILL) if this process gets
// SIGTERM, SIGINT or SIGHUP, or its parent dies, while the job runs; this process then dies
// of that signal. Throws std::system_error if the job cannot be started at all.
ExecResult run_exec(ExecRequest request);

FORKPOOL_TASK(exec_task, run_exec);

}  // namespace forkpool
