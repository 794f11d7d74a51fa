// The state a Future shares with the pool. Implementation detail; not part of the stable API.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "forkpool/detail/payload.h"
#include "forkpool/detail/ready_set.h"
#include "forkpool/detail/result_bytes.h"
#include "forkpool/detail/small_mutex.h"

namespace forkpool {

// Where a task is. Explicit, never inferred from the value: a task may return 0, "" or {}.
enum class FutureStatus { kPending, kRunning, kValue, kError, kCancelled };

namespace detail {

// True if this thread is running an on_ready callback (or one nested inside it) of a future
// whose state has `owner` (FutureState::set_owner). The pool refuses to wait, close or be
// destroyed there: the thread may be its collector, which alone can settle the future or end.
bool in_ready_callback_of(const void* owner);

class FutureState;

// A new state. Its memory comes from a block of 32 the submitting thread allocates (an
// allocation per call, made in the submitting thread and mostly freed elsewhere, cost more
// than everything else a tiny call does in the caller's thread), but each state has its own
// count and is destroyed, with the result bytes it holds, by its last holder: only its slot's
// few hundred bytes wait for the block's other states.
std::shared_ptr<FutureState> make_future_state();

// What a future asks of whoever holds its task: the pool, or a batch not yet sent. One object
// serves every future of a pool or of a batch, shared, instead of closures made per future on
// submit's hot path.
class FutureHooks {
 public:
  virtual ~FutureHooks() = default;
  // Cancels the task whose future has `state`. True if this call cancelled it.
  virtual bool cancel(FutureState& state) = 0;
  // Run by a wait on an unsettled state before it blocks: a call of a batch not yet sent
  // sends its batch, instead of waiting for ever.
  virtual void before_wait() {}
};

class FutureState {
 public:
  // Pool side. Each settles the state at most once; a second settle is ignored and returns
  // false (a late reply after the task was already failed must not resolve it again).
  void set_running();
  // Back from running to pending: its frame never reached a worker and it is queued again.
  void set_pending();
  bool set_value(ResultBytes&& value);
  bool set_error(std::exception_ptr error);
  // Settles it as cancelled; get() throws `error` (a TaskCancelled).
  bool set_cancelled(std::exception_ptr error);
  // How cancel() and a wait reach the pool or batch that holds the task. Set once, at
  // submit, before the caller sees the future.
  void set_hooks(std::shared_ptr<FutureHooks> hooks) { hooks_ = std::move(hooks); }
  // The pool whose collector settles this state (any stable address that names it). Set before
  // the caller sees the future; on_ready callbacks then run marked as that pool's.
  void set_owner(const void* owner);

  // Caller side.
  FutureStatus status() const;
  bool ready() const;
  // Throws UsageError, instead of waiting for ever, inside an on_ready callback of the same
  // pool while the state has not settled.
  void wait() const;
  // Bounded, so not refused inside a callback (a zero timeout polls).
  bool wait_for(std::chrono::nanoseconds timeout) const;
  // What wait() does before it blocks: the UsageError check, then the before-wait hook (which
  // sends an unsent batch). For waiting on many states through a ReadySet.
  void prepare_wait() const;
  // REQUIRES: ready(). The result bytes (valid while the state lives), or rethrows the error.
  std::span<const char> payload_or_throw() const;
  // REQUIRES: ready(). The error it settled with; null if it has a value.
  std::exception_ptr error() const;
  // Calls `callback` once when the state settles: at once, in this thread, if it already
  // has; otherwise in the thread that settles it, which may be the pool's collector, the bulk
  // writer, or a caller's thread (cancel, cancel_all, terminate, a refused submit); the pool
  // settles only after releasing its lock. Replaces an earlier callback that has not run.
  // Waiters are woken before it runs (Future::on_ready says why that order is kept).
  void on_settled(std::function<void()> callback);
  // Asks the pool to cancel the task. True if this call cancelled it; false if it had already
  // settled (or was never submitted to a pool).
  bool cancel();
  // Pushes `index` into `set` once the state settles (at once if it has). Any number of sets
  // may watch one state. REQUIRES: unwatch(set) before `set` is destroyed.
  void watch(ReadySet* set, std::size_t index);
  void unwatch(ReadySet* set);

 private:
  struct Watcher {
    ReadySet* set;
    std::size_t index;
  };
  // By reference: a tiny result is moved once, into the state, not through each call.
  bool settle(FutureStatus status, ResultBytes&& value, std::exception_ptr&& error);
  // Runs an on_ready callback marked as this state's owner's (in_ready_callback_of).
  static void run_callback(const std::function<void()>& callback, const void* owner);

  mutable SmallMutex mutex_;
  FutureStatus status_ = FutureStatus::kPending;
  ResultBytes value_;
  std::exception_ptr error_;
  std::function<void()> on_settled_;
  std::shared_ptr<FutureHooks> hooks_;
  // 1 once settled (under the mutex, after the outcome): a wait on a settled state returns
  // without the locks and hooks a real wait needs, as get() after get() usually does. A wait
  // sleeps on it (a futex) rather than on a condition variable: a condition variable's waiter
  // takes the mutex back marked contended, so each woken get() paid a futex wake more; and
  // settle() makes no syscall unless someone waits (waiters_).
  std::atomic<std::uint32_t> settled_flag_{0};
  mutable std::atomic<std::uint32_t> waiters_{0};
  // Atomic, not under the mutex: set once per submit, on the hot path, after the pool may
  // already see the state; read under the mutex, after the caller's on_settled() took it.
  std::atomic<const void*> owner_{nullptr};
  std::vector<Watcher> watchers_;
};

}  // namespace detail
}  // namespace forkpool
