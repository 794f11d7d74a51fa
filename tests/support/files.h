// Files for tests: a scratch directory that cleans up after itself, and whole-file reads and
// writes (binary-safe).
#pragma once

#include <string>

namespace forkpool::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  // Writes `content` to the file `name` in the directory; returns its path.
  std::string file(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// The whole file ("" if it cannot be read).
std::string read_file(const std::string& path);
// Creates or truncates. Throws std::runtime_error if the file cannot be written.
void write_file(const std::string& path, const std::string& bytes);

}  // namespace forkpool::testing
