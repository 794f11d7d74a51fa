#include "io/syscalls.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "forkpool/errors.h"

namespace forkpool::io {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

thread_local bool sigpipe_blocked_for_good = false;

// Blocks SIGPIPE in this thread while a write runs. If the write raised a SIGPIPE that was not
// already pending, it is consumed before the old mask returns, so it is never delivered.
// (Pipes have no MSG_NOSIGNAL; a process-wide SIG_IGN would leak into every exec'd job.)
class SigpipeGuard {
 public:
  explicit SigpipeGuard(bool active) : active_(active && !sigpipe_blocked_for_good) {
    if (!active_) return;
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old_mask_);
    // Only a blocked SIGPIPE can be pending for this thread (an unblocked one is delivered), so
    // the question costs a syscall only where the answer may be yes. Saves one of the three
    // syscalls this guard adds to a small task's write.
    if (sigismember(&old_mask_, SIGPIPE) == 1) {
      sigset_t pending;
      sigpending(&pending);
      was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    }
  }
  void raised() { raised_ = true; }
  ~SigpipeGuard() {
    if (!active_) return;
    if (raised_ && !was_pending_) {
      sigset_t pipe_only;
      sigemptyset(&pipe_only);
      sigaddset(&pipe_only, SIGPIPE);
      const timespec zero{0, 0};
      int saved = errno;
      while (sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
      }
      errno = saved;
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }

 private:
  bool active_;
  sigset_t old_mask_;
  bool was_pending_ = false;
  bool raised_ = false;
};

int to_poll_timeout(Deadline wait, Clock::time_point start) {
  if (!wait) return -1;
  auto left = *wait - std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return static_cast<int>(std::max<std::chrono::milliseconds::rep>(left.count(), 0));
}

}  // namespace

short poll_one(int fd, short events, Deadline wait) {
  const auto start = Clock::now();
  pollfd p{fd, events, 0};
  for (;;) {
    int n = ::poll(&p, 1, to_poll_timeout(wait, start));
    if (n > 0) return p.revents;
    if (n == 0) return 0;
    if (errno != EINTR) throw_errno("poll");
  }
}

std::optional<std::size_t> read_once(int fd, std::span<char> out, Deadline wait, FdMode mode) {
  // With a deadline, wait for data first: on a blocking descriptor read(2) alone would block
  // past the deadline, so a writer that stalls mid-frame would freeze the reader forever.
  if (wait && mode != FdMode::kNonBlocking && poll_one(fd, POLLIN, wait) == 0) return std::nullopt;
  for (;;) {
    ssize_t n = ::read(fd, out.data(), out.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    // A data connection's peer that closed with bytes unread resets it: it is gone, as at EOF.
    if (errno == ECONNRESET) return 0;
    if (errno != EAGAIN) throw_errno("read");
    if (poll_one(fd, POLLIN, wait) == 0) return std::nullopt;
  }
}

void block_sigpipe_in_this_thread() {
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);
  sigpipe_blocked_for_good = true;
}

bool write_all(int fd, std::span<iovec> iov, Deadline stall, bool guard_sigpipe) {
  SigpipeGuard guard(guard_sigpipe);
  std::size_t total = 0, written = 0;
  for (const iovec& v : iov) total += v.iov_len;
  std::size_t first = 0;  // index of the first iovec not yet fully written
  while (written < total) {
    // writev(2) takes at most IOV_MAX iovecs (EINVAL beyond); a longer span goes out in turns.
    const std::size_t count = std::min<std::size_t>(iov.size() - first, IOV_MAX);
    ssize_t n = ::writev(fd, iov.data() + first, static_cast<int>(count));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) {
        guard.raised();
        return false;
      }
      if (errno == ECONNRESET) return false;  // a data connection's peer is gone
      if (errno != EAGAIN) throw_errno("writev");
      if (poll_one(fd, POLLOUT, stall) == 0) {
        throw StalledFrame(total, written, stall ? stall->count() / 1000.0 : 0.0);
      }
      continue;
    }
    written += static_cast<std::size_t>(n);
    // Advance past what was written: a short write may end inside any iovec.
    auto left = static_cast<std::size_t>(n);
    while (first < iov.size() && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (first < iov.size()) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return true;
}

bool is_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && (flags & O_NONBLOCK) != 0;
}

void set_nonblocking(int fd, bool nonblocking) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) throw_errno("fcntl(F_GETFL)");
  flags = nonblocking ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (::fcntl(fd, F_SETFL, flags) < 0) throw_errno("fcntl(F_SETFL)");
}

bool close_cloexec_fds_except(std::span<const int> keep) noexcept {
  // Only async-signal-safe calls below: this runs between fork and the worker loop.
  int dir = ::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return false;
  alignas(8) char buffer[4096];
  for (;;) {
    long n = ::syscall(SYS_getdents64, dir, buffer, sizeof buffer);
    if (n <= 0) break;
    for (long offset = 0; offset < n;) {
      struct linux_dirent64 {
        ino64_t d_ino;
        off64_t d_off;
        unsigned short d_reclen;
        unsigned char d_type;
        char d_name[];
      };
      auto* entry = reinterpret_cast<linux_dirent64*>(buffer + offset);
      offset += entry->d_reclen;
      int fd = 0;
      const char* c = entry->d_name;
      if (*c < '0' || *c > '9') continue;
      for (; *c >= '0' && *c <= '9'; ++c) fd = fd * 10 + (*c - '0');
      if (fd == dir || std::find(keep.begin(), keep.end(), fd) != keep.end()) continue;
      int flags = ::fcntl(fd, F_GETFD);
      if (flags >= 0 && (flags & FD_CLOEXEC)) ::close(fd);
    }
  }
  ::close(dir);
  return true;
}

bool grow_pipe(int fd, std::size_t bytes) noexcept {
  const int current = ::fcntl(fd, F_GETPIPE_SZ);
  if (current < 0) return false;
  if (static_cast<std::size_t>(current) >= bytes) return true;
  return ::fcntl(fd, F_SETPIPE_SZ, static_cast<int>(std::min<std::size_t>(bytes, INT_MAX))) >= 0;
}

}  // namespace forkpool::io
