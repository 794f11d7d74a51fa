#include "cli/file_movers.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "cli/job_internal.h"
#include "cli/job_source.h"
#include "cli/perl_evaluator.h"
#include "cli/replacement_strings.h"
#include "cli/run_options.h"
#include "forkpool/exec.h"
#include "workers/job_files.h"

namespace forkpool::cli {
namespace {

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

// "KERNEL_BOOT_ID PID": what a worker compares with its own boot and its parent
// (ExecRequest::pool_host).
std::string pool_host_identity() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id + " " + std::to_string(::getpid());
}

// GNU parallel's workdir() for ".": this directory below the home (found by device and inode,
// as there), or the whole path when it is not below it.
std::string current_dir_from_home() {
  char buffer[4096];
  if (::getcwd(buffer, sizeof buffer) == nullptr) return ".";
  std::string cwd = buffer;
  const char* home = std::getenv("HOME");
  struct stat home_stat {};
  if (home == nullptr || ::stat(home, &home_stat) != 0) return cwd;
  for (std::size_t slash = cwd.find('/', 1);; slash = cwd.find('/', slash + 1)) {
    const std::string parent = cwd.substr(0, slash);
    struct stat st {};
    if (::stat(parent.c_str(), &st) == 0 && st.st_dev == home_stat.st_dev &&
        st.st_ino == home_stat.st_ino) {
      return slash == std::string::npos ? "~" : "~/" + cwd.substr(slash + 1);
    }
    if (slash == std::string::npos) return cwd;
  }
}

std::string this_host() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

}  // namespace

std::string remote_path(const std::string& path) {
  if (const std::size_t dot = path.rfind("/./"); dot != std::string::npos)
    return path.substr(dot + 3);
  std::string out = path;
  while (starts_with(out, "./")) out.erase(0, 2);
  return out;
}

std::string local_path(const std::string& path) {
  std::string out = path;
  while (starts_with(out, "./")) out.erase(0, 2);
  replace_all(out, "/./", "/");
  return out;
}

std::string workdir_for(const std::string& given, std::uint64_t seq) {
  if (given == ".") return current_dir_from_home();
  if (given == "...") {
    return "~/.parallel/tmp/" + this_host() + "-" + std::to_string(::getpid()) + "-" +
           std::to_string(seq);
  }
  std::string dir = given;
  replace_all(dir, "/./", "/");
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  while (starts_with(dir, "./")) dir.erase(0, 2);
  return dir;
}

struct FileMovers::Impl {
  Impl(const RunOptions& o, bool remote_hosts, std::size_t max)
      : options(o.remote.movers), remote(remote_hosts), max_bytes(max), rpl(o) {
    const FileMoverOptions& m = options;
    std::vector<std::string> transfers = m.transfer_files;
    const std::string every_argument = o.replacements.replace.value_or("{}");
    if (m.transfer || (!m.trc.empty() && transfers.empty())) transfers.push_back(every_argument);
    std::vector<std::string> returned = m.returns;
    returned.insert(returned.end(), m.trc.begin(), m.trc.end());
    cleanup = m.cleanup || !m.trc.empty();
    for (const std::string& t : transfers) transfer.push_back(compile(t));
    for (const std::string& r : returned) returns.push_back(compile(r));
    if (m.workdir && *m.workdir != "." && *m.workdir != "...")
      workdir.push_back(compile(*m.workdir));
    if (!expressions.empty()) perl.emplace(expressions, o.job_slots);
    mode.quote_values = false;  // GNU parallel's replace_placeholders(..., 0, 0)
    mode.context = o.args_per_job.context;
    mode.perl = perl ? &*perl : nullptr;
    trim = internal::trim_of(o);
  }

  internal::CompiledTemplate compile(const std::string& text) {
    return internal::CompiledTemplate({text}, false, rpl, expressions);
  }
  std::string render(const internal::CompiledTemplate& t, const JobInput& job,
                     unsigned slot) const {
    return t.render(job, slot, mode, trim);
  }

  const FileMoverOptions options;
  bool remote;
  std::size_t max_bytes;
  bool cleanup = false;
  ReplacementStrings rpl;
  std::vector<std::string> expressions;
  std::vector<internal::CompiledTemplate> transfer, returns, workdir;
  std::optional<PerlEvaluator> perl;
  internal::RenderMode mode;
  internal::Trim trim = internal::Trim::kNone;
  const std::string pool_host = pool_host_identity();
};

