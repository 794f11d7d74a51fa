#include "support/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;

// waitpid, retried on EINTR; the wait status.
int reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// A signal handler reaches only globals; lock-free atomics are safe to touch from one.
std::atomic<int> g_interrupts{0};
std::atomic<int> g_ack_fd{-1};

void count_and_acknowledge(int) {
  const int saved_errno = errno;
  g_interrupts.fetch_add(1);
  const char byte = '!';
  [[maybe_unused]] ssize_t ignored = ::write(g_ack_fd.load(), &byte, 1);
  errno = saved_errno;
}

// The scheduler state of `pid` ('R', 'S', ...) from /proc/<pid>/stat; '?' if unreadable.
// The state follows the last ')', since the command name in parentheses may hold anything.
char process_state(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() ? '?' : line[paren + 2];
}

}  // namespace

ForkedChild::ForkedChild(ForkedChild&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}

ForkedChild::~ForkedChild() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  reap(pid_);
}

ExitStatus ForkedChild::wait() {
  const int status = reap(pid_);
  pid_ = -1;
  return ExitStatus::from_wait_status(status);
}

std::optional<ExitStatus> ForkedChild::wait_for(std::chrono::milliseconds deadline,
                                                std::string& why) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd < 0) throw std::system_error(errno, std::generic_category(), "pidfd_open");
  pollfd ready{pidfd, POLLIN, 0};
  const auto until = std::chrono::steady_clock::now() + deadline;
  int n = 0;
  do {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    n = ::poll(&ready, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
  } while (n < 0 && errno == EINTR);
  const int poll_error = errno;
  ::close(pidfd);
  if (n < 0) throw std::system_error(poll_error, std::generic_category(), "poll on a pidfd");
  if (n > 0) return wait();
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  why = "pid " + std::to_string(pid_) + " still running after " + std::to_string(deadline.count()) +
        " ms:";
  for (std::string line; std::getline(status, line);) {
    for (const char* field : {"State:", "SigPnd:", "ShdPnd:", "SigBlk:", "SigIgn:", "SigCgt:"}) {
      if (line.rfind(field, 0) == 0) why += " " + line;
    }
  }
  ::kill(pid_, SIGKILL);
  reap(pid_);
  pid_ = -1;
  return std::nullopt;
}

InterruptingSignal::InterruptingSignal(const io::Fd& ack) {
  g_interrupts = 0;
  g_ack_fd = ack.get();
  struct sigaction action {};
  action.sa_handler = count_and_acknowledge;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: the point is that blocked calls fail with EINTR
  if (::sigaction(SIGUSR1, &action, &previous_) != 0) {
    g_ack_fd = -1;
    throw std::system_error(errno, std::generic_category(), "sigaction SIGUSR1");
  }
}

InterruptingSignal::~InterruptingSignal() {
  ::sigaction(SIGUSR1, &previous_, nullptr);
  g_ack_fd = -1;
}

int InterruptingSignal::count() const { return g_interrupts.load(); }

bool wait_until_sleeping(pid_t pid) {
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (process_state(pid) != 'S') {
    if (std::chrono::steady_clock::now() > give_up) return false;
    ::sched_yield();
  }
  return true;
}

bool wait_until_in_poll(pid_t pid) {
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  const std::string path = "/proc/" + std::to_string(pid) + "/syscall";
  for (;;) {
    std::ifstream syscall_file(path);
    if (!syscall_file) {
      // Unreadable (no ptrace access here): say so now rather than after 30 s.
      std::fprintf(stderr, "wait_until_in_poll: cannot read %s\n", path.c_str());
      return false;
    }
    long number = -1;  // stays -1 for "running"
    syscall_file >> number;
#ifdef SYS_poll
    if (number == SYS_poll) return true;
#endif
#ifdef SYS_ppoll_time64
    if (number == SYS_ppoll_time64) return true;
#endif
    if (number == SYS_ppoll) return true;
    if (std::chrono::steady_clock::now() > give_up) return false;
    ::sched_yield();
  }
}

bool interrupt_while_blocked(pid_t pid, const io::Fd& ack, int times) {
  for (int i = 0; i < times; ++i) {
    if (!wait_until_sleeping(pid) || ::kill(pid, SIGUSR1) != 0) return false;
    pollfd p{ack.get(), POLLIN, 0};
    char byte;
    if (::poll(&p, 1, 10'000) != 1 || ::read(ack.get(), &byte, 1) != 1) return false;
  }
  return true;
}

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) >= 0 || errno != EBADF; }

bool is_close_on_exec(int fd) {
  const int flags = ::fcntl(fd, F_GETFD);
  return flags >= 0 && (flags & FD_CLOEXEC) != 0;
}

}  // namespace forkpool::testing
