#include "support/gate.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "io/blocking_reader.h"
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

void write_pid(const io::Fd& fd, pid_t pid) {
  iovec iov{&pid, sizeof pid};
  io::write_all(fd.get(), std::span<iovec>(&iov, 1), std::nullopt);
}

}  // namespace

Gate::Gate() {
  char pattern[] = "/tmp/forkpool-gate-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp");
  dir_ = pattern;
  ::mkfifo((dir_ + "/entered").c_str(), 0600);
  ::mkfifo((dir_ + "/release").c_str(), 0600);
}

Gate::~Gate() {
  ::unlink((dir_ + "/entered").c_str());
  ::unlink((dir_ + "/release").c_str());
  ::rmdir(dir_.c_str());
}

pid_t Gate::wait_entered() {
  io::Fd fd = open_or_throw(dir_ + "/entered", O_RDONLY);  // blocks until a task opens it
  pid_t pid = 0;
  io::BlockingReader(fd).read_exact(std::span<char>(reinterpret_cast<char*>(&pid), sizeof pid));
  return pid;
}

void Gate::release() {
  io::Fd fd = open_or_throw(dir_ + "/release", O_WRONLY);  // blocks until the task waits
  write_pid(fd, ::getpid());
}

void Gate::enter(const std::string& dir) {
  io::Fd fd = open_or_throw(dir + "/entered", O_WRONLY);
  write_pid(fd, ::getpid());
}

void Gate::await_release(const std::string& dir) {
  io::Fd fd = open_or_throw(dir + "/release", O_RDONLY);
  pid_t ignored;
  io::BlockingReader(fd).read_exact(std::span<char>(reinterpret_cast<char*>(&ignored), sizeof ignored));
}

}  // namespace forkpool::testing
