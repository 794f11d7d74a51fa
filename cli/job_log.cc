#include "cli/job_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "cli/job_output.h"
#include "cli/run_options.h"
#include "io/syscalls.h"

namespace forkpool::cli {
namespace {

constexpr const char* kJobLogHeader =
    "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";

}  // namespace

std::unordered_map<std::uint64_t, bool> read_job_log(const std::string& path) {
  std::unordered_map<std::uint64_t, bool> done;
  std::ifstream in(path);
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (header) {
      header = false;
      if (line.rfind("Seq\t", 0) == 0) continue;
    }
    std::vector<std::string> fields;
    std::stringstream s(line);
    for (std::string f; std::getline(s, f, '\t') && fields.size() < 8;) fields.push_back(f);
    if (fields.size() < 8) continue;
    char* end = nullptr;
    const auto seq = std::strtoull(fields[0].c_str(), &end, 10);
    if (end == fields[0].c_str() || seq == 0) continue;
    done[seq] = fields[6] == "0" && fields[7] == "0";
  }
  return done;
}

bool has_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  return static_cast<bool>(std::getline(in, line));
}

JobLog::JobLog(const std::string& path, bool append) {
  if (path == "-") {
    fd_ = STDOUT_FILENO;
    write_stdout(kJobLogHeader);
    return;
  }
  owned_ = io::Fd(
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0666));
  if (!owned_) throw UsageError("cannot write the job log '" + path + "': " + std::strerror(errno));
  fd_ = owned_.get();
  if (!append) write_line(kJobLogHeader);
}

void JobLog::write(std::uint64_t seq, const ExecResult& r, int exitval, const std::string& command,
                   std::uint64_t sent) {
  if (fd_ < 0) return;
  char head[160];
  std::snprintf(head, sizeof head, "%llu\t:\t%.3f\t%10.3f\t%llu\t%zu\t%d\t%d\t",
                static_cast<unsigned long long>(seq), r.start_time, r.duration,
                static_cast<unsigned long long>(sent), static_cast<std::size_t>(r.out_size),
                exitval, r.signal);
  write_line(std::string(head) + command + "\n");
}

void JobLog::write_line(std::string_view line) { write_log_file(fd_, line); }

}  // namespace forkpool::cli
