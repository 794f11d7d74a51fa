// PoolCore: the queue, the workers and the collector thread behind forkpool::Pool.
//
// One class, one mutex, spread over one file per concern (docs/design-notes.md draws them):
//   pool_core.cc     construction, close and terminate, the pool's state and its breakdown
//   intake.cc        the callers' side: submit, enqueue with backpressure, cancel
//   dispatch.cc      which worker gets what: idle workers, pipelining, batch frames, and the
//                    write token that takes frame writes out from under the mutex
//   collector.cc     the collector thread: the epoll loop, reads, the handshake, pidfd exits
//   outcomes.cc      what a reply or a death does to its tasks: settle, retry, requeue
//   supervision.cc   timeouts, cancel and stop escalation (workers/stop_plan.h), retirement
// The decisions that need no I/O are pure and tested on their own: retry_policy.h,
// crash_loop.h, service_time.h, workers/stop_plan.h.
//
// Threads: callers submit (encode in their own thread, then enqueue under the mutex); one
// collector thread waits on every worker's result pipe and pidfd with epoll, reads whole
// frames, settles futures, starts and reaps workers. Only the collector (or the constructor,
// before it starts) creates and destroys worker slots, so it may use a slot's reader without
// the mutex; everything else about a slot is guarded by the mutex.
//
// Writes: a frame that fits in a pipe's buffer cannot block, and is written under the mutex
// (Cancel, Shutdown, the handshake, small tasks), by whichever thread sends it. A bigger task
// frame is written without the mutex, holding the slot's write token (WorkerSlot::writing):
// by the submitter that dispatched it, or by the bulk writer thread if the collector did, so a
// 64 MiB argument never stalls result handling. No thread hop on the small-task round trip.
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
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "forkpool/detail/future_state.h"
#include "forkpool/options.h"
#include "forkpool/pool.h"
#include "io/epoll.h"
#include "orchestrator/crash_loop.h"
#include "orchestrator/data_channel.h"
#include "orchestrator/pending_task.h"
#include "orchestrator/service_time.h"
#include "orchestrator/worker_slot.h"
#include "workers/start_method.h"
#include "workers/stop_plan.h"

namespace forkpool::serialization {
struct ReplyEntry;
}  // namespace forkpool::serialization

