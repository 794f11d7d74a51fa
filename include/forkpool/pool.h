// Pool: worker processes that run registered tasks.
//
//   forkpool::Pool pool({.workers = 4});
//   auto f = pool.submit(square_task, 7);          // Future<int>
//   for (int y : pool.map(square_task, inputs)) …   // in order, bounded in flight
//   pool.close();                                   // finishes queued work; the destructor does it
//   too
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <deque>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "forkpool/batch.h"
#include "forkpool/detail/task_call.h"
#include "forkpool/errors.h"
#include "forkpool/future.h"
#include "forkpool/options.h"
#include "forkpool/task.h"

namespace forkpool {

namespace orchestrator {
class PoolCore;
}

template <typename R, typename View, bool Ordered>
class MapResults;

// Counts since the pool started (Pool::stats()): every submitted task ends in one of completed,
// failed or cancelled.
struct PoolStats {
  // Tasks submitted, map chunks counted by call.
  std::uint64_t submitted = 0;
  std::uint64_t completed = 0;      // settled with a value or a task's own exception
  std::uint64_t failed = 0;         // settled with WorkerDied, ProtocolError, PoolClosed, ...
  std::uint64_t requeued = 0;       // waited in the pipe of a worker that died; ran elsewhere
  std::uint64_t cancelled = 0;      // settled by cancel() or cancel_all()
  std::uint64_t timed_out = 0;      // attempts that ran past their timeout
  std::uint64_t retried = 0;        // attempts run again after a failure
  std::uint64_t worker_deaths = 0;  // workers that died unasked (not stopped, recycled or retired)
  // Worker processes started, replacements included.
  std::uint64_t workers_started = 0;
  std::uint64_t workers_stopped = 0;   // stopped after a timeout or an unacknowledged cancel
  std::uint64_t workers_recycled = 0;  // replaced after max_tasks_per_worker
  std::uint64_t workers_retired = 0;   // exited after idle_timeout
  // Now, rather than since the start: workers alive and not leaving; tasks waiting in the
  // queue; tasks a worker holds (running, or waiting in its pipe).
  std::uint64_t workers_alive = 0;
  std::uint64_t queued = 0;
  std::uint64_t in_workers = 0;
  // Whole frames (headers included) written to workers and read from them.
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
};

// An Options::initializer: `task` called with `values` in every worker before its first task.
template <typename R, typename... Args, typename... Values>
Initializer initializer(const Task<R (*)(Args...)>& task, Values&&... values) {
  static_assert(sizeof...(Args) == sizeof...(Values), "wrong number of task arguments");
  return Initializer{task.id(), &task.name(),
                     detail::encode_arguments<Args...>(std::forward<Values>(values)...)};
}

// A pool of worker processes that run registered tasks; see the file comment.
class Pool {
 public:
  // Starts the workers (in the background: submit() may be called at once).
  explicit Pool(Options options = {});
  // close(): finishes queued work, then stops and reaps every worker. Inside an on_ready
  // callback of this pool it cannot, and ends the program with a UsageError that says so.
  // NOLINTNEXTLINE(bugprone-exception-escape): that end is on purpose (see pool.cc)
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Queues a call of a registered task: a Task handle (FORKPOOL_TASK), or the function itself,
  // which must be registered (UnknownTask otherwise). The values are converted to the task's
  // parameter types and encoded now, in the calling thread.
  // Throws PoolClosed after close() or terminate(), PoolBroken after a crash loop.
  // An argument larger than Options::max_frame fails only the returned future (MessageTooLarge).
  template <detail::TaskCallable F, typename... Values>
  Future<detail::CallResult<F>> submit(const F& task, Values&&... values) {
    return submit(TaskOptions{}, task, std::forward<Values>(values)...);
  }
  // The same, with a timeout or retries for this call only.
  template <detail::TaskCallable F, typename... Values>
  Future<detail::CallResult<F>> submit(const TaskOptions& call, const F& task, Values&&... values) {
    detail::Payload payload;
    const detail::TaskCallName called =
        detail::encode_task_call(payload, task, std::forward<Values>(values)...);
    return Future<detail::CallResult<F>>(
        submit_encoded(called.function, called.name, std::move(payload), call));
  }

  // Calls a one-argument task on every element of `inputs` and yields the results in input
  // order. Lazy and bounded: the calls travel in chunks (MapOptions::chunk), at most
  // MapOptions::window chunks are in flight, and inputs are read only as results are
  // consumed, so a map over ten million items runs in bounded memory. An element whose call
  // failed throws its error when it is reached; the rest go on. Destroying the results before
  // the end cancels the chunks still in flight.
  template <typename R, typename Arg, typename Range>
  auto map(const Task<R (*)(Arg)>& task, Range&& inputs, MapOptions options = {}) {
    auto view = std::views::all(std::forward<Range>(inputs));
    return MapResults<R, decltype(view), true>(*this, task, std::move(view), options);
  }
  // The same, yielding each result as soon as its chunk is back, in no particular order.
  template <typename R, typename Arg, typename Range>
  auto map_unordered(const Task<R (*)(Arg)>& task, Range&& inputs, MapOptions options = {}) {
    auto view = std::views::all(std::forward<Range>(inputs));
    return MapResults<R, decltype(view), false>(*this, task, std::move(view), options);
  }

  // A batch of calls that travel to one worker together; see forkpool/batch.h.
  Batch batch();

  // Stops intake, finishes every queued and running task, sends Shutdown, waits
  // Options::shutdown_grace for the workers to exit (then kills them), and reaps them all.
  // Idempotent.
  void close();
  // Cancels every task submitted so far and not yet settled, as Future::cancel() does; returns
  // how many it cancelled. The pool stays open.
  std::size_t cancel_all();
  // Stops intake, kills every worker now, and fails every unfinished task with PoolClosed.
  void terminate();

  // The worker processes alive now (for monitoring and tests).
  std::vector<pid_t> worker_pids() const;
  // The number of workers the pool keeps.
  unsigned workers() const;
  // What the pool has done so far; see PoolStats.
  PoolStats stats() const;
  // Describes how workers start ("forkserver (zygote pid 123)", "spawn /path", ...).
  std::string start_description() const;

 private:
  template <typename R, typename View, bool Ordered>
  friend class MapResults;
  friend class TaskInput;  // forkpool/task_input.h

  // `task`: the call's Task payload (detail/task_call.h).
  std::shared_ptr<detail::FutureState> submit_encoded(detail::TaskId function,
                                                      const std::string* name, detail::Payload task,
                                                      const TaskOptions& call = {});
  // A map chunk of `calls` calls (detail/chunk.h); a pool task_timeout applies to each call,
  // so the chunk's is `calls` times as long.
  std::shared_ptr<detail::FutureState> submit_chunk(detail::TaskId function,
                                                    const std::string* name,
                                                    const detail::Payload& chunk,
                                                    std::size_t calls);
  std::size_t map_window() const;
  std::size_t max_frame() const;

  std::unique_ptr<orchestrator::PoolCore> core_;
};

}  // namespace forkpool

// MapResults needs Pool complete; it comes last so that either header may be included first.
#include "forkpool/map.h"
