// --joblog: GNU parallel's job log, written as jobs finish and read back by --resume and
// --resume-failed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "forkpool/exec.h"
#include "io/fd.h"

namespace forkpool::cli {

// What an earlier run's --joblog says: for each sequence number, whether its last attempt
// succeeded. A missing or unreadable file says nothing.
std::unordered_map<std::uint64_t, bool> read_job_log(const std::string& path);

// Whether `path` can be read and has at least one line (GNU parallel appends to such a log
// on --resume, and starts a new one with a header otherwise).
bool has_first_line(const std::string& path);

class JobLog {
 public:
  JobLog() = default;  // logs nothing
  // "-" is stdout. With `append`, appends without writing a header.
  // Throws UsageError if the file cannot be opened for writing.
  JobLog(const std::string& path, bool append);
  // One line for a finished job. Throws StdoutClosed when logging to a stdout that is gone.
  // `sent`: the bytes the job was given on stdin (--pipe), GNU parallel's Send.
  void write(std::uint64_t seq, const ExecResult& r, int exitval, const std::string& command,
             std::uint64_t sent = 0);

 private:
  void write_line(std::string_view line);

  io::Fd owned_;
  int fd_ = -1;
};

}  // namespace forkpool::cli
