#include "io/epoll.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <limits>
#include <system_error>

namespace forkpool::io {
namespace {
[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}
}  // namespace

Epoll::Epoll() : fd_(::epoll_create1(EPOLL_CLOEXEC)) {
  if (!fd_) throw_errno("epoll_create1");
}

void Epoll::add(const Fd& fd, std::uint32_t events, std::uint64_t data) {
  epoll_event event{};
  event.events = events;
  event.data.u64 = data;
  if (::epoll_ctl(fd_.get(), EPOLL_CTL_ADD, fd.get(), &event) != 0) throw_errno("epoll_ctl(ADD)");
}

void Epoll::remove(const Fd& fd) {
  if (fd) ::epoll_ctl(fd_.get(), EPOLL_CTL_DEL, fd.get(), nullptr);
}

std::size_t Epoll::wait(std::span<epoll_event> out, Deadline wait) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  for (;;) {
    int timeout = -1;
    if (wait) {
      auto left =
          *wait - std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
      // Clamped: a wait of weeks must not wrap around into a negative (infinite) timeout.
      timeout = static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(
          left.count(), 0, std::numeric_limits<int>::max()));
    }
    int n = ::epoll_wait(fd_.get(), out.data(), static_cast<int>(out.size()), timeout);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) throw_errno("epoll_wait");
  }
}

EventFd::EventFd() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!fd_) throw_errno("eventfd");
}

void EventFd::signal() {
  const std::uint64_t one = 1;
  // A full counter (EAGAIN) still leaves the eventfd readable, which is all a signal means.
  while (::write(fd_.get(), &one, sizeof one) < 0 && errno == EINTR) {
  }
}

void EventFd::clear() {
  std::uint64_t count;
  while (::read(fd_.get(), &count, sizeof count) < 0 && errno == EINTR) {
  }
}

}  // namespace forkpool::io
