// PrivateDir: a directory of this process's own under $TMPDIR, for its temporary files.
//
// In io/ because it is an operating-system resource owned the way Fd owns a descriptor, and
// both the command line (a run's spool directory, --pipe's files) and the worker (a remote
// job's --cat file or --fifo) make one: io/ is the lowest layer both link, and this knows
// nothing of messages, workers or runs.
#pragma once

#include <string>
#include <string_view>

namespace forkpool::io {

// Where temporary files go: $TMPDIR, or /tmp when it is unset or empty.
std::string temp_root();

// A new directory, mode 0700, named `prefix` and six random characters (mkdtemp(3)), under
// temp_root(); removed with everything in it on destruction.
class PrivateDir {
 public:
  // Throws std::system_error when the directory cannot be made; what() is one line naming
  // temp_root() and the reason ("cannot create a temporary directory in /x: Permission
  // denied").
  explicit PrivateDir(std::string_view prefix);
  ~PrivateDir();
  PrivateDir(const PrivateDir&) = delete;
  PrivateDir& operator=(const PrivateDir&) = delete;

  const std::string& path() const { return path_; }
  // The path of `name` inside the directory.
  std::string file(std::string_view name) const;

 private:
  std::string path_;
};

}  // namespace forkpool::io
