#include "support/gate.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "io/fd.h"
#include "io/frame_writer.h"
#include "io/syscalls.h"

namespace forkpool::testing {
namespace {

io::Fd open_or_throw(const std::string& path, int flags) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + path);
  return io::Fd(fd);
}

// Reads one pid with plain read(2), never more: several tasks may be queued in one FIFO, and
// a buffering reader would swallow the next one's token with this one's.
pid_t read_pid(const io::Fd& fd) {
  pid_t pid = 0;
  auto* out = reinterpret_cast<char*>(&pid);
  std::size_t got = 0;
  while (got < sizeof pid) {
    const ssize_t n = ::read(fd.get(), out + got, sizeof pid - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("gate: a FIFO ended inside a token");
    got += static_cast<std::size_t>(n);
  }
  return pid;
}

void write_pid(const io::Fd& fd, pid_t pid) {
  iovec iov{&pid, sizeof pid};
  io::write_all(fd.get(), std::span<iovec>(&iov, 1), std::nullopt);
}

}  // namespace

Gate::Gate() {
  char pattern[] = "/tmp/forkpool-gate-XXXXXX";
  if (::mkdtemp(pattern) == nullptr)
    throw std::system_error(errno, std::generic_category(), "mkdtemp");
  dir_ = pattern;
  ::mkfifo((dir_ + "/entered").c_str(), 0600);
  ::mkfifo((dir_ + "/release").c_str(), 0600);
  // Held open for reading and writing for the gate's life: entries queue in the FIFO until
  // wait_entered() takes them, one at a time, and it never sees end-of-file between them.
  entered_ = open_or_throw(dir_ + "/entered", O_RDWR);
  // The same for releases: a token written while no task holds the FIFO open stays in it
  // until a task opens it, instead of vanishing when the last task that had it open closes.
  release_ = open_or_throw(dir_ + "/release", O_RDWR);
}

Gate::~Gate() {
  ::unlink((dir_ + "/entered").c_str());
  ::unlink((dir_ + "/release").c_str());
  ::rmdir(dir_.c_str());
}

pid_t Gate::wait_entered() { return read_pid(entered_); }

void Gate::release() { write_pid(release_, ::getpid()); }

void Gate::enter(const std::string& dir) {
  io::Fd fd = open_or_throw(dir + "/entered", O_WRONLY);
  write_pid(fd, ::getpid());
}

void Gate::await_release(const std::string& dir) {
  // Read and write, so that another waiter's release closing its end is no end-of-file here;
  // each release() writes one token, which exactly one waiter reads.
  io::Fd fd = open_or_throw(dir + "/release", O_RDWR);
  read_pid(fd);
}

}  // namespace forkpool::testing
