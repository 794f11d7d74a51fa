// Epoll and EventFd: waiting on many descriptors at once, and waking that wait.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <span>

#include "io/fd.h"
#include "io/syscalls.h"

namespace forkpool::io {

class Epoll {
 public:
  // Throws std::system_error.
  Epoll();
  // Watches `fd` for `events` (EPOLLIN, ...), reporting `data` with each event.
  void add(const Fd& fd, std::uint32_t events, std::uint64_t data);
  // Stops watching `fd`; a no-op if it was not watched.
  void remove(const Fd& fd);
  // Waits for events, retrying on EINTR with the remaining time. Returns how many of `out`
  // were filled; 0 if `wait` elapsed.
  std::size_t wait(std::span<epoll_event> out, Deadline wait);

 private:
  Fd fd_;
};

// An eventfd: any thread may signal(); the waiting thread sees it readable and clear()s it.
class EventFd {
 public:
  EventFd();
  void signal();
  void clear();
  const Fd& fd() const { return fd_; }

 private:
  Fd fd_;
};

}  // namespace forkpool::io
