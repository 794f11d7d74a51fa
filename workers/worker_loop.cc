#include "workers/worker_loop.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "forkpool/detail/small_mutex.h"
#include "forkpool/detail/task_registry.h"
#include "forkpool/errors.h"
#include "io/blocking_reader.h"
#include "io/frame_writer.h"
#include "io/syscalls.h"
#include "serialization/messages.h"
#include "workers/log_forwarding.h"
#include "workers/task_input.h"

namespace forkpool::workers {
namespace {

using serialization::Kind;

using Clock = std::chrono::steady_clock;

// A reply is held only in front of a call expected to be this quick: its function's last call
// in this worker took less. Before any other call (a function not yet seen, or a slow one),
// the held replies go out, so a slow call does not hold back the results of the calls before
// it, and a call that kills the worker is most likely one that would not have been held
// behind: the replies before it have reached the pool.
constexpr std::chrono::microseconds kHoldBefore{100};
// And never longer than this, counted from the oldest held reply, at a call's start.
constexpr std::chrono::milliseconds kReplyHoldLimit{1};
// A reply bigger than this travels in a frame of its own: copying it into the held frame would
// cost more than the frame it saves.
constexpr std::size_t kHeldReplyLimit = 16 * 1024;

// Frames out of the worker: results, errors and log lines from any thread of a task, one
// whole frame at a time. Replies to a Batch's calls may be held and sent together, in one
// Replies frame; anything else sent meanwhile first sends what is held, so order is kept.
class Channel {
 public:
  // No SIGPIPE guard: the only reader is the parent, and a worker whose parent is gone should
  // die (blocking the signal instead would be inherited by every program a task starts).
  Channel(const io::Fd& fd, std::size_t max_frame)
      : writer_(fd, {.max_frame = max_frame, .guard_sigpipe = false}), max_frame_(max_frame) {}

  void send(Kind kind, std::uint64_t task_id, const io::Payload& payload) {
    std::lock_guard lock(mutex_);
    flush_locked();
    writer_.write_frame(static_cast<std::uint8_t>(kind), 0, task_id, payload);
  }
  // Holds a reply to travel with the next ones, until flush() or anything else is sent.
  void hold(Kind kind, std::uint64_t task_id, const io::Payload& payload) {
    std::lock_guard lock(mutex_);
    const std::size_t entry = serialization::batch_entry_size(payload.size());
    // Alone: too big to be worth the copy, or to fit in a Replies frame with its entry header.
    const std::size_t max_frame = max_frame_.load(std::memory_order_relaxed);
    const bool alone =
        payload.size() > kHeldReplyLimit || serialization::kBatchCountSize + entry > max_frame;
    if (alone || held_.size() + entry > max_frame) flush_locked();
    if (alone) {
      writer_.write_frame(static_cast<std::uint8_t>(kind), 0, task_id, payload);
      return;
    }
    held_.append_reply(task_id, static_cast<std::uint8_t>(kind), payload);
    // Changed only under the mutex: a load and a store, not a locked read-modify-write.
    const std::size_t held = held_count_.load(std::memory_order_relaxed);
    held_count_.store(held + 1, std::memory_order_relaxed);
    if (held == 0) {
      held_since_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    }
  }
  void flush() {
    std::lock_guard lock(mutex_);
    flush_locked();
  }
  // Sends what is held if the oldest held reply has waited `limit` by `now`. Looks without the
  // lock first (it is asked before every quick call): only the loop's thread holds replies, so
  // what it reads can only be stale towards a flush, which the lock then checks again.
  void flush_if_older(Clock::duration limit, Clock::time_point now) {
    if (!older(limit, now)) return;
    std::lock_guard lock(mutex_);
    if (older(limit, now)) flush_locked();
  }
  void set_max_frame(std::size_t max_frame) {
    std::lock_guard lock(mutex_);
    writer_.set_max_frame(max_frame);
    max_frame_.store(max_frame, std::memory_order_relaxed);
  }
  // Without the lock: it is read for every call, and changes once, at the parent's Hello.
  std::size_t max_frame() const { return max_frame_.load(std::memory_order_relaxed); }

