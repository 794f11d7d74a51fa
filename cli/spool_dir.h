// The private directory a run's spooled job output goes to.
#pragma once

#include <functional>
#include <string>
#include <thread>

#include "io/fd.h"

namespace forkpool::cli {

// A job's stdout or stderr past this size goes from the worker to a file, not into its result
// frame: neither process then holds more than about this much of any job's output in memory,
// whatever its size (GNU parallel keeps all job output in temporary files).
inline constexpr std::size_t kSpoolOver = std::size_t{1} << 20;

// A private directory for the spooled output of one run (under $TMPDIR, else /tmp), removed
// with whatever a worker that died midway left in it.
class SpoolDir {
 public:
  // Throws std::system_error if the directory cannot be created.
  SpoolDir();
  ~SpoolDir();
  SpoolDir(const SpoolDir&) = delete;
  SpoolDir& operator=(const SpoolDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Calls `on_write` whenever a file in a directory is written to (inotify's IN_MODIFY; a close
// adds no bytes, and a job's end comes with its result), on a thread of its own, until destroyed:
// how the runner learns, without polling, that a running job's spooled output grew (-k
// --line-buffer). Calls may be coalesced; each comes after the write it reports, so a reader it
// wakes sees the new bytes.
class SpoolWatch {
 public:
  // Throws std::system_error if the directory cannot be watched.
  SpoolWatch(const std::string& dir, std::function<void()> on_write);
  ~SpoolWatch();
  SpoolWatch(const SpoolWatch&) = delete;
  SpoolWatch& operator=(const SpoolWatch&) = delete;

 private:
  void watch();

  io::Fd inotify_;
  io::Fd stop_read_, stop_write_;
  std::function<void()> on_write_;
  std::thread thread_;
};

}  // namespace forkpool::cli
