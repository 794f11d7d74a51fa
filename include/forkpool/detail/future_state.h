// The state a Future shares with the pool. Implementation detail; not part of the stable API.
#pragma once

#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>

#include "forkpool/detail/payload.h"

namespace forkpool {

// Where a task is. Explicit, never inferred from the value: a task may return 0, "" or {}.
enum class FutureStatus { kPending, kRunning, kValue, kError, kCancelled };

namespace detail {

class FutureState {
 public:
  // Pool side. Each settles the state at most once; a second settle is ignored and returns
  // false (a late reply after the task was already failed must not resolve it again).
  void set_running();
  // Back from running to pending: its frame never reached a worker and it is queued again.
  void set_pending();
  bool set_value(Payload payload);
  bool set_error(std::exception_ptr error);
  // Settles it as cancelled; get() throws `error` (a TaskCancelled).
  bool set_cancelled(std::exception_ptr error);
  // How the pool cancels this task; set once, at submit, before the caller sees the future.
  void set_canceller(std::function<bool()> canceller) { canceller_ = std::move(canceller); }
  // Run by wait(), wait_for() and so get() before they wait: a call of a batch not yet sent
  // sends its batch, instead of waiting for ever. Set once, before the caller sees the future.
  void set_before_wait(std::function<void()> hook) { before_wait_ = std::move(hook); }

  // Caller side.
  FutureStatus status() const;
  bool ready() const;
  void wait() const;
  bool wait_for(std::chrono::nanoseconds timeout) const;
  // REQUIRES: ready(). The result bytes, or rethrows the error.
  const Payload& payload_or_throw() const;
  // Calls `callback` once when the state settles: at once, in this thread, if it already
  // has; otherwise in the thread that settles it, which may be the pool's collector, the bulk
  // writer, or a caller's thread (cancel, cancel_all, terminate, a refused submit); the pool
  // settles only after releasing its lock. Replaces an earlier callback that has not run.
  void on_settled(std::function<void()> callback);
  // Asks the pool to cancel the task. True if this call cancelled it; false if it had already
  // settled (or was never submitted to a pool).
  bool cancel();

 private:
  bool settle(FutureStatus status, Payload payload, std::exception_ptr error);

  mutable std::mutex mutex_;
  mutable std::condition_variable settled_;
  FutureStatus status_ = FutureStatus::kPending;
  Payload payload_;
  std::exception_ptr error_;
  std::function<void()> on_settled_;
  std::function<bool()> canceller_;
  std::function<void()> before_wait_;
};

}  // namespace detail
}  // namespace forkpool
