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
#include <string>
#include <utility>

#include "forkpool/detail/task_registry.h"
#include "forkpool/errors.h"
#include "io/blocking_reader.h"
#include "io/frame_writer.h"
#include "io/syscalls.h"
#include "serialization/messages.h"
#include "workers/log_forwarding.h"

namespace forkpool::workers {
namespace {

using serialization::Kind;

// Frames out of the worker: results, errors and log lines from any thread of a task, one
// whole frame at a time.
class Channel {
 public:
  // No SIGPIPE guard: the only reader is the parent, and a worker whose parent is gone should
  // die (blocking the signal instead would be inherited by every program a task starts).
  Channel(const io::Fd& fd, std::size_t max_frame)
      : writer_(fd, {.max_frame = max_frame, .guard_sigpipe = false}), max_frame_(max_frame) {}
  void send(Kind kind, std::uint64_t task_id, const io::Payload& payload) {
    std::lock_guard lock(mutex_);
    writer_.write_frame(static_cast<std::uint8_t>(kind), 0, task_id, payload);
  }
  void set_max_frame(std::size_t max_frame) {
    std::lock_guard lock(mutex_);
    writer_.set_max_frame(max_frame);
    max_frame_ = max_frame;
  }
  std::size_t max_frame() {
    std::lock_guard lock(mutex_);
    return max_frame_;
  }

 private:
  std::mutex mutex_;
  io::FrameWriter writer_;
  std::size_t max_frame_;
};

// The worker's side of the protocol, shared by its loop and this_task::cancelled(). One
// thread reads the task pipe: the loop between tasks, and a task that polls cancelled() while
// it runs (under `reading`, in case the task polls from several threads).
class Worker {
 public:
  Worker(io::BlockingReader& reader, Channel& channel, int tasks_fd)
      : reader_(reader), channel_(channel), tasks_fd_(tasks_fd) {}

  // Blocks for the next task; nullopt once the parent said Shutdown or closed the pipe.
  std::optional<io::Frame> next_task() {
    std::lock_guard lock(reading_);
    if (failed_) std::rethrow_exception(failed_);  // cancelled() met it first
    // Frames that arrived meanwhile first, so a Cancel for a waiting task drops it in time.
    read_available();
    while (tasks_.empty() && !ended_) {
      auto frame = reader_.read_frame();
      if (!frame) {
        ended_ = true;  // EOF: the parent closed our task pipe
        break;
      }
      handle(std::move(*frame));
    }
    if (tasks_.empty()) return std::nullopt;
    io::Frame task = std::move(tasks_.front());
    tasks_.pop_front();
    running_ = task.task_id;
    cancelled_.store(false, std::memory_order_relaxed);
    return task;
  }

  std::uint64_t running() {
    std::lock_guard lock(reading_);
    return running_;
  }

  // The running task has ended; true if it was cancelled meanwhile.
  bool finish_task() {
    std::lock_guard lock(reading_);
    running_ = 0;
    return cancelled_.exchange(false, std::memory_order_relaxed);
  }

  // this_task::cancelled(): looks at the pipe at most every 200 microseconds (a poll(2) and
  // the frames that arrived), so a task may call it in a tight loop.
  bool cancelled() {
    if (cancelled_.load(std::memory_order_relaxed)) return true;
    const auto now = std::chrono::steady_clock::now();
    std::unique_lock lock(reading_, std::try_to_lock);
    if (!lock.owns_lock() || now - last_look_ < std::chrono::microseconds(200)) {
      return cancelled_.load(std::memory_order_relaxed);
    }
    last_look_ = now;
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
      case Kind::kTask:
        tasks_.push_back(std::move(frame));
        return;
      case Kind::kBatch:
        // Each call becomes a task of its own: run, cancelled and answered one by one.
        for (const auto& entry : serialization::decode_batch(frame.payload)) {
          tasks_.push_back(io::Frame{static_cast<std::uint8_t>(Kind::kTask), entry.flags,
                                     entry.task_id,
                                     io::Payload(entry.task.begin(), entry.task.end())});
        }
        return;
      case Kind::kCancel: {
        serialization::expect_empty(frame.kind, frame.payload);
        if (running_ == frame.task_id && running_ != 0) {
          cancelled_.store(true, std::memory_order_relaxed);
          return;
        }
        auto it = std::find_if(tasks_.begin(), tasks_.end(),
                               [&](const io::Frame& f) { return f.task_id == frame.task_id; });
        // Not started: it never will. (Already finished: its reply is on its way.)
        if (it != tasks_.end()) {
          tasks_.erase(it);
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
      default:
        throw ProtocolError("a worker cannot handle a " + serialization::kind_name(frame.kind) +
                            " frame");
    }
  }

  io::BlockingReader& reader_;
  Channel& channel_;
  const int tasks_fd_;
  std::mutex reading_;
  std::deque<io::Frame> tasks_;  // Task frames read ahead, in order
  bool ended_ = false;           // Shutdown or EOF: no more tasks will come
  std::uint64_t running_ = 0;    // the running task's id; 0 between tasks
  std::atomic<bool> cancelled_{false};
  std::chrono::steady_clock::time_point last_look_{};
  std::exception_ptr failed_;  // what cancelled() met on the pipe
};

std::atomic<Worker*> g_worker{nullptr};
std::atomic<int> g_results_fd{-1};

// Runs the task of one frame; returns what to send: Result, or Error if it threw.
std::pair<Kind, io::Payload> run_task(const io::Frame& frame, std::size_t max_frame) {
  const auto call = serialization::decode_task(frame.payload);
  const detail::TaskEntry* entry = detail::TaskRegistry::instance().find(call.function);
  const bool chunk = (frame.flags & serialization::kTaskChunk) != 0;
  if (entry == nullptr || (chunk && entry->invoke_chunk == nullptr)) {
    return {Kind::kError, serialization::encode(serialization::NoSuchTask{call.function, chunk})};
  }
  io::Payload result;
  try {
    (chunk ? entry->invoke_chunk : entry->invoke)(entry->function, call.args, result);
  } catch (...) {
    return {Kind::kError, serialization::encode(serialization::describe_current_exception())};
  }
  if (result.size() > max_frame) {
    // It cannot be sent: fail this task, keep serving.
    return {Kind::kError,
            serialization::encode(serialization::ResultTooLarge{result.size(), max_frame})};
  }
  return {Kind::kResult, std::move(result)};
}

}  // namespace

int current_results_fd() { return g_results_fd.load(); }

std::uint64_t current_task_id() {
  Worker* worker = g_worker.load();
  return worker != nullptr ? worker->running() : 0;
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
    while (auto frame = worker.next_task()) {
      auto [kind, reply] = run_task(*frame, channel.max_frame());
      // A cancelled task's result is not wanted: say it stopped instead.
      if (worker.finish_task())
        channel.send(Kind::kCancelAck, frame->task_id, {});
      else
        channel.send(kind, frame->task_id, reply);
    }
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
