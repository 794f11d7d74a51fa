#include "workers/job_files.h"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

#include "io/fd.h"
#include "io/pipe.h"
#include "io/syscalls.h"
#include "workers/worker_loop.h"

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
  // One read of the size stat gave (a byte at a time through iterators costs seconds a GiB).
  file.bytes.resize(static_cast<std::size_t>(st.st_size));
  in.read(file.bytes.data(), static_cast<std::streamsize>(file.bytes.size()));
  if (in.bad() || static_cast<std::size_t>(in.gcount()) != file.bytes.size())
    return "read error (the file changed while it was read)";
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

std::vector<std::vector<std::string>> JobFiles::cleanup_plan() const {
  std::vector<std::string> paths = request_.returns;
  for (const MovedFile& file : request_.transfer) paths.push_back(file.path);
  std::vector<std::vector<std::string>> plan;
  for (const std::string& path : paths) {
    std::vector<std::string>& steps = plan.emplace_back();
    steps.push_back(locate(path));
    const bool absolute = !path.empty() && path[0] == '/';
    fs::path dir = fs::path(absolute ? path : join(workdir_, path)).parent_path();
    for (; !dir.empty() && dir != dir.root_path(); dir = dir.parent_path())
      steps.push_back(join(absolute ? "" : base_, dir.string()));
  }
  return plan;
}

namespace {

// Only async-signal-safe calls: this also runs in a child forked from a threaded process.
void carry_out(const std::vector<std::vector<std::string>>& plan) noexcept {
  for (const std::vector<std::string>& steps : plan) {
    ::unlink(steps.front().c_str());
    for (std::size_t i = 1; i < steps.size(); ++i)
      if (::rmdir(steps[i].c_str()) != 0) break;
  }
}

}  // namespace

void JobFiles::clean_up() const { carry_out(cleanup_plan()); }

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

std::string replace_all(std::string text, const std::string& name, const std::string& path) {
  for (std::size_t at = text.find(name); at != std::string::npos;
       at = text.find(name, at + path.size()))
    text.replace(at, name.size(), path);
  return text;
}

void write_new_file(const std::string& path, const std::string& bytes) {
  io::Fd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!out) throw std::system_error(errno, std::generic_category(), "cannot write " + path);
  iovec body{const_cast<char*>(bytes.data()), bytes.size()};
  if (!io::write_all(out.get(), {&body, 1}, std::nullopt))
    throw std::system_error(EIO, std::generic_category(), "cannot write " + path);
}

// The named pipe's write end, once the job (or stop(), to release us) has opened it to read:
// open(2) waits for a reader.
io::Fd open_fifo_writer(const std::string& path) {
  for (;;) {
    io::Fd writer(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (writer || errno != EINTR) return writer;
  }
}

}  // namespace

JobStdin::JobStdin(const ExecRequest& request) : request_(request) {
  // Outside a worker (no task id) there is nobody to stream from: the bytes are all.
  if (request.stdin_streamed && request.stdin_name.empty() && current_task_id() != 0)
    stream_.emplace(current_task_id());
  if (request.stdin_name.empty()) return;
  // Should the file or pipe fail, the directory goes with this half-made object's members.
  directory_.emplace("forkpool-stdin-");
  path_ = directory_->file(request.stdin_fifo ? "fifo" : "block");
  if (!request.stdin_fifo) {
    write_new_file(path_, request.stdin_bytes);
  } else if (::mkfifo(path_.c_str(), 0600) != 0) {
    throw std::system_error(errno, std::generic_category(), "cannot make " + path_);
  }
  command_ = replace_all(request.command, request.stdin_name, path_);
  for (const std::string& word : request.argv)
    argv_.push_back(replace_all(word, request.stdin_name, path_));
}

JobStdin::~JobStdin() {
  stop();  // before directory_ goes: the thread may still open the named pipe in it
}

io::Fd JobStdin::job_stdin() {
  if (!request_.carries_stdin() || !request_.stdin_name.empty()) return io::Fd();
  io::Pipe pipe = io::Pipe::create();
  // Fewer wake-ups of both sides for a large block; best effort.
  if (request_.stdin_bytes.size() > 65536 || stream_) io::grow_pipe(pipe.write.get(), 1 << 20);
  writer_ = std::move(pipe.write);
  return io::Fd::duplicate(pipe.read.get(), 10);
}

void JobStdin::start() {
  const bool fifo = request_.stdin_fifo && !path_.empty();
  if (!writer_ && !fifo) return;  // --cat's file is written; no input at all
  stop_.emplace();
  thread_ = std::thread([this, writer = std::move(writer_)]() mutable { feed(std::move(writer)); });
}