 private:
  void flush_locked() {
    if (held_count_.load(std::memory_order_relaxed) == 0) return;
    held_count_.store(0, std::memory_order_relaxed);
    // Task id 0: each reply carries its own.
    writer_.write_frame(static_cast<std::uint8_t>(Kind::kReplies), 0, 0, held_.view());
    held_.clear();
  }

  detail::SmallMutex mutex_;
  io::FrameWriter writer_;
  std::atomic<std::size_t> max_frame_;
  serialization::EntryWriter held_;  // a Replies payload
  bool older(Clock::duration limit, Clock::time_point now) const {
    return held_count_.load(std::memory_order_relaxed) != 0 &&
           now.time_since_epoch().count() - held_since_.load(std::memory_order_relaxed) >=
               limit.count();
  }

  // Changed under the mutex; atomic so that flush_if_older and max_frame() may look without it.
  std::atomic<std::size_t> held_count_{0};
  std::atomic<Clock::rep> held_since_{0};
};

// What the loop keeps of each function called in this worker: its registry entry (null: not
// registered), and how long its last call took, which says whether the replies held so far
// may wait behind its next one (kHoldBefore). One lookup a call, and none for a call of the
// same function as the one before, as a batch's calls mostly are.
class Functions {
 public:
  struct Function {
    const detail::TaskEntry* entry = nullptr;
    Clock::duration last = Clock::duration::max();  // max: not timed yet
    bool quick() const { return last < kHoldBefore; }
  };

  Function& of(detail::TaskId id) {
    if (last_ != nullptr && last_id_ == id) return *last_;
    auto [it, added] = functions_.try_emplace(id);
    if (added) it->second.entry = detail::TaskRegistry::instance().find(id);
    last_id_ = id;
    last_ = &it->second;  // an element's address outlives rehashing
    return *last_;
  }

 private:
  std::unordered_map<detail::TaskId, Function> functions_;
  detail::TaskId last_id_ = 0;
  Function* last_ = nullptr;
};

// A call waiting to run: a Task frame's, or one entry of a Batch frame, which share the frame's
// payload (Worker::frames_ keeps it) instead of a copy each. Or a run's calls not yet handed
// out, as one entry: its calls are taken from it one at a time.
struct QueuedCall {
  std::uint64_t task_id = 0;  // a run's: its next call's (each call's is the one before's + 1)
  std::uint8_t flags = 0;     // the Task's flags (serialization::kTaskChunk)
  detail::TaskId function = 0;
  std::span<const char> args;  // in its frame's payload; a run's: its calls left, as on the wire
  bool hold_reply = false;     // its Batch or run lets the reply wait for the next ones
  // A call of a run: cancelled while it waits, it stays in its place and is answered
  // CancelAck in its turn, so that the pool hears of a run's calls in order.
  bool of_run = false;
  std::uint32_t left = 1;  // a run's calls not yet handed out
  bool skip = false;       // a call of a run handed out: cancelled before it started
  // Any other call cancelled before it started: answered at once, and passed over in its turn
  // (it stays in its place so that its frame's count of calls waiting stays true).
  bool dropped = false;
};

// The worker's side of the protocol, shared by its loop and this_task::cancelled(). One
// thread reads the task pipe: the loop between tasks, and a task that polls cancelled() while
// it runs (under `reading`, in case the task polls from several threads).
class Worker {
 public:
  Worker(io::BlockingReader& reader, Channel& channel, int tasks_fd)
      : reader_(reader), channel_(channel), tasks_fd_(tasks_fd) {}

