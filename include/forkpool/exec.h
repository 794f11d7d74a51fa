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

namespace detail {

// For fields added at the end of a message: whether they are in this archive. Saving: when
// they hold anything (`used`), so a receiver of an earlier version, which refuses bytes left
// over, is sent none. Loading: when bytes are left in forkpool's own bounded archive (an
// archive that cannot tell is assumed to hold them).
template <typename Archive>
bool more_fields(Archive& ar, bool used) {
  if constexpr (Archive::is_saving::value) {
    return used;
  } else if constexpr (requires { ar.remaining(); }) {
    return ar.remaining() > 0;
  } else {
    return true;
  }
}

}  // namespace detail

// A file that travels with a job (ExecRequest::transfer, ExecResult::returned): its bytes and
// what rsync would keep of it.
struct MovedFile {
  std::string path;  // where it goes (or, returned, where it was read), as the request says
  std::string bytes;
  std::uint32_t mode = 0644;  // permission bits; the receiver's umask applies, as for rsync
  std::int64_t mtime_ns = 0;  // modification time, nanoseconds since the epoch

  template <typename Archive>
  void serialize(Archive& ar, unsigned) {
    ar& path& bytes& mode& mtime_ns;
  }
};

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
  // kCapture: when not empty, the job's stdout and stderr go to the files `spool_to`.out and
  // `spool_to`.err (created if missing, truncated) from their first byte, each chunk written
  // as it arrives, so that another process can read them while the job runs (forkpool run
  // -k --line-buffer). ExecResult::out_file and err_file then name them, even when empty.
  std::string spool_to;
  // When not empty: the job's stdin, opened for reading (a named pipe another process feeds,
  // as `forkpool run --pipe` does). It is opened without waiting for a writer; the job sees
  // end of file once no writer is left. Empty: the job's stdin is the worker's (/dev/null).
  std::string stdin_path;

  // --- Where the job runs, and the files that travel with it (forkpool run's --workdir,
  // --transfer, --return, --cleanup). On another host than the pool's the files move; on the
  // pool's own host (GNU parallel's ':') only the working directory applies, as there.

  // The job's working directory, created with its parents if missing. "~/..." is under the
  // worker's home ($HOME). Any other relative path is under the home on another host, and
  // under the worker's own working directory on the pool's host. Empty: the home on another
  // host (where ssh logs in), the worker's own working directory here.
  std::string workdir;
  // Removed with everything in it after the job (--workdir ...).
  bool remove_workdir = false;
  // On another host: written before the job starts, each at its `path` (relative to
  // `workdir`, or absolute), parent directories created.
  std::vector<MovedFile> transfer;
  // On another host: read after the job ends (relative to `workdir`, or absolute) and sent
  // back in ExecResult::returned.
  std::vector<std::string> returns;
  // On another host, after the returns: removes the transferred and returned files, then each
  // of their parent directories that is left empty (as GNU parallel's --cleanup).
  bool cleanup = false;
  // Which host is the pool's: "BOOT_ID PID", the pool's kernel boot id and its process id. A
  // worker on the same boot whose parent is that process is the pool's own (a ':' worker, or a
  // local one); any other is on another host. Empty: the worker is on the pool's host.
  std::string pool_host;

  // --- The job's input carried in the request itself (forkpool run --pipe with -S or
  // --launcher srun, where a named pipe of the pool's host cannot reach the job).

  // Without `stdin_name`: the job's stdin, through a pipe the worker writes these bytes into
  // while the job runs (`stdin_path` is then not used). The job sees end of file after them.
  std::string stdin_bytes;
  // When not empty: `stdin_bytes` go instead into a new file (or, with `stdin_fifo`, a named
  // pipe the worker feeds once the job opens it) in a private directory on the worker's host
  // ($TMPDIR, else /tmp), and every occurrence of `stdin_name` in `command` and `argv` is
  // replaced by that file's path (GNU parallel's --cat and --fifo). Removed after the job.
  std::string stdin_name;
  bool stdin_fifo = false;
  // More input follows `stdin_bytes` while the job runs (--round-robin on other hosts): the
  // pool streams it in TaskInput frames (forkpool/task_input.h), each sent once the worker
  // has written the one before into the job's pipe; the job sees end of file after the frame
  // that says it is the last. Without `stdin_name` only.
  bool stdin_streamed = false;

  // Whether the job's input travels in the request.
  bool carries_stdin() const {
    return !stdin_bytes.empty() || !stdin_name.empty() || stdin_streamed;
  }

  // Whether any of the fields above is set: only then do they travel.
  bool moves_files() const {
    return !workdir.empty() || remove_workdir || !transfer.empty() || !returns.empty() || cleanup ||
           !pool_host.empty();
  }

  // Boost.Serialization's hook: the fields travel in this order.
  template <typename Archive>
  void serialize(Archive& ar, unsigned) {
    // Archive operators, not declarations: clang-format would write `ar& x&`.
    // clang-format off
    ar & command & argv & shell & env & output & line_prefix & timeout & spool_over & spool_dir
       & stdin_path;
    // clang-format on
    // The fields added since: written only when one is used, and read only when present, so
    // a request without them decodes in a worker of an earlier version, and one from an
    // earlier pool decodes here.
    const bool later_fields_used =
        moves_files() || !spool_to.empty() || !stop_sequence.empty() || nice != 0;
    if (!detail::more_fields(ar, later_fields_used || carries_stdin())) return;
    // clang-format off
    ar & workdir & remove_workdir & transfer & returns & cleanup & pool_host & spool_to
       & stop_sequence & nice;
    // clang-format on
    // The input after them, the same way: a request without it keeps the layout above.
    if (!detail::more_fields(ar, carries_stdin())) return;
    ar& stdin_bytes& stdin_name& stdin_fifo;
    // Protocol 5: a request without it keeps protocol 4's layout.
    if (!detail::more_fields(ar, stdin_streamed)) return;
    ar& stdin_streamed;
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
  // ExecRequest::returns read on another host, in their order, each with the path as asked.
  std::vector<MovedFile> returned;
  // What could not be moved: one line each ("cannot return 'x.out': No such file or
  // directory"). The job's own status above is unchanged by them.
  std::vector<std::string> move_errors;
  // True if a stop request (kExecStopJobSignal, see install_exec_stop_handlers) ended the job
  // with ExecRequest::stop_sequence; its output and status are the job's as it ended.
  bool stopped = false;

  // Boost.Serialization's hook: the fields travel in this order.
  template <typename Archive>
  void serialize(Archive& ar, unsigned) {
    // Archive operators, not declarations: clang-format would write `ar& x&`.
    // clang-format off
    ar & exit_code & signal & timed_out & out & err & out_file & err_file & out_size & err_size
      & output_closed & start_time & duration;
    // clang-format on
    // As ExecRequest's: written only when used, read only when present.
    if (!detail::more_fields(ar, !returned.empty() || !move_errors.empty() || stopped)) return;
    ar& returned& move_errors;
    if (!detail::more_fields(ar, stopped)) return;
    ar& stopped;
  }
};

