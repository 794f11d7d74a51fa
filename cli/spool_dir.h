// Spooled job output: when a job's output goes to a file, and how the runner learns it grew.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include "io/fd.h"

namespace forkpool::cli {

// A job's stdout or stderr past this size goes from the worker to a file, not into its result
// frame: neither process then holds more than about this much of any job's output in memory,
// whatever its size (GNU parallel keeps all job output in temporary files).
inline constexpr std::size_t kSpoolOver = std::size_t{1} << 20;

// The name prefix of a run's private directory (io::PrivateDir) that spooled output goes to.
inline constexpr std::string_view kSpoolDirPrefix = "forkpool-run-";

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
