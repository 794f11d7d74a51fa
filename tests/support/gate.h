// Gate: lets a test synchronize with a task running in a worker, on real events (FIFOs), not
// sleeps. The task calls Gate::enter(dir) to announce itself (with its pid) and then
// Gate::await_release(dir) or never returns; the test calls wait_entered() and release().
#pragma once

#include <sys/types.h>

#include <string>

#include "io/fd.h"

namespace forkpool::testing {

class Gate {
 public:
  // Makes a fresh directory holding the "entered" and "release" FIFOs.
  Gate();
  ~Gate();
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;

  const std::string& dir() const { return dir_; }
  // Blocks until a task has entered; returns that task's worker pid. Several tasks may enter
  // one gate: each call takes the next.
  pid_t wait_entered();
  // Lets one task that waits in await_release(), or the next to call it, go on. Never blocks:
  // each call leaves one token in the gate, which exactly one task takes.
  void release();

  // Task side.
  static void enter(const std::string& dir);
  static void await_release(const std::string& dir);

 private:
  std::string dir_;
  io::Fd entered_;
  io::Fd release_;
};

}  // namespace forkpool::testing
