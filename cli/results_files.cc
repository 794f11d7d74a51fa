#include "cli/results_files.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <system_error>

#include "io/fd.h"
#include "io/private_dir.h"

namespace forkpool::cli {

std::string keep_output_file(const JobStream& out, const std::string& spooled_path) {
  // GNU parallel's pattern, with six random characters where it has five.
  const std::string root = io::temp_root();
  std::string name = root + "/parXXXXXX.par";
  io::Fd file(::mkostemps(name.data(), 4, O_CLOEXEC));
  // Named as io::PrivateDir names its failure: the directory, not a random name never made.
  if (!file)
    throw std::system_error(errno, std::generic_category(),
                            "cannot create a temporary file in " + root);
  if (!spooled_path.empty()) {
    // Over the empty file just made: the name stays ours, the bytes move without a copy.
    if (std::rename(spooled_path.c_str(), name.c_str()) == 0) return name;
    const int error = errno;
    ::unlink(name.c_str());
    throw std::system_error(error, std::generic_category(), "cannot move the output to " + name);
  }
  if (!out.copy_to(file.get())) {
    const int error = errno;
    ::unlink(name.c_str());
    throw std::system_error(error, std::generic_category(), "cannot write " + name);
  }
  return name;
}

}  // namespace forkpool::cli
