// TaskInput: bytes streamed to a task while it runs, over its worker's own connection (the
// data channel or the pipes), after GNU parallel's --pipe --round-robin on other hosts, whose
// jobs read block after block from one stdin. The built-in exec task takes them as its job's
// stdin when its request says so (ExecRequest::stdin_streamed).
//
// Flow control: the worker answers each send, once the task has taken its bytes (written them
// into the job's pipe), with an acknowledgement that on_taken() hears; a caller sends the next
// only after it, so neither side holds more than one send per task. The request's own bytes
// (ExecRequest::stdin_bytes) are acknowledged the same way: that first acknowledgement is the
// sign that the task runs and takes input.
#pragma once

#include <cstddef>
#include <functional>
#include <span>

#include "forkpool/future.h"
#include "forkpool/pool.h"

namespace forkpool {

class TaskInput {
 public:
  // What names a task in on_taken(): the key of its future.
  using Key = const void*;
  template <typename R>
  static Key key(const Future<R>& future) {
    return detail::FutureAccess::state(future).get();
  }

  // Sends `bytes` to the task of `future`, which must be running on a worker; with `end`, they
  // are its last input. Waits while another thread writes to that worker. Returns false, and
  // sends nothing, if the task is not running (queued, or settled); also if its worker could
  // not be written to (it died, or stopped reading for Options::stall_timeout): that worker
  // is dropped, and the task fails as its death says.
  template <typename R>
  static bool send(Pool& pool, const Future<R>& future, std::span<const char> bytes,
                   bool end = false) {
    return send_to(pool, key(future), bytes, end);
  }

  // `taken` is called with a task's key each time its worker says it took its input (the
  // request's own, then each send). It runs in the pool's collector thread, under the pool's
  // lock: it must be quick and must not call the pool (signal a condition variable, an
  // eventfd). Replaces an earlier listener; an empty one stops listening.
  static void on_taken(Pool& pool, std::function<void(Key)> taken);

 private:
  static bool send_to(Pool& pool, Key task, std::span<const char> bytes, bool end);
};

}  // namespace forkpool
