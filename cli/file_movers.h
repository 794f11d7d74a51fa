// forkpool run's file movers for jobs on other hosts, GNU parallel's: --transferfile/--tf,
// --transfer, --return, --trc, --cleanup and --workdir/--wd. The files travel in the job's own
// task and result frames, over the connection the worker already has (no rsync, no ssh per
// job); the worker writes them under the job's working directory, runs the job there, reads
// the returns and cleans up (workers/job_files.h). Here: the templates, the paths as GNU
// parallel maps them, reading what goes and writing what comes back.
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

// Declared, not included: run_options.h includes this header, and forkpool/exec.h defines the
// exec task (its registration and archive code) in every file that includes it.
namespace forkpool {
struct ExecRequest;
struct ExecResult;
struct ExecWorkerSetup;
}  // namespace forkpool

namespace forkpool::cli {

struct RunOptions;
struct JobInput;

struct FileMoverOptions {
  std::vector<std::string> transfer_files;  // --transferfile / --tf FILE (templates), in order
  bool transfer = false;                    // --transfer: --tf {} (or -I's string)
  std::vector<std::string> returns;         // --return FILE (templates)
  // --trc FILE: --return FILE and --cleanup, and --transfer unless a --tf is given.
  std::vector<std::string> trc;
  bool cleanup = false;                // --cleanup
  std::optional<std::string> workdir;  // --workdir / --wd DIR (a template; "." and "...")
  std::vector<std::string> basefiles;  // --basefile / --bf FILE, in order
  bool moves() const {
    return !transfer_files.empty() || transfer || !returns.empty() || !trc.empty() || cleanup ||
           !basefiles.empty();
  }
};

// A file that cannot be sent: the job does not run. what() names the file and the reason.
class MoveError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class FileMovers {
 public:
  // `remote`: whether any of the run's workers is on another host. Without one, as GNU
  // parallel, only --workdir applies; warning() says what was ignored. `max_bytes`: what one
  // request may carry of transferred files. Throws UsageError for a template that does not
  // compile.
  FileMovers(const RunOptions& options, bool remote, std::size_t max_bytes);
  ~FileMovers();
  FileMovers(const FileMovers&) = delete;
  FileMovers& operator=(const FileMovers&) = delete;

  // GNU parallel's warning when the movers were given without a remote host, or "".
  std::string warning() const;

  // Fills `request`'s working directory and files for `job`: reads each file to transfer.
  // Throws MoveError naming a file that cannot be read or is too large to send.
  void prepare(const JobInput& job, unsigned slot, ExecRequest& request) const;

  // Whether --basefile was given for a run with a remote host: then worker_setup() is every
  // worker's initializer.
  bool has_basefiles() const;
  // The base files, read now, and where they go. Throws UsageError naming one that cannot be
  // read, or a relative one with --workdir ... (GNU parallel refuses that too).
  ExecWorkerSetup worker_setup() const;

  // Writes the files `result` brings back where GNU parallel puts them (relative to this
  // process's directory); returns one line for each that could not be moved (either side).
  std::vector<std::string> deliver(const JobInput& job, unsigned slot,
                                   const ExecResult& result) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// GNU parallel's paths, for a file named `path` on this side: where it is on the job's side
// (relative to its working directory unless absolute; "/./" marks where that relative part
// starts), and where a returned file lands here.
std::string remote_path(const std::string& path);
std::string local_path(const std::string& path);

// --workdir DIR as GNU parallel names it for the job: "." is this directory relative to the
// home ("~/..."), or absolute; "..." a unique directory under ~/.parallel/tmp; any other is
// cleaned of "/./", a trailing '/' and a leading "./".
std::string workdir_for(const std::string& given, std::uint64_t seq);

}  // namespace forkpool::cli
