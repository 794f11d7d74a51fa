#include "cli/results_dir.h"

#include <fcntl.h>

#include <filesystem>

#include "io/fd.h"

namespace forkpool::cli {

bool save_results(const std::string& dir, std::uint64_t seq, const JobStream& out,
                  const JobStream& err, std::string& failed_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  auto put = [&](const char* name, const JobStream& data) {
    const std::string path = (fs::path(dir) / name).string();
    io::Fd f(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
    if (f && data.copy_to(f.get())) return true;
    failed_path = path;
    return false;
  };
  return put("seq", JobStream(std::to_string(seq))) && put("stdout", out) && put("stderr", err);
}

}  // namespace forkpool::cli