FileMovers::FileMovers(const RunOptions& options, bool remote, std::size_t max_bytes)
    : impl_(std::make_unique<Impl>(options, remote, max_bytes)) {}
FileMovers::~FileMovers() = default;

std::string FileMovers::warning() const {
  const FileMoverOptions& m = impl_->options;
  if (impl_->remote || !m.moves()) return "";
  // GNU parallel's order of precedence for the one option it names.
  const char* name = !m.trc.empty()              ? "--trc"
                     : m.transfer                ? "--transfer"
                     : !m.transfer_files.empty() ? "--transferfile"
                     : !m.returns.empty()        ? "--return"
                     : m.cleanup                 ? "--cleanup"
                                                 : "--basefile";
  return std::string("warning: ") + name + " ignored as there are no remote --sshlogin.";
}

void FileMovers::prepare(const JobInput& job, unsigned slot, ExecRequest& request) const {
  const Impl& m = *impl_;
  if (m.options.workdir) {
    const std::string& given = *m.options.workdir;
    request.workdir =
        workdir_for(m.workdir.empty() ? given : m.render(m.workdir.front(), job, slot), job.seq);
    request.remove_workdir = given == "...";
  }
  if (!m.remote) return;
  request.pool_host = m.pool_host;
  std::size_t bytes = 0;
  for (const internal::CompiledTemplate& t : m.transfer) {
    const std::string path = m.render(t, job, slot);
    MovedFile file;
    if (std::string why = workers::read_moved_file(path, file); !why.empty())
      throw MoveError("cannot transfer '" + path + "': " + why);
    bytes += file.bytes.size();
    if (bytes > m.max_bytes) {
      throw MoveError("cannot transfer '" + path + "': the job's files pass the " +
                      std::to_string(m.max_bytes) + " bytes one task may carry");
    }
    file.path = remote_path(path);
    request.transfer.push_back(std::move(file));
  }
  for (const internal::CompiledTemplate& t : m.returns)
    request.returns.push_back(remote_path(m.render(t, job, slot)));
  request.cleanup = m.cleanup;
}

bool FileMovers::has_basefiles() const {
  return impl_->remote && !impl_->options.basefiles.empty();
}

ExecWorkerSetup FileMovers::worker_setup() const {
  const Impl& m = *impl_;
  ExecWorkerSetup setup;
  setup.pool_host = m.pool_host;
  setup.cleanup = m.cleanup;
  // GNU parallel's setup_basefile(): the working directory of a job without arguments.
  JobInput none;
  none.seq = 1;
  if (const std::optional<std::string>& given = m.options.workdir; given && *given != "...")
    setup.workdir =
        workdir_for(m.workdir.empty() ? *given : m.render(m.workdir.front(), none, 1), 1);
  for (const std::string& path : m.options.basefiles) {
    if ((path.empty() || path[0] != '/') && m.options.workdir == "...")
      throw UsageError("Work dir '...' will not work with relative basefiles.");
    MovedFile file;
    if (std::string why = workers::read_moved_file(path, file); !why.empty())
      throw UsageError("cannot read --basefile '" + path + "': " + why);
    if (file.bytes.size() > m.max_bytes)
      throw UsageError("--basefile '" + path + "' is larger than the " +
                       std::to_string(m.max_bytes) + " bytes one frame may carry");
    file.path = remote_path(path);
    setup.basefiles.push_back(std::move(file));
  }
  return setup;
}

std::vector<std::string> FileMovers::deliver(const JobInput& job, unsigned slot,
                                             const ExecResult& result) const {
  const Impl& m = *impl_;
  std::vector<std::string> problems = result.move_errors;
  if (!m.remote || result.returned.empty()) return problems;
  for (const internal::CompiledTemplate& t : m.returns) {
    const std::string path = m.render(t, job, slot);
    const std::string there = remote_path(path);
    for (const MovedFile& file : result.returned) {
      if (file.path != there) continue;
      try {
        workers::write_moved_file(local_path(path), file);
      } catch (const std::exception& e) {
        problems.emplace_back(e.what());
      }
      break;
    }
  }
  return problems;
}

}  // namespace forkpool::cli
