// Future<R>: the result of a submitted task, delivered once the task settles.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>

#include "forkpool/detail/archive.h"
#include "forkpool/detail/future_state.h"
#include "forkpool/errors.h"

namespace forkpool {

// The result of a task that runs in a worker: Pool::submit() returns one. Copies share the task.
template <typename R>
class Future;

namespace detail {
// How forkpool's own templates (wait.h) reach a future's state.
struct FutureAccess {
  template <typename R>
  static const std::shared_ptr<FutureState>& state(const Future<R>& future) {
    return future.state_;
  }
};
}  // namespace detail

// Every member but valid() throws UsageError on a default-constructed Future, which has no task.
template <typename R>
class Future {
 public:
  Future() = default;
  // Made by the pool; not for users.
  explicit Future(std::shared_ptr<detail::FutureState> state) : state_(std::move(state)) {}

  // False for a default-constructed Future.
  bool valid() const { return state_ != nullptr; }
  // Where the task is: pending, running, value, error or cancelled.
  FutureStatus status() const { return state().status(); }
  // True once the task has a value or an error.
  bool ready() const { return state().ready(); }
  // Blocks until the task settles. Throws UsageError inside an on_ready callback of a future
  // of the same pool while this task is unfinished: the wait could never end.
  void wait() const { state().wait(); }
  // True if the task settled within `timeout`.
  template <typename Rep, typename Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
    return state().wait_for(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  }

  // Calls `callback` once when the task settles: at once, in this thread, if it already has;
  // otherwise in whichever thread settles it, after the pool's lock is released: usually the
  // pool's collector thread (a result, a worker's death, a timeout), but the caller's thread
  // for cancel(), Pool::cancel_all() and Pool::terminate(), and a submitting thread whose task
  // could not be sent. It holds that thread up, so it must be quick, must not throw, and must
  // not wait for, submit to, close or destroy the pool (signal a condition variable, push to a
  // queue); waiting, close(), destroying the pool and a submit that would wait for room in a
  // full queue (OnFull::kBlock) are refused there with UsageError. get()
  // of this future, which has settled, is fine. One callback per future; a later call replaces
  // one that has not run. Waiters are not held for it: the settling thread wakes the threads in
  // get() or wait() first and then runs the callback, so a waiter may return before the
  // callback has run or while it runs; to act once the callback has run, have the callback
  // signal. To wait on many futures at once, see forkpool/wait.h.
  void on_ready(std::function<void()> callback) const { state().on_settled(std::move(callback)); }

  // Cancels the task: a queued task is removed; a running one is asked to stop (Cancel; the
  // task may poll forkpool::this_task::cancelled()), and its worker is stopped and replaced
  // if it does not within Options::cancel_grace. The future settles at once with
  // TaskCancelled and status kCancelled. True if this call cancelled it; false if it had
  // already settled.
  bool cancel() const { return state().cancel(); }

  // Waits, then returns the value or throws the task's error: RemoteError for an exception in
  // the task, WorkerDied, TaskTimeout, TaskCancelled, PoolClosed, MessageTooLarge,
  // ProtocolError. May be called again; each call decodes the value afresh.
  R get() const {
    wait();
    const std::span<const char> payload = state().payload_or_throw();
    if constexpr (!std::is_void_v<R>) {
      R value{};
      detail::decode_values(payload, "task result", value);
      return value;
    }
  }

  // get(), decoding into `value` instead of a new one. A container keeps its storage where it
  // is big enough: a std::vector or std::string as large as the result is not allocated again.
  // For large results received one after another into one value: a new 64 MiB vector is
  // fresh memory, whose first write faults in every page (bench/README.md, "One large
  // result"). Throws as get() does; after a throw, `value` holds what its type's decoder left.
  template <typename T = R>  // a template only so that Future<void> has none
  requires(std::is_same_v<T, R> && !std::is_void_v<R>) void get_into(T& value) const {
    wait();
    detail::decode_values(state().payload_or_throw(), "task result", value);
  }

 private:
  friend struct detail::FutureAccess;

  detail::FutureState& state() const {
    if (!state_) {
      throw UsageError(
          "this Future is default-constructed and has no task; assign it the result of "
          "Pool::submit() or Batch::submit() first (valid() tells)");
    }
    return *state_;
  }

  std::shared_ptr<detail::FutureState> state_;
};

}  // namespace forkpool
