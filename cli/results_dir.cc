#include "cli/results_dir.h"

#include <fcntl.h>

#include <filesystem>

#include "io/fd.h"

namespace forkpool::cli {

ResultsFiles results_files(const std::string& option, const std::string& expanded,
                           const std::string& subdir) {
  if (expanded == option || (!expanded.empty() && expanded.back() == '/')) {
    const std::string dir = expanded == option ? option + "/" + subdir + "/" : expanded;
    return {dir + "seq", dir + "stdout", dir + "stderr"};
  }
  return {expanded + ".seq", expanded, expanded + ".err"};
}

bool save_results(const ResultsFiles& files, std::uint64_t seq, const JobStream& out,
                  const JobStream& err, std::string& failed_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir = fs::path(files.out).parent_path();
  if (!dir.empty()) fs::create_directories(dir, ec);
  auto put = [&](const std::string& path, const JobStream& data) {
    io::Fd f(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
    if (f && data.copy_to(f.get())) return true;
    failed_path = path;
    return false;
  };
  return put(files.seq, JobStream(std::to_string(seq))) && put(files.out, out) &&
         put(files.err, err);
}

}  // namespace forkpool::cli