namespace forkpool::orchestrator {

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
                                              detail::Payload task, const TaskOptions& call,
                                              bool chunk = false);
  // A future's state that cancels through this pool (Future::cancel()).
  std::shared_ptr<detail::FutureState> new_state();
  // Queues `calls` (their states made by new_state() or a batch): as one batch that travels to
  // a worker in Batch frames if `batch`. Throws PoolClosed, PoolBroken or QueueFull as submit()
  // does, with nothing queued; a call too large for max_frame fails only its own future.
  void enqueue(std::span<Call> calls, bool batch);
  std::weak_ptr<CancelLink> cancel_link() const { return cancel_link_; }
  void close();
  void terminate();
  // Future::cancel()'s way in: true if it cancelled the task whose future has this state;
  // nothing if the pool behind `link` is gone.
  static bool cancel_through(const std::weak_ptr<CancelLink>& link,
                             const detail::FutureState* target);
  std::size_t cancel_all();
  // forkpool/task_input.h (task_input.cc): input for a running task, and who hears it taken.
  bool send_task_input(const detail::FutureState* target, std::span<const char> bytes, bool end);
  void on_input_taken(std::function<void(const void*)> taken);

  std::vector<pid_t> worker_pids() const;
  unsigned workers() const { return workers_; }
  PoolStats stats() const;
  std::string start_description() const;
  const Options& options() const { return options_; }

 private:
  enum class State { kRunning, kClosing, kTerminating, kStopped };
  using Clock = std::chrono::steady_clock;
  using Lock = std::unique_lock<std::mutex>;
  static constexpr std::uint64_t kWakeData = ~std::uint64_t{0};     // the eventfd's epoll data
  static constexpr std::uint64_t kDataListenData = kWakeData - 1;   // the data channel's socket
  static constexpr std::uint64_t kDataPendingData = kWakeData - 2;  // its connections, untokened
  // A worker's result pipe (or data connection), or its pidfd, in the epoll set.
  static constexpr std::uint64_t slot_epoll_data(std::uint32_t slot_id, bool pidfd) {
    return (std::uint64_t{slot_id} << 1) | (pidfd ? 1 : 0);
  }
  // Futures to settle once the mutex is released (waking a waiter under it wastes a switch,
  // and a future's on_ready callback may call back into the pool).
  struct Settlement {
    std::shared_ptr<detail::FutureState> state;
    detail::ResultBytes value;
    std::exception_ptr error;
    bool cancelled = false;
  };
  using Settlements = std::vector<Settlement>;
  // A task frame that a thread has claimed a worker to write, without the mutex (dispatch.cc).
  struct Claim {
    WorkerSlot* slot = nullptr;  // its write token is held for this claim
    std::uint8_t kind = 0;
    std::uint8_t flags = 0;
    std::uint64_t task_id = 0;
    TaskBytes bytes;
    bool bytes_of_head = false;           // `bytes` is the lone task's payload, lent to the write
    std::vector<std::uint64_t> task_ids;  // a Batch frame's tasks, in order; empty: task_id
    std::exception_ptr error;             // why the write failed, if it did
  };
  using Claims = std::vector<Claim>;
  // Who writes a batch of claims: the collector hands big frames to the bulk writer.
  enum class Writer { kCaller, kCollector };

  // pool_core.cc: the pool's state.
  bool idle() const;
  unsigned live_workers() const;
  bool start_wanted() const;
  void room_made();
  void break_pool(const std::string& why, Settlements& out);
  void fail_queue(const std::exception_ptr& error, Settlements& out);
  // Fails every unfinished task with `error` and kills every worker.
  void kill_all(const std::exception_ptr& error, Settlements& out);
  static void settle(Settlements& settlements);

  // intake.cc.
  void check_accepting() const;
  void wait_for_room(Lock& lock, std::size_t calls);
  bool cancel_locked(const detail::FutureState* target, Settlements& out);
  void cancel_in_flight(WorkerSlot& slot, std::size_t index, Settlements& out);
  // The index in `task`'s run of the unanswered, not let go call whose state is `target`.
  static std::optional<std::size_t> find_run_call(const PendingTask& task,
                                                  const detail::FutureState* target);
  bool cancel_queued_run_call(const detail::FutureState* target, Settlements& out);
  void cancel_run_call(WorkerSlot& slot, std::size_t index, std::size_t call, Settlements& out);

  // dispatch.cc, under the mutex.
  void dispatch(Settlements& out);
  void pipeline(Settlements& out);
  // Claims an idle worker for the front of the queue: one task, or a batch's tasks in one
  // Batch frame (as many as fit in max_frame and the worker's max_tasks_per_worker).
  void claim(WorkerSlot& slot);
  void claim_batch(WorkerSlot& slot, Claim& claim);
  // Gives the write a lone task's payload: lent, unless the task may be sent again (a retry;
  // a run's calls, alone, after a death). Then it is shared, because the task's reply, and so
  // its retry, may be read before the write is finished (a writer descheduled after its write
  // returned), and must find its bytes in the task.
  static void lend_payload(PendingTask& task, Claim& claim);
  // Takes the worker's write token for a frame whose first task is `head`.
  // Before a run's frame is sent: the run without the calls cancelled while it was queued.
  static void leave_out_gone_calls(PendingTask& task);
  // Marks the task running, and a run's first unanswered call.
  static void mark_running(PendingTask& task);
  void start_claim(WorkerSlot& slot, PendingTask& head);
  // Writes the claims dispatch made (releasing the mutex meanwhile), then finishes them; the
  // mutex is held again on return and no claim is left. Every thread that dispatches calls
  // this before it releases the mutex.
  void write_claims(Lock& lock, Settlements& out, Writer writer);
  // Writes the claim's frame, keeping what went wrong in claim.error.
  void write_claim(Claim& claim);
  void finish_claim(Claim& claim, Settlements& out);
  void send_owed_cancels(WorkerSlot& slot);
  // Writes one small task to a busy worker's pipe, under the mutex.
  bool send_pipelined(WorkerSlot& slot, PendingTask task, Settlements& out);
  // The frame did not reach the worker: its tasks go back to the front of the queue in order
  // (a worker that died or stalls has not started them), or fail with the error (anything
  // else); the worker is dropped.
  void unsend(WorkerSlot& slot, std::vector<PendingTask>& tasks, const std::exception_ptr& error,
              Settlements& out);
  // Marks the first task in the worker's pipe as running.
  void start_head(WorkerSlot& slot, Clock::time_point now);
  void make_idle(WorkerSlot& slot, Clock::time_point now);
  void bulk_writer_main();

  // Makes the worker starter, which forks the forkserver's zygote, and with StartMethod::kFork
  // the first workers: everything the pool forks from this process as it starts. On failure
  // the pool breaks ("cannot start workers: ..."). Then lets the constructor return.
  void set_up_starter(Lock& lock, Settlements& out);

  // collector.cc: the collector thread.
  void collector_main();
  // set_up_starter, unless the constructor did, then the first workers.
  void start_workers(Lock& lock, Settlements& out);
  // Starts workers until the pool has its count, or breaks.
  void start_first_workers(Lock& lock);
  void start_worker(Lock& lock);
  void wait_and_handle(io::Deadline wait, Settlements& out);
  void on_readable(std::uint32_t slot_id, Settlements& out);
  void on_readable_all(std::uint32_t slot_id, Settlements& out);
  void on_exit(std::uint32_t slot_id, Settlements& out);
  void handle_frame(WorkerSlot& slot, io::Frame frame, Settlements& out);
  void handle_input_taken(WorkerSlot& slot, const io::Frame& frame);  // task_input.cc
  void finish_input_write(WorkerSlot& slot, std::uint64_t head, const std::exception_ptr& error,
                          Settlements& out);
  void handle_hello(WorkerSlot& slot, const io::Frame& frame, Settlements& out);
  std::string hello_refusal(const WorkerSlot& slot, const io::Frame& frame) const;
  // data_channel.cc: remote workers' data connections, matched to their slots by token.
  void on_data_connections();
  void handle_initialized(WorkerSlot& slot, io::Frame& frame, Settlements& out);
  void become_ready(WorkerSlot& slot, Settlements& out);
  void drop_worker(WorkerSlot& slot, const std::exception_ptr& why);
  void stop_reading(WorkerSlot& slot);
  // Lets the constructor return (under the mutex).
  void release_constructor();
  // Kills the workers that have not said Hello by their deadline; returns how long until the
  // next deadline of one still starting (nullopt: none).
  io::Deadline expire_handshakes(Clock::time_point now);

  // outcomes.cc, under the mutex.
  void handle_reply(WorkerSlot& slot, io::Frame& frame, Settlements& out);
  // A Replies frame: the replies to several calls of a Batch, each handled as handle_reply
  // does, then the worker's next task once.
  void handle_replies(WorkerSlot& slot, const io::Frame& frame, Settlements& out);
  // One reply (Result, Error or CancelAck) for the call `task_id`, which `took` that long:
  // settles it, retries it or drops it. True if it answered the worker's running call.
  // `owned`: the buffer that holds `payload` whole, if the value may take it instead of a copy.
  bool take_reply(WorkerSlot& slot, std::uint8_t kind, std::uint64_t task_id,
                  std::span<const char> payload, detail::Payload* owned, Clock::duration took,
                  Settlements& out);
  // The error an Error reply carries for `task`.
  std::exception_ptr decode_error_reply(const WorkerSlot& slot, const PendingTask& task,
                                        std::span<const char> payload) const;
  void after_reply(WorkerSlot& slot, Clock::time_point now, Settlements& out);
  // Settles a failed attempt (true), or queues the task again if it has retries left (false).
  bool fail_task(PendingTask task, const std::exception_ptr& error, Settlements& out);
  void record_death(WorkerSlot& slot, const ExitStatus& status, Settlements& out);
  void release_in_flight(WorkerSlot& slot, const ExitStatus& status, Settlements& out);
  // The tasks left in a dead worker go back to the queue (each as a call of its own if
  // `alone`), or fail with PoolBroken once the pool is breaking.
  void requeue_in_flight(WorkerSlot& slot, Settlements& out, bool alone);
  void requeue_run_calls(PendingTask& task);
  // Replies to the calls of the run at the head of `slot`, the first to its call `task_id`:
  // settles each call that has one, in order, until the run or the replies end or a reply is
  // for a call of another task. Returns how many it took (at least the first).
  std::size_t take_run_replies(WorkerSlot& slot, std::span<const serialization::ReplyEntry> replies,
                               Clock::duration took, Settlements& out);
  void judge_death(WorkerSlot& slot, const ExitStatus& status, Settlements& out);

  // supervision.cc, under the mutex.
  // Timeouts, stop escalation and idle retirement; returns how long until the next deadline.
  io::Deadline supervise(Clock::time_point now, Settlements& out);
  // Whether a timeout or a stop step of the worker is due: only then is its pipe looked at
  // first (answer_waiting), not each time round the loop (a poll(2) per reply for nothing).
  bool deadline_passed(const WorkerSlot& slot, Clock::time_point now) const;
  bool answer_waiting(WorkerSlot& slot) const;
  std::optional<Clock::time_point> check_timeout(WorkerSlot& slot, Clock::time_point now,
                                                 Settlements& out);
  void escalate(WorkerSlot& slot, Clock::time_point now);
  std::optional<Clock::time_point> retire_idle(Clock::time_point now);
  void time_out(WorkerSlot& slot, Clock::time_point now, Settlements& out);
  // Gives the running task cancel_grace to stop (its Cancel is sent), then stop_worker.
  void ask_cancel(WorkerSlot& slot, Clock::time_point now);
  // SIGTERM now, SIGKILL after kill_grace; the tasks waiting in its pipe run elsewhere.
  void stop_worker(WorkerSlot& slot, Clock::time_point now);
  // Shutdown now (an idle worker), SIGKILL after shutdown_grace.
  void retire_worker(WorkerSlot& slot, Clock::time_point now);
  // close(): once the pool is idle, Shutdown to every worker, SIGKILL after shutdown_grace;
  // terminate(): SIGKILL at once. Returns when to look again (nullopt: not before an event).
  io::Deadline shut_down(Clock::time_point now);

  const Options options_;
  const unsigned workers_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;  // a task settled, a worker came or went, state changed
  std::condition_variable room_;     // the queue shrank below queue_capacity, or intake stopped
  int blocked_submitters_ = 0;
  State state_ = State::kRunning;
  bool starter_set_up_ = false;  // set_up_starter is done; the constructor may return
  std::string broken_;           // why the pool stopped respawning; empty while healthy
  std::deque<PendingTask> queue_;
  std::map<std::uint32_t, std::unique_ptr<WorkerSlot>> slots_;
  // pipeline()'s list of the busy workers with room, kept to reuse its memory.
  std::vector<WorkerSlot*> pipeline_room_;
  // A stack: the most recently idle worker is reused first; the bottom one retires first.
  std::vector<WorkerSlot*> idle_;
  Claims claims_;  // made by dispatch, empty whenever the mutex is free
  std::uint64_t next_task_id_ = 1;
  std::uint64_t next_batch_id_ = 1;
  std::uint32_t next_worker_id_ = 0;
  CrashLoop crash_loop_;
  PoolStats stats_;
  ServiceTime service_time_;
  std::string start_description_;
  // The pool's own stop, once close() finds it idle or terminate() is called.
  workers::StopPlan closing_;
  bool killed_all_ = false;

  // The bulk writer: writes the big frames the collector dispatches, started when first needed.
  std::deque<Claim> bulk_;
  std::condition_variable bulk_ready_;
  bool bulk_stop_ = false;
  std::thread bulk_writer_;

  std::shared_ptr<CancelLink> cancel_link_ = std::make_shared<CancelLink>();
  // Shared by every future new_state() makes: cancels through cancel_link_ (intake.cc).
  static std::shared_ptr<detail::FutureHooks> make_future_hooks(
      const std::shared_ptr<CancelLink>& link);
  const std::shared_ptr<detail::FutureHooks> future_hooks_ = make_future_hooks(cancel_link_);
  io::Epoll epoll_;
  io::EventFd wake_;
  std::unique_ptr<workers::WorkerStarter> starter_;  // the collector's, once it has started
  // Remote workers' data connections come in here (data_channel.cc); collector thread only.
  std::unique_ptr<DataChannelListener> data_listener_;
  std::function<void(const void*)> input_taken_;  // TaskInput::on_taken's listener
  // When a starter that is backing off a host can start a worker again (can_start).
  mutable std::optional<Clock::time_point> next_start_;
  std::thread collector_;
  std::mutex join_mutex_;
};

}  // namespace forkpool::orchestrator
