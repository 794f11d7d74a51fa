// Pool: worker processes that run registered tasks.
//
//   forkpool::Pool pool({.workers = 4});
//   auto f = pool.submit(square_task, 7);          // Future<int>
//   for (int y : pool.map(square_task, inputs)) …   // in order, bounded in flight
//   pool.close();                                   // finishes queued work; the destructor does it too
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

#include "forkpool/errors.h"
#include "forkpool/future.h"
#include "forkpool/options.h"
#include "forkpool/task.h"

namespace forkpool {

namespace orchestrator {
class PoolCore;
}

template <typename R, typename View>
class MapResults;

struct PoolStats {
  std::uint64_t submitted = 0;
  std::uint64_t completed = 0;  // settled with a value or a task's own exception
  std::uint64_t failed = 0;     // settled with WorkerDied, ProtocolError, PoolClosed, ...
  std::uint64_t requeued = 0;  // waited in the pipe of a worker that died; ran elsewhere
  std::uint64_t cancelled = 0;  // settled by cancel() or cancel_all()
  std::uint64_t timed_out = 0;  // attempts that ran past their timeout
  std::uint64_t retried = 0;    // attempts run again after a failure
  std::uint64_t worker_deaths = 0;  // workers that died unasked (not stopped, recycled or retired)
  std::uint64_t workers_started = 0;
  std::uint64_t workers_stopped = 0;  // stopped after a timeout or an unacknowledged cancel
  std::uint64_t workers_recycled = 0;  // replaced after max_tasks_per_worker
  std::uint64_t workers_retired = 0;   // exited after idle_timeout
};

// An Options::initializer: `task` called with `values` in every worker before its first task.
template <typename R, typename... Args, typename... Values>
Initializer initializer(const Task<R (*)(Args...)>& task, Values&&... values) {
  static_assert(sizeof...(Args) == sizeof...(Values), "wrong number of task arguments");
  Initializer init{task.id(), &task.name(), {}};
  if constexpr (sizeof...(Args) > 0) {
    detail::encode_values(init.args, static_cast<const std::decay_t<Args>&>(
                                          std::decay_t<Args>(std::forward<Values>(values)))...);
  }
  return init;
}

class Pool {
 public:
  // Starts the workers (in the background: submit() may be called at once).
  explicit Pool(Options options = {});
  // close(): finishes queued work, then stops and reaps every worker.
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Queues a call of a registered task. The values are converted to the task's parameter
  // types and encoded now, in the calling thread.
  // Throws PoolClosed after close() or terminate(), PoolBroken after a crash loop.
  // An argument larger than Options::max_frame fails only the returned future (MessageTooLarge).
  template <typename R, typename... Args, typename... Values>
  Future<R> submit(const Task<R (*)(Args...)>& task, Values&&... values) {
    static_assert(sizeof...(Args) == sizeof...(Values), "wrong number of task arguments");
    return Future<R>(submit_encoded(task.id(), &task.name(),
                                    encode_arguments<Args...>(std::forward<Values>(values)...)));
  }

  // The same, naming the function itself; it must be registered with FORKPOOL_TASK
  // (UnknownTask otherwise).
  template <typename R, typename... Args, typename... Values>
  Future<R> submit(R (*function)(Args...), Values&&... values) {
    static_assert(sizeof...(Args) == sizeof...(Values), "wrong number of task arguments");
    const detail::TaskEntry& entry = registered(reinterpret_cast<detail::ErasedFunction>(function));
    return Future<R>(submit_encoded(entry.id, &entry.name,
                                    encode_arguments<Args...>(std::forward<Values>(values)...)));
  }

  // The same, with a timeout or retries for this call only.
  template <typename R, typename... Args, typename... Values>
  Future<R> submit(const TaskOptions& call, const Task<R (*)(Args...)>& task,
                   Values&&... values) {
    static_assert(sizeof...(Args) == sizeof...(Values), "wrong number of task arguments");
    return Future<R>(submit_encoded(task.id(), &task.name(),
                                    encode_arguments<Args...>(std::forward<Values>(values)...),
                                    call));
  }
  template <typename R, typename... Args, typename... Values>
  Future<R> submit(const TaskOptions& call, R (*function)(Args...), Values&&... values) {
    static_assert(sizeof...(Args) == sizeof...(Values), "wrong number of task arguments");
    const detail::TaskEntry& entry = registered(reinterpret_cast<detail::ErasedFunction>(function));
    return Future<R>(submit_encoded(entry.id, &entry.name,
                                    encode_arguments<Args...>(std::forward<Values>(values)...),
                                    call));
  }