  // Blocks for the next task; nullopt once the parent said Shutdown or closed the pipe. `now`:
  // about now (when the call before ended), for the look at the pipe between held calls.
  std::optional<QueuedCall> next_task(Clock::time_point now) {
    std::lock_guard lock(reading_);
    if (failed_) std::rethrow_exception(failed_);  // cancelled() met it first
    current_frame_ = {};                           // the call it held has ended
    pass_dropped();
    // Frames that arrived meanwhile first, so a Cancel for a waiting task drops it in time.
    // Between the calls of a Batch that lets replies wait, at most every kLookInterval: a
    // poll(2) per call would cost more than a tiny call (a call cancelled meanwhile runs, and
    // the pool drops its reply).
    // With nothing queued, it waits for the pipe anyway, and reads what else it already
    // holds: a look first would be a poll(2) per round trip for nothing.
    if (!tasks_.empty() && (!tasks_.front().hold_reply || look_due(now))) {
      read_available();
      pass_dropped();
    }
    // Nothing left to run: the replies held for the calls that ran go now, before it waits.
    if (tasks_.empty()) channel_.flush();
    waited_ = tasks_.empty();
    while (tasks_.empty() && !ended_) {
      auto frame = reader_.read_frame();
      if (!frame) {
        ended_ = true;  // EOF: the parent closed our task pipe
        break;
      }
      handle(std::move(*frame));
      // Frames that came with it (a Cancel right behind its task) without another syscall.
      while (!ended_ && reader_.buffered() != 0) {
        frame = reader_.read_frame();
        if (!frame) {
          ended_ = true;
          break;
        }
        handle(std::move(*frame));
      }
      pass_dropped();
    }
    if (tasks_.empty()) return std::nullopt;
    QueuedCall& front = tasks_.front();
    QueuedCall task = front;
    if (front.of_run) {
      task.args = serialization::next_run_call(front.args);  // the run was checked whole
      task.skip = skipped(task.task_id);
      ++front.task_id;
      if (--front.left == 0) taken();
    } else {
      taken();
    }
    running_.store(task.task_id, std::memory_order_relaxed);
    cancelled_.store(false, std::memory_order_relaxed);
    return task;
  }

  std::uint64_t running() const { return running_.load(std::memory_order_relaxed); }
  // Whether the last next_task() waited for the pipe: if not, the call it returned starts
  // when the one before ended.
  bool waited() const { return waited_; }

  Channel& channel() { return channel_; }
  // read_parent_frames(): the frames that have arrived, now (a task waiting for its input).
  int tasks_fd() {
    std::lock_guard lock(reading_);
    return ended_ ? -1 : tasks_fd_;
  }
  void read_now() {
    std::lock_guard lock(reading_);
    try {
      read_available();
    } catch (...) {
      failed_ = std::current_exception();  // as in cancelled()
      ended_ = true;
    }
  }

  // The running task has ended; true if it was cancelled meanwhile. Without `reading_` (a lock
  // per call costs more than a tiny call): a Cancel that read the id just before it was
  // cleared may set the flag after this took it, as if it came just after the task ended: the
  // pool drops the result, and next_task() clears the flag, under the lock, before the next
  // task starts.
  bool finish_task() {
    running_.store(0, std::memory_order_relaxed);
    // Looked at first: the exchange is a locked instruction, and a cancel is rare.
    return cancelled_.load(std::memory_order_relaxed) &&
           cancelled_.exchange(false, std::memory_order_relaxed);
  }

  // this_task::cancelled(): looks at the pipe at most every kLookInterval (a poll(2) and
  // the frames that arrived), so a task may call it in a tight loop.
  bool cancelled() {
    if (cancelled_.load(std::memory_order_relaxed)) return true;
    std::unique_lock lock(reading_, std::try_to_lock);
    if (!lock.owns_lock() || !look_due(Clock::now())) {
      return cancelled_.load(std::memory_order_relaxed);
    }
    try {
      read_available();
    } catch (...) {
      // The task cannot be told; the loop reports it once the task returns.
      failed_ = std::current_exception();
      ended_ = true;
    }
    return cancelled_.load(std::memory_order_relaxed);
  }

