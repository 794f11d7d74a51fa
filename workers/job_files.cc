#include "workers/job_files.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <system_error>

#include "io/fd.h"
#include "io/syscalls.h"

namespace forkpool::workers {
namespace {

namespace fs = std::filesystem;

std::string boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

// Where ssh logs in: the job's default directory on another host.
std::string home_directory() {
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') return home;
  if (const passwd* entry = ::getpwuid(::getuid()); entry != nullptr) return entry->pw_dir;
  return "/";
}

std::string join(const std::string& dir, const std::string& path) {
  if (dir.empty()) return path;
  if (path.empty()) return dir;
  return dir + (dir.back() == '/' ? "" : "/") + path;
}

[[noreturn]] void fail(const std::string& what, const std::string& path, int error) {
  throw std::runtime_error(what + " '" + path + "' on host '" + this_host_name() +
                           "': " + std::strerror(error));
}

}  // namespace

std::string this_host_name() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

// Through a temporary name, so that a job never sees half a file.
void write_moved_file(const std::string& path, const MovedFile& file) {
  const std::string temporary = path + ".forkpool-" + std::to_string(::getpid());
  io::Fd fd;
  // Another job's --cleanup in the same working directory may remove a directory it emptied
  // between our making it and our file appearing in it: make it again, a few times.
  for (int attempt = 0; !fd && attempt < 3; ++attempt) {
    std::error_code ec;
    if (const fs::path parent = fs::path(path).parent_path(); !parent.empty()) {
      fs::create_directories(parent, ec);
      if (ec) fail("cannot create the directory of", path, ec.value());
    }
    ::unlink(temporary.c_str());
    fd = io::Fd(
        ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, file.mode & 07777));
    if (!fd && errno != ENOENT) break;
  }
  if (!fd) fail("cannot write", path, errno);
  iovec bytes{const_cast<char*>(file.bytes.data()), file.bytes.size()};
  bool written = false;
  try {
    written = io::write_all(fd.get(), {&bytes, 1}, std::nullopt, false);
  } catch (const std::system_error& e) {
    errno = e.code().value();
  }
  const timespec times[2] = {{0, UTIME_NOW},
                             {file.mtime_ns / 1000000000, file.mtime_ns % 1000000000}};
  if (!written || ::futimens(fd.get(), times) != 0) {
    const int error = errno != 0 ? errno : EIO;
    ::unlink(temporary.c_str());
    fail("cannot write", path, error);
  }
  fd.reset();
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    fail("cannot write", path, error);
  }
}

std::string read_moved_file(const std::string& path, MovedFile& file) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return "not a regular file";
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::strerror(errno);
  file.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return "read error";
  file.mode = st.st_mode & 07777;
  file.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return "";
}

bool on_pool_host(const std::string& pool_host) {
  if (pool_host.empty()) return true;
  const std::size_t space = pool_host.rfind(' ');
  if (space == std::string::npos) return false;
  return pool_host.substr(0, space) == boot_id() &&
         pool_host.substr(space + 1) == std::to_string(::getppid());
}

JobFiles::JobFiles(const ExecRequest& request) : request_(request) {
  remote_ = !on_pool_host(request.pool_host);
  const std::string& w = request.workdir;
  if (w == "~" || w.rfind("~/", 0) == 0) {
    base_ = home_directory();
    workdir_ = w.size() > 2 ? w.substr(2) : "";
  } else {
    // An absolute workdir ignores the base; a relative one is under the home where ssh logs
    // in, and under our own directory here (GNU parallel's `cd` before the command).
    base_ = remote_ && (w.empty() || w[0] != '/') ? home_directory() : "";
    workdir_ = w;
  }
  directory_ = join(base_, workdir_);
  if (!directory_.empty()) {
    std::error_code ec;
    fs::create_directories(directory_, ec);
    if (ec) fail("cannot create the working directory", directory_, ec.value());
    if (!fs::is_directory(directory_, ec))
      fail("cannot use the working directory", directory_, ec ? ec.value() : ENOTDIR);
  }
  made_unique_dir_ = request.remove_workdir && !workdir_.empty();
  try {
    if (remote_) write_transfers();
  } catch (...) {
    remove_workdir();
    throw;
  }
}

JobFiles::~JobFiles() { remove_workdir(); }

std::string JobFiles::locate(const std::string& path) const {
  if (!path.empty() && path[0] == '/') return path;
  return join(directory_, path);
}

void JobFiles::write_transfers() {
  for (const MovedFile& file : request_.transfer) write_moved_file(locate(file.path), file);
}

void JobFiles::read_returns(ExecResult& result) const {
  for (const std::string& path : request_.returns) {
    MovedFile file;
    file.path = path;
    if (std::string why = read_moved_file(locate(path), file); !why.empty()) {
      result.move_errors.push_back("cannot return '" + path + "' from host '" + this_host_name() +
                                   "': " + why);
      continue;
    }
    result.returned.push_back(std::move(file));
  }
}

// GNU parallel's cleanup_cmd: each file, then every directory on its path as written (the
// workdir's included), deepest first, if that left it empty.
void JobFiles::clean_up() const {
  std::vector<std::string> paths = request_.returns;
  for (const MovedFile& file : request_.transfer) paths.push_back(file.path);
  for (const std::string& path : paths) {
    ::unlink(locate(path).c_str());
    const bool absolute = !path.empty() && path[0] == '/';
    fs::path dir = fs::path(absolute ? path : join(workdir_, path)).parent_path();
    for (; !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
      if (::rmdir(join(absolute ? "" : base_, dir.string()).c_str()) != 0) break;
    }
  }
}

void JobFiles::remove_workdir() {
  if (!made_unique_dir_) return;
  made_unique_dir_ = false;
  std::error_code ec;
  fs::remove_all(directory_, ec);
}

void JobFiles::finish(ExecResult& result) {
  if (remote_) {
    read_returns(result);
    if (request_.cleanup) clean_up();
  }
  remove_workdir();
}

namespace {

// The base files of this worker, written once before its first job. Under --cleanup they are
// removed at its normal exit: the pool stops its workers only once every job is done, so no
// job on this host still needs them (a worker killed instead leaves them, as GNU parallel
// killed leaves its own).
struct BaseFiles {
  ExecRequest request;
  std::unique_ptr<JobFiles> files;
  ~BaseFiles() {
    if (!files) return;
    ExecResult unused;
    try {
      files->finish(unused);
    } catch (...) {
      // Nothing is left to report to at exit.
    }
  }
};

}  // namespace

}  // namespace forkpool::workers

namespace forkpool {

int setup_exec_worker(const ExecWorkerSetup& setup) {
  install_exec_stop_handlers();
  if (setup.basefiles.empty() || workers::on_pool_host(setup.pool_host)) return 0;
  static workers::BaseFiles written;
  if (written.files) return 0;
  written.request.workdir = setup.workdir;
  written.request.pool_host = setup.pool_host;
  written.request.transfer = setup.basefiles;
  written.request.cleanup = setup.cleanup;
  written.files = std::make_unique<workers::JobFiles>(written.request);
  for (MovedFile& file : written.request.transfer) std::string().swap(file.bytes);  // written
  return 0;
}

}  // namespace forkpool
