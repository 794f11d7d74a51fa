#include "raw_peers.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace forkpool_bench {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The next four run in forked children too: async-signal-safe calls only, and failure is a
// result, never an exception.

bool read_full(int fd, char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::read(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool write_full(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Keeps stdio and the two given descriptors (renumbered 3 and 4) and closes every other one. A
// child holding a copy of another peer's pipe would hide that pipe's EOF, and the peer's owner
// would wait for its child forever.
bool keep_only(int& first, int& second) {
  const int a = ::fcntl(first, F_DUPFD, 100);  // above 4, so the dup2s below clobber nothing
  const int b = ::fcntl(second, F_DUPFD, 100);
  if (a < 0 || b < 0 || ::dup2(a, 3) < 0 || ::dup2(b, 4) < 0) return false;
  ::close_range(5, ~0U, 0);
  first = 3;
  second = 4;
  return true;
}

// Fresh anonymous memory, as a new std::vector this big gets from glibc (it mmaps anything
// above 32 MiB): every page is faulted in on first touch.
class FreshMemory {
 public:
  explicit FreshMemory(std::size_t bytes) : bytes_(bytes) {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    data_ = p == MAP_FAILED ? nullptr : static_cast<char*>(p);
  }
  FreshMemory(const FreshMemory&) = delete;
  FreshMemory& operator=(const FreshMemory&) = delete;
  ~FreshMemory() {
    if (data_ != nullptr) ::munmap(data_, bytes_);
  }
  char* data() const { return data_; }

 private:
  std::size_t bytes_;
  char* data_;
};

void must(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string(what) + " failed on a raw pipe");
}

void wait_readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, -1) < 0) {
    if (errno != EINTR) throw_errno("poll");
  }
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  reset(std::exchange(other.fd_, -1));
  return *this;
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);  // never retried on EINTR: Linux has released it either way
  fd_ = fd;
}

RawPipe RawPipe::create() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
  return RawPipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

pid_t RawChild::fork_or_throw() {
  const pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  return pid;
}

void RawChild::exit_child() { ::_exit(0); }

RawChild& RawChild::operator=(RawChild&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
    pid_ = std::exchange(other.pid_, -1);
  }
  return *this;
}

RawChild::~RawChild() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    wait();
  }
}

int RawChild::wait() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return status;
}

// ---------------------------------------------------------------------------------------------

RawEcho::RawEcho(std::size_t size)
    : message_(size, 'p'), there_(RawPipe::create()), back_(RawPipe::create()) {
  child_ = RawChild::fork([this] {
    int in = there_.read.get(), out = back_.write.get();
    char message[64];
    if (message_.size() > sizeof message || !keep_only(in, out)) return;
    while (read_full(in, message, message_.size())) {
      if (!write_full(out, message, message_.size())) return;
    }
  });
  there_.read.reset();
  back_.write.reset();
}

RawEcho::~RawEcho() {
  there_.write.reset();  // EOF: the child exits
  child_.wait();
}

double RawEcho::round_trip() {
  const auto start = Clock::now();
  must(write_full(there_.write.get(), message_.data(), message_.size()), "ping");
  must(read_full(back_.read.get(), message_.data(), message_.size()), "pong");
  return seconds_since(start) * 1e6;
}

// ---------------------------------------------------------------------------------------------

RawWriter::RawWriter(std::size_t bytes, Buffers buffers)
    : bytes_(bytes),
      buffers_(buffers),
      source_(buffers == Buffers::kReused ? bytes : 0, 'x'),
      sink_(buffers == Buffers::kReused ? bytes : 0, 0),
      go_(RawPipe::create()),
      data_(RawPipe::create()) {
  child_ = RawChild::fork([this] {
    int go = go_.read.get(), data = data_.write.get();
    if (!keep_only(go, data)) return;
    for (char c; read_full(go, &c, 1);) {
      if (buffers_ == Buffers::kReused) {
        if (!write_full(data, source_.data(), bytes_)) return;
        continue;
      }
      FreshMemory source(bytes_);
      if (source.data() == nullptr) return;
      std::memset(source.data(), 'x', bytes_);
      if (!write_full(data, source.data(), bytes_)) return;
    }
  });
  go_.read.reset();
  data_.write.reset();
}