 private:
  static constexpr std::chrono::microseconds kLookInterval{200};
  // Under `reading_`: true, and the clock restarted, if the pipe was last looked at
  // kLookInterval ago or more, by `now`.
  bool look_due(Clock::time_point now) {
    if (now - last_look_ < kLookInterval) return false;
    last_look_ = now;
    return true;
  }

  // Under `reading_`: the front call leaves the queue. Its frame's payload, if that was its last
  // call waiting, is kept in current_frame_ until the next call is asked for.
  void taken() {
    tasks_.pop_front();
    QueuedFrame& frame = frames_.front();
    if (--frame.calls != 0) return;
    current_frame_ = std::move(frame.payload);
    frames_.pop_front();
  }
  // Under `reading_`: whether the call `task_id` of a run was cancelled while it waited (and
  // forgets it).
  bool skipped(std::uint64_t task_id) {
    if (skipped_.empty()) return false;
    auto it = std::find(skipped_.begin(), skipped_.end(), task_id);
    if (it == skipped_.end()) return false;
    skipped_.erase(it);
    return true;
  }
  // Under `reading_`: takes the dropped calls off the front of the queue.
  void pass_dropped() {
    while (!tasks_.empty() && tasks_.front().dropped) taken();
  }

  // Reads the frames already in the pipe (or in the reader's buffer) without waiting for more.
  // The parent writes small frames whole, so a frame that has begun is all there.
  void read_available() {
    while (!ended_ && (reader_.buffered() != 0 ||
                       io::poll_one(tasks_fd_, POLLIN, std::chrono::milliseconds(0)))) {
      auto frame = reader_.read_frame();
      if (!frame) {
        ended_ = true;
        return;
      }
      handle(std::move(*frame));
    }
  }

  void handle(io::Frame frame) {
    switch (static_cast<Kind>(frame.kind)) {
      case Kind::kTask: {
        frames_.push_back({std::move(frame.payload)});
        queue_task(frame.task_id, frame.flags, frames_.back().payload, false);
        return;
      }
      case Kind::kBatch: {
        // Each call becomes a task of its own: run, cancelled and answered one by one.
        const bool hold = (frame.flags & serialization::kBatchHoldReplies) != 0;
        // Spans into the payload, which keeps its storage as it moves into frames_.
        const std::vector<serialization::BatchEntry> entries =
            serialization::decode_batch(frame.payload);
        frames_.push_back({std::move(frame.payload)});
        for (const auto& entry : entries) queue_task(entry.task_id, entry.flags, entry.task, hold);
        return;
      }
      case Kind::kCancel: {
        serialization::expect_empty(frame.kind, frame.payload);
        if (frame.task_id != 0 && running_.load(std::memory_order_relaxed) == frame.task_id) {
          cancelled_.store(true, std::memory_order_relaxed);
          return;
        }
        auto it = std::find_if(tasks_.begin(), tasks_.end(), [&](const QueuedCall& c) {
          if (c.of_run) return frame.task_id >= c.task_id && frame.task_id - c.task_id < c.left;
          return c.task_id == frame.task_id && !c.dropped;
        });
        // Not started: it never will. (Already finished: its reply is on its way.)
        if (it != tasks_.end() && it->of_run) {
          skipped_.push_back(frame.task_id);
        } else if (it != tasks_.end()) {
          it->dropped = true;
          channel_.send(Kind::kCancelAck, frame.task_id, {});
        }
        return;
      }
      case Kind::kHello: {
        // The parent's limits win: it enforces them on every frame it reads.
        const auto parent = serialization::decode_hello(frame.payload);
        if (parent.max_frame != 0) {
          reader_.set_max_frame(parent.max_frame);
          channel_.set_max_frame(parent.max_frame);
        }
        return;
      }
      case Kind::kShutdown:
        ended_ = true;  // after the tasks already here
        return;
      case Kind::kTaskInput:
        take_task_input(frame.task_id, frame.flags, std::move(frame.payload));
        return;
      default:
        throw ProtocolError("a worker cannot handle a " + serialization::kind_name(frame.kind) +
                            " frame");
    }
  }

