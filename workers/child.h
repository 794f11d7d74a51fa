// Child: one process this process started, owned until it is reaped.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>

#include "forkpool/errors.h"
#include "io/fd.h"

namespace forkpool::workers {

// Owns a child process: its pid and a pidfd that becomes readable when it exits (for epoll).
// Reaps only its own pid, never waitpid(-1). The destructor kills (SIGKILL) and reaps a child
// that is still running, so no zombie and no orphan outlives its owner.
class Child {
 public:
  Child() = default;
  // REQUIRES: `pid` is an unreaped child of this process.
  explicit Child(pid_t pid);
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  ~Child();

  pid_t pid() const { return pid_; }
  // Readable once the child has exited. Invalid if pidfd_open is unavailable.
  const io::Fd& pidfd() const { return pidfd_; }
  bool running() const { return pid_ > 0 && !status_; }

  // Sends `signal`; a no-op once the child has been reaped.
  void signal(int signal) const;
  // Reaps the child if it has exited. Returns its status once reaped.
  std::optional<ExitStatus> try_reap();
  // Blocks until the child exits and reaps it.
  ExitStatus wait();
  // Waits up to `grace` for the child to exit, then SIGKILLs and reaps it.
  ExitStatus wait_or_kill(std::chrono::milliseconds grace);
  const std::optional<ExitStatus>& status() const { return status_; }

 private:
  std::optional<ExitStatus> reap(bool block);

  pid_t pid_ = -1;
  io::Fd pidfd_;
  std::optional<ExitStatus> status_;
};

}  // namespace forkpool::workers
