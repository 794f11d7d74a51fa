// The private directory a run's spooled job output goes to.
#pragma once

#include <string>

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

}  // namespace forkpool::cli
