// PoolCore: the queue, the workers and the collector thread behind forkpool::Pool.
//
// Threads: callers submit (encode in their own thread, then enqueue or write to an idle
// worker under the mutex); one collector thread waits on every worker's result pipe and pidfd
// with epoll, reads whole frames, settles futures, starts and reaps workers. Only the
// collector creates and destroys worker slots, so it may use a slot's reader without the
// mutex; everything else about a slot is guarded by the mutex.
//
// A worker runs one task at a time. A task is written to an idle worker, which is reading its
// pipe, so the write cannot block behind a long task. While tasks are measured to be short,
// a busy worker also gets up to Options::pipeline_depth - 1 more small tasks queued in its
// pipe, so it never waits a round trip for its next task; their frames are small enough
// (kPipelinedFrameLimit each) that the pipe's buffer always has room for them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "forkpool/detail/future_state.h"
#include "forkpool/options.h"
#include "forkpool/pool.h"
#include "io/blocking_reader.h"
#include "io/epoll.h"
#include "io/frame_writer.h"
#include "workers/start_method.h"

namespace forkpool::orchestrator {

// A task that has been submitted and not yet settled.
struct PendingTask {
  std::uint64_t id = 0;               // this attempt's; a retry gets a new one
  const std::string* name = nullptr;  // the registry's copy; lives as long as the program
  // The Task frame's payload; dropped once it runs, unless a retry may need it again.
  detail::Payload payload;
  // Null in a worker's in_flight once the task was cancelled or timed out there: the entry
  // stays, in its place, until the worker answers for it or dies.
  std::shared_ptr<detail::FutureState> state;
  std::chrono::milliseconds timeout{0};  // 0: none
  int retries_left = 0;
  std::vector<std::string> attempts;  // why each earlier attempt failed
  std::uint8_t flags = 0;  // the Task frame's flags (serialization::kTaskChunk)
  // Tasks of one Pool::batch() share a nonzero id and stand together in the queue, so that
  // dispatch sends them to one worker in one Batch frame.
  std::uint64_t batch = 0;
};

// A call on its way into the queue: what submit() and a batch's send() hand over.
struct Call {
  detail::TaskId function = 0;
  const std::string* name = nullptr;
  detail::Payload args;
  TaskOptions options;
  std::shared_ptr<detail::FutureState> state;
  bool chunk = false;  // the arguments are a map chunk (detail/chunk.h)
};

struct WorkerSlot {
  enum class Phase { kStarting, kReady, kLeaving };
  // Being stopped: asked to drop a cancelled task (Cancel sent), sent SIGTERM, sent Shutdown
  // (recycled or retired), or sent SIGKILL. Each but the last has a deadline to escalate.
  enum class Stop { kNone, kAsked, kTerm, kShutdown, kKilled };

  WorkerSlot(std::uint32_t id, workers::StartedWorker started, const Options& options);

  std::uint32_t id;
  workers::Child child;
  io::Fd to_worker;
  io::Fd from_worker;
  io::BlockingReader reader;
  io::FrameWriter writer;
  Phase phase = Phase::kStarting;
  // Until its Hello: when it is given up on (max() for never), and whether it has been.
  std::chrono::steady_clock::time_point handshake_deadline;
  bool handshake_expired = false;
  // Sent to this worker, in order; the first is running, the others wait in its pipe.
  std::deque<PendingTask> in_flight;
  std::chrono::steady_clock::time_point head_since;  // when in_flight.front() started
  std::uint64_t tasks_done = 0;
  std::uint64_t tasks_sent = 0;
  bool initializing = false;  // Options::initializer sent, its reply not yet in
  Stop stop = Stop::kNone;
  std::chrono::steady_clock::time_point stop_deadline;
  std::chrono::steady_clock::time_point idle_since;
  bool reading = true;                 // from_worker still in the epoll set
  bool killed = false;                 // SIGKILLed for a broken pipe; its death is on its way
  std::exception_ptr failure;          // what went wrong on the pipe, if anything
};

// What a future's cancel() and a batch's send() reach the pool through; cut when the pool is
// destroyed, so a future or batch that outlives its pool reaches nothing.
struct CancelLink {
  std::mutex mutex;
  class PoolCore* core = nullptr;
  // Batches sending through the link now, without its mutex (their enqueue may wait for room
  // in the queue); the pool's destructor waits for them after close() has woken them.
  int sending = 0;
  std::condition_variable idle;
};

class PoolCore {
 public:
  explicit PoolCore(Options options);
  ~PoolCore();

  std::shared_ptr<detail::FutureState> submit(detail::TaskId function, const std::string* name,
                                              detail::Payload args, const TaskOptions& call,
                                              bool chunk = false);
  // A future's state that cancels through this pool (Future::cancel()).
  std::shared_ptr<detail::FutureState> new_state();
  // Queues `calls` (their states made by new_state() or a batch): as one batch that travels to
  // a worker in Batch frames if `batch`. Throws PoolClosed, PoolBroken or QueueFull as submit()
  // does, with nothing queued; a call too large for max_frame fails only its own future.
  void enqueue(std::vector<Call>& calls, bool batch);
  std::weak_ptr<CancelLink> cancel_link() const { return cancel_link_; }
  void close();
  void terminate();
  // Future::cancel()'s way in: true if it cancelled the task whose future has this state;
  // nothing if the pool behind `link` is gone.
  static bool cancel_through(const std::weak_ptr<CancelLink>& link,
                             const detail::FutureState* target);
  std::size_t cancel_all();

  std::vector<pid_t> worker_pids() const;
  unsigned workers() const { return workers_; }
  PoolStats stats() const;
  std::string start_description() const;
  const Options& options() const { return options_; }

