#include "workers/worker_loop.h"

#include <cxxabi.h>
#include <unistd.h>

#include <cstdio>
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
      : writer_(fd, {.max_frame = max_frame, .guard_sigpipe = false}) {}
  void send(Kind kind, std::uint64_t task_id, const io::Payload& payload) {
    std::lock_guard lock(mutex_);
    writer_.write_frame(static_cast<std::uint8_t>(kind), 0, task_id, payload);
  }
  void set_max_frame(std::size_t max_frame) {
    std::lock_guard lock(mutex_);
    writer_.set_max_frame(max_frame);
  }

 private:
  std::mutex mutex_;
  io::FrameWriter writer_;
};

void run_task(Channel& channel, const io::Frame& frame) {
  const auto call = serialization::decode_task(frame.payload);
  const detail::TaskEntry* entry = detail::TaskRegistry::instance().find(call.function);
  if (entry == nullptr) {
    channel.send(Kind::kError, frame.task_id,
                 serialization::encode(serialization::ErrorReply{
                     "forkpool::UnknownTask", "this worker has no task with id " +
                                                  std::to_string(call.function)}));
    return;
  }
  io::Payload result;
  try {
    entry->invoke(entry->function, call.args, result);
  } catch (...) {
    channel.send(Kind::kError, frame.task_id,
                 serialization::encode(describe_current_exception()));
    return;
  }
  try {
    channel.send(Kind::kResult, frame.task_id, result);
  } catch (const MessageTooLarge& e) {
    // Nothing was written: fail this task, keep serving.
    channel.send(Kind::kError, frame.task_id,
                 serialization::encode(serialization::ErrorReply{"forkpool::MessageTooLarge",
                                                                 e.what()}));
  }
}

}  // namespace

int run_worker(io::Fd tasks_in, io::Fd results_out, const WorkerConfig& config) {
  Channel channel(results_out, config.max_frame);
  io::BlockingReader reader(tasks_in, {.max_frame = config.max_frame});
  try {
    install_forwarding_logger([&channel](int level, const std::string& text) {
      channel.send(Kind::kLog, 0, serialization::encode(serialization::LogLine{level, text}));
    });
    channel.send(Kind::kHello, 0,
                 serialization::encode(
                     serialization::hello_from_this_process(config.worker_id, config.max_frame)));

    while (auto frame = reader.read_frame()) {
      switch (static_cast<Kind>(frame->kind)) {
        case Kind::kTask:
          run_task(channel, *frame);
          break;
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
          return 0;
        case Kind::kHeartbeat:
          channel.send(Kind::kHeartbeat, frame->task_id, {});
          break;
        default:
          throw ProtocolError("a worker cannot handle a " +
                              serialization::kind_name(frame->kind) + " frame");
      }
    }
    return 0;  // EOF: the parent closed our task pipe.
  } catch (const PeerGone&) {
    return kWorkerExitParentGone;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "forkpool worker %d: %s\n", static_cast<int>(::getpid()), e.what());
    return kWorkerExitProtocolError;
  }
}

}  // namespace forkpool::workers
