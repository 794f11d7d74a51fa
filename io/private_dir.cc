#include "io/private_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>

namespace forkpool::io {

std::string temp_root() {
  const char* tmp = ::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

PrivateDir::PrivateDir(std::string_view prefix) {
  const std::string root = temp_root();
  std::string pattern = root + "/" + std::string(prefix) + "XXXXXX";
  // The message names $TMPDIR, not the pattern: mkdtemp has filled in random characters of a
  // name that never existed, and the user can only change the directory it was to be in.
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::system_error(errno, std::generic_category(),
                            "cannot create a temporary directory in " + root);
  path_ = std::move(pattern);
}

PrivateDir::~PrivateDir() {
  // Best effort: a destructor cannot report, and what is left is only in $TMPDIR.
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string PrivateDir::file(std::string_view name) const {
  return path_ + "/" + std::string(name);
}

}  // namespace forkpool::io
