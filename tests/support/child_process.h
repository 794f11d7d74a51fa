// Child processes for tests: a forked child that is always reaped, the signal handshake that
// interrupts a process while it is blocked in a system call, and what a child inherits of this
// process's descriptors. Written with plain syscalls, not with the io/ code the tests exercise,
// so that a bug under test cannot hide itself in its own test.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <system_error>

#include "forkpool/errors.h"
#include "io/fd.h"

namespace forkpool::testing {

// ---- A forked child ---------------------------------------------------------------------------

// What ExitStatus::str() says for a child that exited with code 0.
inline constexpr const char* kExitedCleanly = "exited with code 0";

// A forked child. The test must wait() for it; if the test ends early (a failed ASSERT, an
// exception), the destructor kills and reaps it so that no later test inherits it.
class ForkedChild {
 public:
  explicit ForkedChild(pid_t pid) : pid_(pid) {}
  ForkedChild(ForkedChild&& other) noexcept;
  ForkedChild& operator=(ForkedChild&&) = delete;
  ~ForkedChild();

  // Blocks until the child ends and reaps it; afterwards this object owns no process.
  // REQUIRES: not waited for before.
  ExitStatus wait();
  // wait(), for at most `deadline`: past it, nullopt, and `why` says what the child was doing
  // (its state and its signal masks, from /proc), and the child is killed and reaped.
  std::optional<ExitStatus> wait_for(std::chrono::milliseconds deadline, std::string& why);
  // The child's pid; -1 once waited for.
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
};

// Forks a child that runs `body` (returning int) and _exits with its result, or with 99 if
// `body` threw. _exit, not exit: the child must not run the test binary's atexit handlers or
// flush stdio buffers it shares with the parent. Throws std::system_error if fork fails.
// REQUIRES: no other thread is running, since `body` may allocate and fork copies only the
// calling thread (a lock held elsewhere would stay locked in the child for ever).
template <typename Body>
ForkedChild fork_child(Body body) {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    int code = 99;
    try {
      code = body();
    } catch (...) {
    }
    ::_exit(code);
  }
  return ForkedChild(pid);
}

// ---- Interrupting a blocked process -----------------------------------------------------------

// While it lives, SIGUSR1 runs a handler installed *without* SA_RESTART, so a blocked read(2),
// write(2) or poll(2) in this process fails with EINTR (or a write returns short) instead of
// being restarted by the kernel. The handler counts and writes one byte to `ack`, so that the
// sender (see interrupt_while_blocked) knows it ran. The previous action comes back on
// destruction. Throws std::system_error if the handler cannot be installed.
// REQUIRES: one at a time in a process; `ack` stays open while this lives.
class InterruptingSignal {
 public:
  explicit InterruptingSignal(const io::Fd& ack);
  ~InterruptingSignal();
  InterruptingSignal(const InterruptingSignal&) = delete;
  InterruptingSignal& operator=(const InterruptingSignal&) = delete;

  // How many times the handler has run since construction.
  int count() const;

 private:
  struct sigaction previous_ {};
};

// Spins until `pid` is in state 'S' in /proc/<pid>/stat: asleep in a blocking call. This is the
// synchronization, so it watches the real state instead of sleeping. False if `pid` is not
// seen asleep within 10 s.
bool wait_until_sleeping(pid_t pid);

// Spins until `pid` is blocked in poll(2) (the syscall number in /proc/<pid>/syscall): for a
// process whose next blocking call is known, proof that it got that far. False if not seen
// there within 30 s.
bool wait_until_in_poll(pid_t pid);

// Meant for a child of the process `pid`, which holds an InterruptingSignal whose `ack` pipe
// this reads from: `times` times, waits until `pid` is blocked, sends it SIGUSR1 and waits (up
// to 10 s) for the handler's byte on `ack`. False if `pid` never blocked or never acknowledged.
bool interrupt_while_blocked(pid_t pid, const io::Fd& ack, int times);

// ---- What a child inherits --------------------------------------------------------------------

// These take a descriptor number, not an Fd, because tests ask about numbers whose owner has
// already closed them.

// True if `fd` is an open descriptor of this process.
bool is_open(int fd);

// True if `fd` is open and close-on-exec: a program this process executes will not have it.
bool is_close_on_exec(int fd);

}  // namespace forkpool::testing