  // Calls a one-argument task on every element of `inputs` and yields the results in input
  // order. Lazy: at most Options::map_window tasks are in flight, and inputs are read only as
  // results are consumed, so a map over ten million items runs in bounded memory. An element
  // whose task failed throws its error when it is reached; the rest go on.
  template <typename R, typename Arg, typename Range>
  auto map(const Task<R (*)(Arg)>& task, Range&& inputs) {
    auto view = std::views::all(std::forward<Range>(inputs));
    return MapResults<R, decltype(view)>(*this, task, std::move(view), map_window());
  }

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
  PoolStats stats() const;
  // Describes how workers start ("forkserver (zygote pid 123)", "spawn /path", ...).
  std::string start_description() const;

 private:
  template <typename... Args, typename... Values>
  static detail::Payload encode_arguments(Values&&... values) {
    detail::Payload args;
    if constexpr (sizeof...(Args) > 0) {
      // Encode as the parameter types the worker will decode, not as the caller's types.
      detail::encode_values(args, static_cast<const std::decay_t<Args>&>(
                                      std::decay_t<Args>(std::forward<Values>(values)))...);
    }
    return args;
  }
  static const detail::TaskEntry& registered(detail::ErasedFunction function);
  std::shared_ptr<detail::FutureState> submit_encoded(detail::TaskId function,
                                                      const std::string* name,
                                                      detail::Payload args,
                                                      const TaskOptions& call = {});
  std::size_t map_window() const;

  std::unique_ptr<orchestrator::PoolCore> core_;
};

// The lazy, ordered results of Pool::map. An input range: iterate it once.
template <typename R, typename View>
class MapResults {
  static_assert(!std::is_void_v<R>, "map needs a task that returns a value");

 public:
  template <typename Arg>
  MapResults(Pool& pool, const Task<R (*)(Arg)>& task, View view, std::size_t window)
      : pool_(&pool),
        submit_([&task](Pool& p, auto&& value) { return p.submit(task, value); }),
        view_(std::move(view)),
        next_(std::ranges::begin(view_)),
        window_(window == 0 ? 1 : window) {}
  // Not movable: the input iterator points into the owned view. Returned by Pool::map as a
  // prvalue, so `auto results = pool.map(...)` and range-for both work.
  MapResults(const MapResults&) = delete;
  MapResults& operator=(const MapResults&) = delete;

  class iterator {
   public:
    using value_type = R;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(MapResults* owner) : owner_(owner) {}
    const R& operator*() const { return owner_->current(); }
    const R* operator->() const { return &owner_->current(); }
    iterator& operator++() {
      owner_->advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return owner_->done(); }

   private:
    MapResults* owner_ = nullptr;
  };

  iterator begin() {
    fill();
    return iterator(this);
  }
  std::default_sentinel_t end() { return {}; }

 private:
  using Submit = std::function<Future<R>(Pool&, const std::ranges::range_value_t<View>&)>;

  void fill() {
    while (in_flight_.size() < window_ && next_ != std::ranges::end(view_)) {
      in_flight_.push_back(submit_(*pool_, *next_));
      ++next_;
    }
  }
  bool done() const { return in_flight_.empty(); }
  const R& current() {
    if (!current_) current_ = in_flight_.front().get();  // throws the element's error
    return *current_;
  }
  void advance() {
    current_.reset();
    in_flight_.pop_front();
    fill();
  }

  Pool* pool_;
  Submit submit_;
  View view_;
  std::ranges::iterator_t<View> next_;
  std::size_t window_;
  std::deque<Future<R>> in_flight_;
  std::optional<R> current_;
};

}  // namespace forkpool