  // Queues a Task payload in the last of frames_: one call, or a run (its calls' task ids
  // task_id, task_id + 1, ...), checked whole now and handed out call by call, whose replies
  // may always be held: the pool sends no call with a timeout in a run.
  void queue_task(std::uint64_t task_id, std::uint8_t flags, std::span<const char> task,
                  bool hold) {
    if ((flags & serialization::kTaskRun) == 0) {
      const serialization::TaskCall call = serialization::decode_task(task);
      tasks_.push_back(QueuedCall{task_id, flags, call.function, call.args, hold});
      ++frames_.back().calls;
      return;
    }
    const serialization::RunView run = serialization::view_run(task);
    tasks_.push_back(QueuedCall{.task_id = task_id,
                                .function = run.function,
                                .args = run.calls,
                                .hold_reply = true,
                                .of_run = true,
                                .left = run.count});
    ++frames_.back().calls;
  }

  // A frame's payload, which its calls waiting in tasks_ point into, and how many they are.
  // A deque keeps its elements in place, and a moved payload keeps its storage.
  struct QueuedFrame {
    io::Payload payload;
    std::uint64_t calls = 0;
  };

  io::BlockingReader& reader_;
  Channel& channel_;
  const int tasks_fd_;
  detail::SmallMutex reading_;
  std::deque<QueuedCall> tasks_;  // calls read ahead, in order
  // Calls of runs in tasks_ cancelled before they started: answered CancelAck in their turn.
  std::vector<std::uint64_t> skipped_;
  std::deque<QueuedFrame> frames_;  // their frames, in the same order
  // The frame of the call handed out last, once no call waiting needs it: kept while it runs.
  io::Payload current_frame_;
  bool ended_ = false;  // Shutdown or EOF: no more tasks will come
  bool waited_ = true;  // next_task() waited for a frame (the loop's thread only)
  // The running task's id; 0 between tasks. Set under `reading_` when a task starts, so that a
  // Cancel read meanwhile sees it; cleared without it (finish_task).
  std::atomic<std::uint64_t> running_{0};
  std::atomic<bool> cancelled_{false};
  std::chrono::steady_clock::time_point last_look_{};
  std::exception_ptr failed_;  // what cancelled() met on the pipe
};

std::atomic<Worker*> g_worker{nullptr};
std::atomic<int> g_results_fd{-1};

// The buffer replies are encoded into, kept from one reply to the next: a 64 MiB result
// encoded into new memory first faults in its pages (and the allocator returns them to the
// system after the write, to fault them in again for the next one); into the pages the last
// large reply touched, it is one copy. Bounded: a buffer above kKeepAlways is freed after a
// reply that used less than a quarter of it, so a worker holds large memory only while its
// replies are large.
class ReplyBuffer {
 public:
  // The buffer, empty, for the next reply.
  io::Payload& next() {
    buffer_.clear();
    return buffer_;
  }
  // The reply in next()'s buffer has been sent or held (copied).
  void sent() {
    if (buffer_.capacity() > kKeepAlways && buffer_.size() < buffer_.capacity() / 4) {
      io::Payload().swap(buffer_);
    }
  }

