// Future<R>: the result of a submitted task, delivered once the task settles.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

#include "forkpool/detail/archive.h"
#include "forkpool/detail/future_state.h"

namespace forkpool {

// The result of a task that runs in a worker: Pool::submit() returns one. Copies share the task.
template <typename R>
class Future {
 public:
  Future() = default;
  // Made by the pool; not for users.
  explicit Future(std::shared_ptr<detail::FutureState> state) : state_(std::move(state)) {}

  // False for a default-constructed Future.
  bool valid() const { return state_ != nullptr; }
  // Where the task is: pending, running, value, error or cancelled.
  FutureStatus status() const { return state_->status(); }
  // True once the task has a value or an error.
  bool ready() const { return state_->ready(); }
  // Blocks until the task settles.
  void wait() const { state_->wait(); }
  // True if the task settled within `timeout`.
  template <typename Rep, typename Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
    return state_->wait_for(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  }

  // Calls `callback` once when the task settles: at once, in this thread, if it already has;
  // otherwise in whichever thread settles it, after the pool's lock is released: usually the
  // pool's collector thread (a result, a worker's death, a timeout), but the caller's thread
  // for cancel(), Pool::cancel_all() and Pool::terminate(), and a submitting thread whose task
  // could not be sent. It holds that thread up, so it must be quick and must not wait for or
  // submit to the pool (signal a condition variable, push to a queue). One callback per
  // future; a later call replaces one that has not run. For waiting on many futures at once,
  // in completion order.
  void on_ready(std::function<void()> callback) const { state_->on_settled(std::move(callback)); }

  // Cancels the task: a queued task is removed; a running one is asked to stop (Cancel; the
  // task may poll forkpool::this_task::cancelled()), and its worker is stopped and replaced
  // if it does not within Options::cancel_grace. The future settles at once with
  // TaskCancelled and status kCancelled. True if this call cancelled it; false if it had
  // already settled.
  bool cancel() const { return state_->cancel(); }

  // Waits, then returns the value or throws the task's error: RemoteError for an exception in
  // the task, WorkerDied, TaskTimeout, TaskCancelled, PoolClosed, MessageTooLarge,
  // ProtocolError. May be called again; each call decodes the value afresh.
  R get() const {
    wait();
    const detail::Payload& payload = state_->payload_or_throw();
    if constexpr (!std::is_void_v<R>) {
      R value{};
      detail::decode_values(payload, "task result", value);
      return value;
    }
  }

 private:
  std::shared_ptr<detail::FutureState> state_;
};

}  // namespace forkpool
