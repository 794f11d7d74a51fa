#include "workers/worker_loop.h"

#include <cxxabi.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <thread>
#include <utility>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <typeinfo>

#include "forkpool/detail/task_registry.h"
#include "forkpool/errors.h"
#include "io/blocking_reader.h"
#include "io/frame_writer.h"
#include "serialization/messages.h"
#include "workers/log_forwarding.h"

namespace forkpool::workers {
namespace {

using serialization::Kind;

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> name(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), &std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(mangled);
}

// Describes the exception being handled: its dynamic type and message.
serialization::ErrorReply describe_current_exception() {
  try {
    throw;
  } catch (const std::exception& e) {
    return {demangle(typeid(e).name()), e.what()};
  } catch (...) {
    std::type_info* type = abi::__cxa_current_exception_type();
    return {type ? demangle(type->name()) : "unknown", "a non-std::exception was thrown"};
  }
}

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

// What the reader thread hands the thread that runs tasks.
struct Inbox {
  std::mutex mutex;
  std::condition_variable arrived;
  std::deque<io::Frame> tasks;  // Task frames, in the order they came
  bool ended = false;           // no more tasks will come
  bool abort = false;           // end without running the queued ones
  int exit_code = 0;
  std::uint64_t running = 0;    // the id of the task being run; 0 between tasks
};

std::atomic<bool> g_cancelled{false};  // the running task has been cancelled
std::atomic<int> g_results_fd{-1};

// Runs the task of one frame; returns what to send: Result, or Error if it threw.
std::pair<Kind, io::Payload> run_task(const io::Frame& frame, std::size_t max_frame) {
  const auto call = serialization::decode_task(frame.payload);
  const detail::TaskEntry* entry = detail::TaskRegistry::instance().find(call.function);
  if (entry == nullptr) {
    return {Kind::kError, serialization::encode(serialization::ErrorReply{
                              "forkpool::UnknownTask", "this worker has no task with id " +
                                                           std::to_string(call.function)})};
  }
  io::Payload result;
  try {
    entry->invoke(entry->function, call.args, result);
  } catch (...) {
    return {Kind::kError, serialization::encode(describe_current_exception())};
  }
  if (result.size() > max_frame) {
    // It cannot be sent: fail this task, keep serving.
    return {Kind::kError,
            serialization::encode(serialization::too_large_reply(result.size(), max_frame))};
  }
  return {Kind::kResult, std::move(result)};
}

// The reader thread: takes every frame off the task pipe as it arrives, so a Cancel reaches
// the worker while a task runs. Tasks go to the inbox; the rest it handles itself.
void read_frames(io::BlockingReader& reader, Channel& channel, Inbox& inbox) {
  int exit_code = 0;
  bool abort = false;
  try {
    bool shutdown = false;
    while (!shutdown) {
      auto frame = reader.read_frame();
      if (!frame) break;  // EOF: the parent closed our task pipe
      switch (static_cast<Kind>(frame->kind)) {
        case Kind::kTask: {
          std::lock_guard lock(inbox.mutex);
          inbox.tasks.push_back(std::move(*frame));
          inbox.arrived.notify_one();
          break;
        }
        case Kind::kCancel: {
          serialization::expect_empty(frame->kind, frame->payload);
          bool dropped = false;
          {
            std::lock_guard lock(inbox.mutex);
            if (inbox.running == frame->task_id) {
              g_cancelled.store(true, std::memory_order_relaxed);
            } else {
              auto it = std::find_if(inbox.tasks.begin(), inbox.tasks.end(),
                                     [&](const io::Frame& f) { return f.task_id == frame->task_id; });
              if (it != inbox.tasks.end()) {
                inbox.tasks.erase(it);
                dropped = true;
              }
            }
          }
          // Not started: it never will. (Already finished: its reply is on its way.)
          if (dropped) channel.send(Kind::kCancelAck, frame->task_id, {});
          break;
        }
        case Kind::kHello: {
          // The parent's limits win: it enforces them on every frame it reads.
          const auto parent = serialization::decode_hello(frame->payload);
          if (parent.max_frame != 0) {
            reader.set_max_frame(parent.max_frame);
            channel.set_max_frame(parent.max_frame);
          }
          break;
        }
        case Kind::kShutdown:
          shutdown = true;
          break;
        case Kind::kHeartbeat:
          channel.send(Kind::kHeartbeat, frame->task_id, {});
          break;
        default:
          throw ProtocolError("a worker cannot handle a " +
                              serialization::kind_name(frame->kind) + " frame");
      }
    }
  } catch (const PeerGone&) {
    exit_code = kWorkerExitParentGone;
    abort = true;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "forkpool worker %d: %s\n", static_cast<int>(::getpid()), e.what());
    exit_code = kWorkerExitProtocolError;
    abort = true;
  }
  std::lock_guard lock(inbox.mutex);
  inbox.ended = true;
  inbox.abort = abort;
  inbox.exit_code = exit_code;
  inbox.arrived.notify_one();
}

// Leaves the process at once: the reader thread may be blocked in read(2) on objects of this
// stack, so neither returning nor running static destructors is safe.
[[noreturn]] void exit_now(int code) {
  std::fflush(nullptr);
  ::_exit(code);
}

}  // namespace

int current_results_fd() { return g_results_fd.load(); }

int run_worker(io::Fd tasks_in, io::Fd results_out, const WorkerConfig& config) {
  Channel channel(results_out, config.max_frame);
  io::BlockingReader reader(tasks_in, {.max_frame = config.max_frame});
  g_results_fd.store(results_out.get());
  Inbox inbox;
  try {
    install_forwarding_logger([&channel](int level, const std::string& text) {
      channel.send(Kind::kLog, 0, serialization::encode(serialization::LogLine{level, text}));
    });
    channel.send(Kind::kHello, 0,
                 serialization::encode(
                     serialization::hello_from_this_process(config.worker_id, config.max_frame)));
  } catch (const PeerGone&) {
    return kWorkerExitParentGone;
  }
  std::thread reader_thread([&] { read_frames(reader, channel, inbox); });
  try {
    for (;;) {
      io::Frame frame;
      {
        std::unique_lock lock(inbox.mutex);
        inbox.arrived.wait(lock, [&] { return !inbox.tasks.empty() || inbox.ended; });
        if (inbox.abort || inbox.tasks.empty()) break;
        frame = std::move(inbox.tasks.front());
        inbox.tasks.pop_front();
        inbox.running = frame.task_id;
        g_cancelled.store(false, std::memory_order_relaxed);
      }
      auto [kind, reply] = run_task(frame, channel.max_frame());
      bool cancelled = false;
      {
        std::lock_guard lock(inbox.mutex);
        inbox.running = 0;
        cancelled = g_cancelled.exchange(false, std::memory_order_relaxed);
      }
      // A cancelled task's result is not wanted: say it stopped instead.
      if (cancelled) channel.send(Kind::kCancelAck, frame.task_id, {});
      else channel.send(kind, frame.task_id, reply);
    }
  } catch (const PeerGone&) {
    exit_now(kWorkerExitParentGone);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "forkpool worker %d: %s\n", static_cast<int>(::getpid()), e.what());
    exit_now(kWorkerExitProtocolError);
  }
  reader_thread.join();  // it has ended: the loop above only leaves once it has
  return inbox.exit_code;
}

}  // namespace forkpool::workers

namespace forkpool::this_task {
bool cancelled() noexcept { return workers::g_cancelled.load(std::memory_order_relaxed); }
}  // namespace forkpool::this_task