 private:
  static constexpr std::size_t kKeepAlways = 1 << 20;
  io::Payload buffer_;
};

// Replaces `out` with `payload`, keeping out's storage.
void replace(io::Payload& out, const io::Payload& payload) {
  out.assign(payload.begin(), payload.end());
}

// Runs one call of `entry` (null: not registered) and leaves what to send in `reply` (empty on
// entry): Result, or Error if it threw; returns which.
Kind run_task(const QueuedCall& queued, const detail::TaskEntry* entry, std::size_t max_frame,
              io::Payload& reply) {
  const bool chunk = (queued.flags & serialization::kTaskChunk) != 0;
  if (entry == nullptr || (chunk && entry->invoke_chunk == nullptr)) {
    replace(reply, serialization::encode(serialization::NoSuchTask{queued.function, chunk}));
    return Kind::kError;
  }
  try {
    (chunk ? entry->invoke_chunk : entry->invoke)(entry->function, queued.args, reply);
  } catch (...) {
    replace(reply, serialization::encode(serialization::describe_current_exception()));
    return Kind::kError;
  }
  if (reply.size() > max_frame) {
    // It cannot be sent: fail this task, keep serving.
    replace(reply, serialization::encode(serialization::ResultTooLarge{reply.size(), max_frame}));
    return Kind::kError;
  }
  return Kind::kResult;
}

}  // namespace

int current_results_fd() { return g_results_fd.load(); }

std::uint64_t current_task_id() {
  Worker* worker = g_worker.load();
  return worker != nullptr ? worker->running() : 0;
}

void send_task_frame(std::uint8_t kind, std::uint64_t task_id) {
  Worker* worker = g_worker.load();
  if (worker != nullptr) worker->channel().send(static_cast<Kind>(kind), task_id, {});
}

int current_tasks_fd() {
  Worker* worker = g_worker.load();
  return worker != nullptr ? worker->tasks_fd() : -1;
}

void read_parent_frames() {
  Worker* worker = g_worker.load();
  if (worker != nullptr) worker->read_now();
}

int run_worker(io::Fd tasks_in, io::Fd results_out, const WorkerConfig& config) {
  Channel channel(results_out, config.max_frame);
  io::BlockingReader reader(tasks_in, {.max_frame = config.max_frame});
  Worker worker(reader, channel, tasks_in.get());
  g_results_fd.store(results_out.get());
  g_worker.store(&worker);
  int code = 0;
  try {
    install_forwarding_logger([&channel](int level, const std::string& text) {
      channel.send(Kind::kLog, 0, serialization::encode(serialization::LogLine{level, text}));
    });
    channel.send(Kind::kHello, 0,
                 serialization::encode(
                     serialization::hello_from_this_process(config.worker_id, config.max_frame)));
    Functions functions;
    ReplyBuffer replies;
    // When the last call ended: the next one's start, unless the loop waited between them
    // (one clock read a call instead of two).
    Clock::time_point ended;
    while (auto call = worker.next_task(ended)) {
      if (call->skip) {
        worker.finish_task();
        channel.hold(Kind::kCancelAck, call->task_id, {});
        continue;
      }
      const auto started = worker.waited() ? Clock::now() : ended;
      Functions::Function& function = functions.of(call->function);
      if (call->hold_reply && !function.quick()) {
        channel.flush();
      } else if (call->hold_reply) {
        channel.flush_if_older(kReplyHoldLimit, started);
      }
      io::Payload& reply = replies.next();
      Kind kind = run_task(*call, function.entry, channel.max_frame(), reply);
      ended = Clock::now();
      function.last = ended - started;
      // A cancelled task's result is not wanted: say it stopped instead.
      if (worker.finish_task()) {
        kind = Kind::kCancelAck;
        reply.clear();
      }
      if (call->hold_reply) {
        channel.hold(kind, call->task_id, reply);
      } else {
        channel.send(kind, call->task_id, reply);
      }
      replies.sent();
    }
    channel.flush();
  } catch (const PeerGone&) {
    code = kWorkerExitParentGone;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "forkpool worker %d: %s\n", static_cast<int>(::getpid()), e.what());
    code = kWorkerExitProtocolError;
  }
  g_worker.store(nullptr);
  return code;
}

}  // namespace forkpool::workers

namespace forkpool::this_task {
bool cancelled() noexcept {
  workers::Worker* worker = workers::g_worker.load();
  return worker != nullptr && worker->cancelled();
}
std::uint64_t id() noexcept { return workers::current_task_id(); }
}  // namespace forkpool::this_task
