// The worker's side of a job's files (ExecRequest's workdir, transfer, returns and cleanup):
// GNU parallel's --workdir, --transfer, --return and --cleanup, done on the host the job runs
// on with the bytes that travelled in the task and come back in the result, instead of an
// rsync over a new ssh connection per file.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "forkpool/exec.h"
#include "io/epoll.h"
#include "io/fd.h"
#include "io/private_dir.h"
#include "workers/task_input.h"

namespace forkpool::workers {

// Whether this process is a worker on the pool's own host (ExecRequest::pool_host).
bool on_pool_host(const std::string& pool_host);

// Writes `file`'s bytes at `path` as rsync would make a new file: its mode less the umask,
// whole or not at all (through a temporary name beside it), its parent directories created.
// Keeps its modification time. Throws std::runtime_error naming `path` and this host.
void write_moved_file(const std::string& path, const MovedFile& file);

// Reads the regular file at `path` into `file` (bytes, mode, modification time). Returns ""
// or why it cannot (strerror's words, or "not a regular file").
std::string read_moved_file(const std::string& path, MovedFile& file);

// This host's name, as messages give it.
std::string this_host_name();

class JobFiles {
 public:
  // Resolves and creates the working directory, and on another host writes the transferred
  // files. Throws std::runtime_error naming the directory or file that failed (and the host);
  // what it had made of a --workdir ... directory is removed then.
  explicit JobFiles(const ExecRequest& request);
  // Removes a --workdir ... directory if finish() did not run.
  ~JobFiles();
  JobFiles(const JobFiles&) = delete;
  JobFiles& operator=(const JobFiles&) = delete;

  // Where the job runs: "" for this process's own working directory.
  const std::string& directory() const { return directory_; }

  // After the job: on another host, the returns into `result` (a missing one is a line in
  // ExecResult::move_errors), then the cleanup; then a --workdir ... directory is removed.
  void finish(ExecResult& result);

  // What --cleanup removes, in order: for each file moved, the file, then the directories on
  // its path as written (the workdir's included), deepest first, each only if that left it
  // empty and only while they do (GNU parallel's `rm -f FILE; rmdir DIRS`).
  std::vector<std::vector<std::string>> cleanup_plan() const;

 private:
  // `path` (relative to the working directory, or absolute) as this process opens it.
  std::string locate(const std::string& path) const;
  void write_transfers();
  void read_returns(ExecResult& result) const;
  void clean_up() const;
  void remove_workdir();

  const ExecRequest& request_;
  bool remote_ = false;
  std::string base_;     // what a relative workdir is under: the home, or "" (our own)
  std::string workdir_;  // the workdir below base_ (or absolute), as GNU parallel names it
  std::string directory_;
  bool made_unique_dir_ = false;  // remove_workdir is owed
};

// ExecRequest::stdin_bytes on the host the job runs on: the job's stdin through a pipe, or
// (ExecRequest::stdin_name) a file or named pipe that its command names, as GNU parallel's
// --cat and --fifo. A thread writes the bytes while the job runs, so that a job that reads
// slowly, late or not at all holds nothing up but itself.
class JobStdin {
 public:
  // For a request that carries_stdin(): --cat's file written, or --fifo's named pipe made, in
  // a new private directory. Nothing for any other request. Throws std::system_error.
  explicit JobStdin(const ExecRequest& request);
  // Stops writing, and removes the file and its directory.
  ~JobStdin();
  JobStdin(const JobStdin&) = delete;
  JobStdin& operator=(const JobStdin&) = delete;

  // The command and argv to run: the request's, every stdin_name in them replaced by the
  // path of the file or named pipe.
  const std::string& command() const { return path_.empty() ? request_.command : command_; }
  const std::vector<std::string>& argv() const { return path_.empty() ? request_.argv : argv_; }

  // The descriptor the job's stdin is made from (numbered above 2), or an invalid one when
  // the request's stdin is not this (then ExecRequest::stdin_path applies). Makes the pipe:
  // call it after the job guard has started, which must not hold a copy of its write end.
  // Throws std::system_error.
  io::Fd job_stdin();
  // Once the job has started: writing begins (into the named pipe, once the job opens it).
  void start();
  // The job has exited: what it did not read is dropped. Returns once the writing has stopped.
  void stop();
  // Whether more input comes while the job runs (ExecRequest::stdin_streamed, in a worker):
  // then the worker must read its frames while the job runs (read_parent_frames()).
  bool streamed() const { return stream_.has_value(); }

 private:
  void feed(io::Fd writer);
  bool write_bytes(const io::Fd& writer, std::span<const char> bytes);
  void feed_stream(const io::Fd& writer);

  const ExecRequest& request_;
  std::string command_;  // with a file or named pipe only: the request's, renamed
  std::vector<std::string> argv_;
  std::optional<io::PrivateDir> directory_;  // --cat's file or --fifo's pipe is in it
  std::string path_;                         // that file or pipe
  io::Fd writer_;                            // the write end of the job's stdin pipe, until start()
  std::optional<io::EventFd> stop_;          // tells the thread to stop (made with the thread)
  std::optional<TaskInputStream> stream_;    // ExecRequest::stdin_streamed: the rest of the input
  std::thread thread_;
};

}  // namespace forkpool::workers
