#include "workers/child.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "io/syscalls.h"

namespace forkpool::workers {

Child::Child(pid_t pid) : pid_(pid) {
  // The pid cannot be reused before we reap it, so opening the pidfd now is race-free.
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd >= 0) {
    pidfd_.reset(fd);  // pidfds are close-on-exec by default
  }
}

Child::Child(Child&& other) noexcept
    : pid_(other.pid_), pidfd_(std::move(other.pidfd_)), status_(other.status_) {
  other.pid_ = -1;
}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    if (running()) {
      signal(SIGKILL);
      wait();
    }
    pid_ = other.pid_;
    pidfd_ = std::move(other.pidfd_);
    status_ = other.status_;
    other.pid_ = -1;
  }
  return *this;
}

Child::~Child() {
  if (running()) {
    signal(SIGKILL);
    wait();
  }
}

void Child::signal(int sig) const {
  if (!running()) return;
  // Through the pidfd where we have one: it can never hit a recycled pid.
  if (pidfd_ && ::syscall(SYS_pidfd_send_signal, pidfd_.get(), sig, nullptr, 0) == 0) return;
  ::kill(pid_, sig);
}

std::optional<ExitStatus> Child::reap(bool block) {
  if (status_ || pid_ <= 0) return status_;
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    if (r == pid_) {
      status_ = ExitStatus::from_wait_status(status);
      return status_;
    }
    if (r == 0) return std::nullopt;
    if (errno == EINTR) continue;
    // ECHILD: someone else reaped it (SIGCHLD set to SIG_IGN by the program). It is gone,
    // with an unknown status.
    status_ = ExitStatus::exited(-1);
    return status_;
  }
}

std::optional<ExitStatus> Child::try_reap() { return reap(false); }

ExitStatus Child::wait() { return *reap(true); }

ExitStatus Child::wait_or_kill(std::chrono::milliseconds grace) {
  if (auto done = try_reap()) return *done;
  if (pidfd_) {
    if (io::poll_one(pidfd_.get(), POLLIN, grace) != 0) return wait();
  }
  signal(SIGKILL);
  return wait();
}

}  // namespace forkpool::workers