RawWriter::~RawWriter() {
  go_.write.reset();  // EOF: the child exits
  child_.wait();
}

double RawWriter::transfer() {
  const auto start = Clock::now();
  must(write_full(go_.write.get(), "g", 1), "go");
  if (buffers_ == Buffers::kReused) {
    must(read_full(data_.read.get(), sink_.data(), bytes_), "read");
  } else {
    FreshMemory fresh(bytes_);
    if (fresh.data() == nullptr) throw_errno("mmap");
    must(read_full(data_.read.get(), fresh.data(), bytes_), "read");
  }
  return static_cast<double>(bytes_) / seconds_since(start) / 1e9;
}

// ---------------------------------------------------------------------------------------------

Samples raw_death_notice(int runs) {
  Samples millis;
  for (int i = 0; i < runs; ++i) {
    RawChild child = RawChild::fork([] {
      for (;;) ::pause();
    });
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, child.pid(), 0)));
    if (pidfd.get() < 0) throw_errno("pidfd_open");
    const auto start = Clock::now();
    ::kill(child.pid(), SIGKILL);
    wait_readable(pidfd.get());
    millis.add(seconds_since(start) * 1e3);
    child.wait();
  }
  return millis;
}

Samples raw_fork_start(int runs) {
  Samples millis;
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    RawPipe pipe = RawPipe::create();
    RawChild child = RawChild::fork([&] { write_full(pipe.write.get(), "r", 1); });
    pipe.write.reset();
    char c;
    must(read_full(pipe.read.get(), &c, 1), "start byte");
    millis.add(seconds_since(start) * 1e3);
    child.wait();
  }
  return millis;
}

namespace {

pid_t spawn(const std::vector<std::string>& argv, int stdout_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int error = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) throw std::system_error(error, std::generic_category(), "spawn " + argv[0]);
  return pid;
}

}  // namespace

Samples raw_spawn_start(int runs, const std::string& flag) {
  Samples millis;
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    RawPipe pipe = RawPipe::create();
    RawChild child(spawn({"/proc/self/exe", flag}, pipe.write.get()));
    pipe.write.reset();
    char c;
    must(read_full(pipe.read.get(), &c, 1), "start byte");
    millis.add(seconds_since(start) * 1e3);
    child.wait();
  }
  return millis;
}

namespace {

// One slot of raw_spawn_wait_loop: `jobs` spawns, each waited for before the next.
void spawn_and_wait(const std::vector<char*>& args, std::size_t jobs) {
  for (std::size_t i = 0; i < jobs; ++i) {
    pid_t pid = -1;
    const int error = ::posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ);
    if (error != 0) throw std::system_error(error, std::generic_category(), "posix_spawn");
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) throw_errno("waitpid");
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      throw std::runtime_error(std::string(args[0]) + " failed in the spawn loop");
    }
  }
}

}  // namespace

double raw_spawn_wait_loop(const std::vector<std::string>& argv, std::size_t jobs,
                           unsigned parallel) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::exception_ptr> errors(parallel);
  std::vector<std::thread> slots;
  const auto start = Clock::now();
  for (unsigned slot = 0; slot < parallel; ++slot) {
    // The jobs split as evenly as they go: the first jobs % parallel slots take one more.
    const std::size_t share = jobs / parallel + (slot < jobs % parallel ? 1 : 0);
    slots.emplace_back([&, slot, share] {
      try {
        spawn_and_wait(args, share);
      } catch (...) {
        errors[slot] = std::current_exception();
      }
    });
  }
  for (std::thread& t : slots) t.join();
  const double seconds = seconds_since(start);
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  return seconds;
}

bool write_start_byte() { return write_full(STDOUT_FILENO, "r", 1); }

std::string capture_output(const std::vector<std::string>& argv) {
  RawPipe out = RawPipe::create();
  RawChild child(spawn(argv, out.write.get()));
  out.write.reset();  // so that the child's exit is our EOF
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(out.read.get(), buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read");
    text.append(buffer, static_cast<std::size_t>(n));
  }
  const int status = child.wait();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string command;
    for (const std::string& a : argv) command += (command.empty() ? "" : " ") + a;
    throw std::runtime_error("'" + command + "' failed");
  }
  return text;
}

}  // namespace forkpool_bench
