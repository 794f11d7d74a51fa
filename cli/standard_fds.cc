#include "cli/standard_fds.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

namespace forkpool::cli {

void make_standard_fds_valid() noexcept {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    // open(2) returns the lowest free number: `fd` itself, as the ones below it are open.
    // Not close-on-exec: the jobs are meant to inherit it.
    const int opened = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (opened >= 0 && opened != fd) {
      ::dup2(opened, fd);
      ::close(opened);
    }
  }
}

}  // namespace forkpool::cli