void JobStdin::stop() {
  if (!thread_.joinable()) return;
  stop_->signal();
  // A thread still waiting in open(2) for the job to open the named pipe is released by a
  // reader of our own, held until it is gone.
  io::Fd release;
  if (request_.stdin_fifo && !path_.empty())
    release = io::Fd(::open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  thread_.join();
}

// The feeding thread. Non-blocking writes, polled together with stop_: a job that exits with
// its stdin unread, or leaves it open in a child that does not read it, cannot hold us.
void JobStdin::feed(io::Fd writer) {
  io::block_sigpipe_in_this_thread();  // a job that closes its stdin early: EPIPE, not death
  if (!writer) writer = open_fifo_writer(path_);
  if (!writer) return;
  io::set_nonblocking(writer.get(), true);
  if (!write_bytes(writer, request_.stdin_bytes)) return;
  if (stream_) feed_stream(writer);
  // Closing the write end now: the job sees end of file after the last byte.
}

// Writes `bytes` into the job's pipe. False if it stopped first: stop(), or the job closed its
// stdin (EPIPE).
bool JobStdin::write_bytes(const io::Fd& writer, std::span<const char> bytes) {
  for (std::size_t done = 0; done < bytes.size();) {
    pollfd fds[2] = {{stop_->fd().get(), POLLIN, 0}, {writer.get(), POLLOUT, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return false;
    if (fds[0].revents != 0) return false;
    if (fds[1].revents == 0) continue;
    const ssize_t n = ::write(writer.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno != EINTR && errno != EAGAIN) return false;  // EPIPE: stdin closed
    if (n > 0) done += static_cast<std::size_t>(n);
  }
  return true;
}

// The input that follows the request's bytes, each frame written before the pool is told it
// may send the next: the pool never sends more than the job's pipe has taken, plus one frame.
// A job that stops reading stops the flow; one that closes its stdin gets nothing more.
void JobStdin::feed_stream(const io::Fd& writer) {
  for (;;) {
    try {
      stream_->taken();
    } catch (const std::exception&) {
      return;  // the pool is gone; the worker loop finds out too
    }
    std::optional<TaskInputStream::Chunk> chunk;
    while (!(chunk = stream_->next())) {
      pollfd fds[2] = {{stop_->fd().get(), POLLIN, 0}, {stream_->fd().get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
      if (fds[0].revents != 0) return;
    }
    if (!write_bytes(writer, chunk->bytes) || chunk->end) return;
  }
}

namespace {

// Carries out `plan` once this process has ended, however it ends: a helper forked now waits
// for the end of a pipe whose only writer is this process. A worker's normal exit cannot do
// it itself: its pool ends the ssh session (or srun step) as soon as the worker's data
// connection closes, and the session's end kills the worker (PR_SET_PDEATHSIG) while it is
// still exiting (measured: the base files stayed in about one run of two).
void carry_out_when_this_process_ends(const std::vector<std::vector<std::string>>& plan) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(), "pipe");
  const pid_t helper = ::fork();
  if (helper < 0) {
    const int error = errno;
    ::close(ends[0]);
    ::close(ends[1]);
    throw std::system_error(error, std::generic_category(), "fork");
  }
  if (helper == 0) {
    // Between fork and exit, only async-signal-safe calls. Of the worker's descriptors only
    // its stderr is kept: ssh (or srun) ends only once every holder of it is gone, so the
    // pool, which waits for the launcher's end, ends after this. No signal to the worker's
    // process group reaches here.
    ::setsid();
    if (ends[0] != 0) ::dup2(ends[0], 0);
    ::dup2(STDERR_FILENO, STDOUT_FILENO);
    ::close_range(3, ~0U, 0);
    char byte;
    ssize_t n;
    do {
      n = ::read(0, &byte, 1);
    } while (n < 0 && errno == EINTR);
    carry_out(plan);
    ::_exit(0);
  }
  ::close(ends[0]);
  // ends[1] stays open, unused, for the rest of this process's life: its end is the signal.
  // The helper exits only after that, adopted and reaped by init: never a zombie of ours.
}

}  // namespace

}  // namespace forkpool::workers

namespace forkpool {

// The base files of this worker: written once, before its first job. Under --cleanup they go
// when the worker ends (the pool ends its workers only once every job is done; a worker that
// dies earlier takes them from its host, and its replacement writes them again).
int setup_exec_worker(const ExecWorkerSetup& setup) {
  install_exec_stop_handlers();
  static bool written = false;
  if (written || setup.basefiles.empty() || workers::on_pool_host(setup.pool_host)) return 0;
  ExecRequest request;
  request.workdir = setup.workdir;
  request.pool_host = setup.pool_host;
  request.transfer = setup.basefiles;
  request.cleanup = setup.cleanup;
  const workers::JobFiles files(request);
  written = true;
  if (setup.cleanup) workers::carry_out_when_this_process_ends(files.cleanup_plan());
  return 0;
}

}  // namespace forkpool