// Runs `request` in this process and waits for it. The job is the leader of a new process
// group. Throws std::system_error if the job cannot be started at all.
//
// Installs no signal handler. The first call starts this process's job guard
// (workers/job_guard.h): a detached helper process, and one descriptor that this process keeps
// open for the rest of its life. If this process dies while a job runs, however it dies
// (SIGKILL, the OOM killer), the guard SIGKILLs the job's process group, children included.
// The first call on each thread also keeps three descriptors (an epoll, an eventfd and a
// timerfd, for the job's process handle) for the rest of that thread's life.
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
//
// They also take kExecStopJobSignal sent with sigqueue(2), whose value is the pid of the job
// running now (the leader of its process group): that job alone is stopped with its
// stop_sequence, and run_exec returns its result, output included, with `stopped` set; this
// process goes on. Any other kExecStopJobSignal (another value, not queued, between jobs) is
// ignored, so a request that comes after its job ended stops nothing.
void install_exec_stop_handlers();

// The signal that asks a worker with the stop handlers to stop one job (forkpool run stops the
// youngest job this way when --memfree or --limit asks it to make room).
inline constexpr int kExecStopJobSignal = 10;  // SIGUSR1 on Linux

// install_exec_stop_handlers() as a task, for Options::initializer:
//   Pool pool({.initializer = forkpool::initializer(forkpool::exec_stop_handlers_task)});
inline int install_exec_stop_handlers_for_task() {
  install_exec_stop_handlers();
  return 0;
}
FORKPOOL_TASK(exec_stop_handlers_task, install_exec_stop_handlers_for_task);

// What a worker of `forkpool run` does once, before its first job (its Options::initializer):
// install_exec_stop_handlers(), and on another host than the pool's write the base files
// (--basefile), as ExecRequest writes its transferred files.
struct ExecWorkerSetup {
  std::vector<MovedFile> basefiles;  // paths as ExecRequest::transfer's, under `workdir`
  std::string workdir;               // as ExecRequest::workdir
  std::string pool_host;             // as ExecRequest::pool_host
  bool cleanup = false;              // remove them (as --cleanup) when this worker exits

  template <typename Archive>
  void serialize(Archive& ar, unsigned) {
    ar& basefiles& workdir& pool_host& cleanup;
  }
};

// Throws std::runtime_error naming a base file that cannot be written; the worker then counts
// as failing to start.
int setup_exec_worker(const ExecWorkerSetup& setup);
FORKPOOL_TASK(exec_worker_setup_task, setup_exec_worker);

}  // namespace forkpool
