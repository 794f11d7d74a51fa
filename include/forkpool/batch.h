// Batch: many calls that travel to one worker in one frame (after Mercurial's wireproto
// batching).
//
//   forkpool::Batch batch = pool.batch();
//   auto a = batch.submit(square_task, 3);     // queued on the batch, not yet sent
//   auto b = batch.submit(greet_task, "x");
//   batch.send();                              // one Batch frame; or a.get() sends it first
//
// Results still arrive call by call, each resolving its own future, and a call's failure
// (an exception, a timeout, cancel()) is that call's alone. Consecutive calls of one function
// without TaskOptions of their own travel together as one task of the pool (a run), which
// costs a fraction of a task per call; that changes none of the above.
//
// A worker sends the replies of quick calls together, so if it dies, which of its unanswered
// calls had already run is lost with it: each of them runs again, alone, on another worker
// (the one that kills a worker then fails with WorkerDied by itself). A call that must not
// run twice takes a timeout (TaskOptions::timeout): calls with one are answered one by one,
// and a death fails only the call that was running, as it does for Pool::submit().
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <utility>

#include "forkpool/detail/task_call.h"
#include "forkpool/errors.h"
#include "forkpool/future.h"
#include "forkpool/options.h"
#include "forkpool/task.h"

namespace forkpool {

class Pool;
namespace detail {
class BatchState;
}

// Calls queued to travel together to one worker; Pool::batch() makes one. One thread at a time
// submits to a Batch (it encodes into a buffer of its own); its futures may be waited on, and
// so send it, from any thread.
class Batch {
 public:
  // Movable, not copyable: one owner sends the calls.
  Batch(Batch&&) noexcept;
  // Sends the calls this batch held, then takes the other's.
  Batch& operator=(Batch&&) noexcept;
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;
  // Sends the calls not yet sent, so that none is lost; errors then reach their futures.
  ~Batch();

  // Queues a call on the batch (the task as Pool::submit() takes it): encoded now, sent with
  // the batch. Throws BatchSent once the batch has been sent. get() or wait() on the returned
  // future sends the batch first.
  template <detail::TaskCallable F, typename... Values>
  Future<detail::CallResult<F>> submit(const F& task, Values&&... values) {
    return submit(TaskOptions{}, task, std::forward<Values>(values)...);
  }
  // The same, with a timeout or retries for this call only.
  template <detail::TaskCallable F, typename... Values>
  Future<detail::CallResult<F>> submit(const TaskOptions& call, const F& task, Values&&... values) {
    // Encoded into a buffer the batch keeps from call to call; add() copies it.
    const detail::TaskCallName called =
        detail::encode_task_call(scratch_, task, std::forward<Values>(values)...);
    return Future<detail::CallResult<F>>(add(called.function, called.name, scratch_, call));
  }

  // Hands every queued call to the pool at once; they reach one idle worker together, in as
  // few Batch frames as Options::max_frame allows. Idempotent. Throws what Pool::submit()
  // would (PoolClosed, PoolBroken, QueueFull), and then every call's future fails with it too.
  void send();
  // True once the batch has been sent.
  bool sent() const;
  // Calls queued and not cancelled (all of them, before send()).
  std::size_t size() const;

 private:
  friend class Pool;
  explicit Batch(std::shared_ptr<detail::BatchState> state);
  // `task`: the call's Task payload (detail/task_call.h), copied.
  std::shared_ptr<detail::FutureState> add(detail::TaskId function, const std::string* name,
                                           std::span<const char> task, const TaskOptions& call);

  std::shared_ptr<detail::BatchState> state_;
  detail::Payload scratch_;
};

}  // namespace forkpool