 private:
  enum class State { kRunning, kClosing, kTerminating, kStopped };
  using Lock = std::unique_lock<std::mutex>;
  // Futures to settle once the mutex is released (waking a waiter under it wastes a switch).
  struct Settlement {
    std::shared_ptr<detail::FutureState> state;
    detail::Payload value;
    std::exception_ptr error;
    bool cancelled = false;
  };
  using Settlements = std::vector<Settlement>;

  // Collector thread.
  void collector_main();
  void start_worker(Lock& lock);
  void on_readable(std::uint32_t slot_id, Settlements& out);
  void on_readable_all(std::uint32_t slot_id, Settlements& out);
  void on_exit(std::uint32_t slot_id, Settlements& out);
  void handle_frame(WorkerSlot& slot, io::Frame frame, Lock& lock, Settlements& out);
  void handle_hello(WorkerSlot& slot, const io::Frame& frame, Lock& lock, Settlements& out);
  void handle_reply(WorkerSlot& slot, io::Frame& frame, Settlements& out);
  void handle_initialized(WorkerSlot& slot, io::Frame& frame, Settlements& out);
  void become_ready(WorkerSlot& slot, Settlements& out);
  void drop_worker(WorkerSlot& slot, std::exception_ptr why);
  void stop_reading(WorkerSlot& slot);
  // Whether the pool should start another worker now.
  bool start_wanted() const;
  // Lets the constructor return (under the mutex).
  void release_constructor();
  void record_death(WorkerSlot& slot, const ExitStatus& status, Settlements& out);

  // Under the mutex.
  void dispatch(Settlements& out);
  bool send_task(WorkerSlot& slot, PendingTask task, Settlements& out);
  // Sends the front of the queue, a batch's tasks, to an idle worker in one Batch frame (as
  // many as fit in max_frame and the worker's max_tasks_per_worker).
  void send_batch(WorkerSlot& slot, Settlements& out);
  // REQUIRES: called from the catch block of the write that failed. The frame did not reach
  // the worker: its tasks go back to the front of the queue in order (a worker that died or
  // stalls has not started them), or fail with the error (anything else); the worker is dropped.
  void unsend(WorkerSlot& slot, std::vector<PendingTask>& tasks, Settlements& out);
  // Whether tasks are short enough to queue more than one in a worker's pipe.
  bool pipelining_pays() const;
  // Marks the first task in the worker's pipe as running.
  void start_head(WorkerSlot& slot, std::chrono::steady_clock::time_point now);
  // Settles a failed attempt (true), or queues the task again if it has retries left (false).
  bool fail_task(PendingTask task, std::exception_ptr error, Settlements& out);
  bool cancel_locked(const detail::FutureState* target, Settlements& out);
  // Timeouts, stop escalation and idle retirement; returns how long until the next deadline.
  io::Deadline supervise(std::chrono::steady_clock::time_point now, Settlements& out);
  void time_out(WorkerSlot& slot, std::chrono::steady_clock::time_point now, Settlements& out);
  // SIGTERM now, SIGKILL after kill_grace; the tasks waiting in its pipe run elsewhere.
  void stop_worker(WorkerSlot& slot, std::chrono::steady_clock::time_point now);
  // Shutdown now (an idle worker), SIGKILL after shutdown_grace.
  void retire_worker(WorkerSlot& slot, std::chrono::steady_clock::time_point now);
  void make_idle(WorkerSlot& slot, std::chrono::steady_clock::time_point now);
  unsigned live_workers() const;
  void room_made();
  void record_service_time(std::chrono::steady_clock::duration time);
  void break_pool(const std::string& why, Settlements& out);
  void fail_queue(std::exception_ptr error, Settlements& out);
  // Fails every unfinished task with `error` and kills every worker.
  void kill_all(std::exception_ptr error, Settlements& out);
  bool idle() const;
  // Kills the workers that have not said Hello by their deadline; returns how long until the
  // next deadline of one still starting (nullopt: none).
  io::Deadline expire_handshakes(std::chrono::steady_clock::time_point now);

  static void settle(Settlements& settlements);

  const Options options_;
  const unsigned workers_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;  // a task settled, a worker came or went, state changed
  std::condition_variable room_;     // the queue shrank below queue_capacity, or intake stopped
  int blocked_submitters_ = 0;
  State state_ = State::kRunning;
  bool forked_from_parent_ = false;  // the constructor waits for this
  std::string broken_;  // why the pool stopped respawning; empty while healthy
  std::deque<PendingTask> queue_;
  std::map<std::uint32_t, std::unique_ptr<WorkerSlot>> slots_;
  // A stack: the most recently idle worker is reused first; the bottom one retires first.
  std::vector<WorkerSlot*> idle_;
  std::uint64_t next_task_id_ = 1;
  std::uint64_t next_batch_id_ = 1;
  std::uint32_t next_worker_id_ = 0;
  std::deque<std::chrono::steady_clock::time_point> recent_deaths_;  // since the last success
  int failed_starts_ = 0;  // workers in a row that failed before their handshake
  PoolStats stats_;
  double mean_service_us_ = -1;  // moving average of task run times; < 0 until measured
  std::string start_description_;

  std::shared_ptr<CancelLink> cancel_link_ = std::make_shared<CancelLink>();
  io::Epoll epoll_;
  io::EventFd wake_;
  std::unique_ptr<workers::WorkerStarter> starter_;  // used by the collector thread only
  std::thread collector_;
  std::mutex join_mutex_;
};

}  // namespace forkpool::orchestrator
