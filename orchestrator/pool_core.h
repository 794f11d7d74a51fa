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
  std::uint64_t id = 0;
  const std::string* name = nullptr;  // the registry's copy; lives as long as the program
  detail::Payload payload;            // the Task frame's payload; dropped once it runs
  std::shared_ptr<detail::FutureState> state;
};

struct WorkerSlot {
  enum class Phase { kStarting, kReady, kLeaving };

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
  bool reading = true;                 // from_worker still in the epoll set
  std::exception_ptr failure;          // what went wrong on the pipe, if anything
};

class PoolCore {
 public:
  explicit PoolCore(Options options);
  ~PoolCore();

  std::shared_ptr<detail::FutureState> submit(detail::TaskId function, const std::string* name,
                                              detail::Payload args);
  void close();
  void terminate();

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
  void drop_worker(WorkerSlot& slot, std::exception_ptr why);
  void stop_reading(WorkerSlot& slot);
  bool should_respawn() const;
  // Lets the constructor return (under the mutex).
  void release_constructor();
  void record_death(WorkerSlot& slot, const ExitStatus& status, Settlements& out);

  // Under the mutex.
  void dispatch(Settlements& out);
  bool send_task(WorkerSlot& slot, PendingTask task, Settlements& out);
  // Whether tasks are short enough to queue more than one in a worker's pipe.
  bool pipelining_pays() const;
  // Marks the first task in the worker's pipe as running.
  void start_head(WorkerSlot& slot, std::chrono::steady_clock::time_point now);
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
  State state_ = State::kRunning;
  bool forked_from_parent_ = false;  // the constructor waits for this
  std::string broken_;  // why the pool stopped respawning; empty while healthy
  std::deque<PendingTask> queue_;
  std::map<std::uint32_t, std::unique_ptr<WorkerSlot>> slots_;
  std::vector<WorkerSlot*> idle_;  // a stack: the most recently idle worker is reused first
  std::uint64_t next_task_id_ = 1;
  std::uint32_t next_worker_id_ = 0;
  std::deque<std::chrono::steady_clock::time_point> recent_deaths_;  // since the last success
  int failed_starts_ = 0;  // workers in a row that failed before their handshake
  PoolStats stats_;
  double mean_service_us_ = -1;  // moving average of task run times; < 0 until measured
  std::string start_description_;

  io::Epoll epoll_;
  io::EventFd wake_;
  std::unique_ptr<workers::WorkerStarter> starter_;  // used by the collector thread only
  std::thread collector_;
  std::mutex join_mutex_;
};

}  // namespace forkpool::orchestrator
