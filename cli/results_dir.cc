#include "cli/results_dir.h"

#include <fcntl.h>

#include <filesystem>
#include <initializer_list>
#include <utility>

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

namespace {

// Creates the directory the files go in; false if one of them cannot be written (failed_path
// names it, errno is set).
bool put_files(const ResultsFiles& files,
               std::initializer_list<std::pair<const std::string*, const JobStream*>> contents,
               std::string& failed_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir = fs::path(files.out).parent_path();
  if (!dir.empty()) fs::create_directories(dir, ec);
  for (const auto& [path, data] : contents) {
    io::Fd f(::open(path->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
    if (f && data->copy_to(f.get())) continue;
    failed_path = *path;
    return false;
  }
  return true;
}

}  // namespace

bool save_results(const ResultsFiles& files, std::uint64_t seq, const JobStream& out,
                  const JobStream& err, std::string& failed_path) {
  const JobStream seq_text(std::to_string(seq));
  return put_files(files, {{&files.seq, &seq_text}, {&files.out, &out}, {&files.err, &err}},
                   failed_path);
}

bool save_dry_run_results(const ResultsFiles& files, std::uint64_t seq, std::string& failed_path) {
  const JobStream seq_text(std::to_string(seq)), nothing;
  return put_files(files, {{&files.seq, &seq_text}, {&files.err, &nothing}}, failed_path);
}

}  // namespace forkpool::cli
