#include "io/fd.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace forkpool::io {

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

void Fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);  // No EINTR retry: the fd is gone even when close reports EINTR.
  fd_ = fd;
}

Fd Fd::duplicate(int fd, int min_fd) {
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, min_fd);
  if (copy < 0) throw std::system_error(errno, std::generic_category(), "fcntl(F_DUPFD_CLOEXEC)");
  return Fd(copy);
}

}  // namespace forkpool::io
