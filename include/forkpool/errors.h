// The errors forkpool reports. Every one derives from forkpool::Error, carries the facts as
// fields, and reads from what() as one sentence a user can act on.
#pragma once

#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace forkpool {

// The base of every error forkpool throws; catch it to catch them all.
class Error : public std::runtime_error {
 public:
  // `message` is what what() returns: one sentence a user can act on.
  explicit Error(const std::string& message) : std::runtime_error(message) {}

  // For a task submitted with retries: why each earlier attempt failed, oldest first. what()
  // lists them after the last attempt's own message.
  const std::vector<std::string>& earlier_attempts() const { return earlier_attempts_; }
  void set_earlier_attempts(std::vector<std::string> attempts) {
    earlier_attempts_ = std::move(attempts);
    full_.clear();
    if (earlier_attempts_.empty()) return;
    // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, falsely) about
    // `const char* + std::string&&` once this is inlined.
    full_ = std::runtime_error::what();
    full_ += " (the last of ";
    full_ += std::to_string(earlier_attempts_.size() + 1);
    full_ += " attempts; earlier:";
    for (std::size_t i = 0; i < earlier_attempts_.size(); ++i) {
      full_ += ' ';
      full_ += std::to_string(i + 1);
      full_ += ") ";
      full_ += earlier_attempts_[i];
      full_ += i + 1 < earlier_attempts_.size() ? ";" : ")";
    }
  }
  // The message, followed by the earlier attempts' reasons when there were any.
  const char* what() const noexcept override {
    return full_.empty() ? std::runtime_error::what() : full_.c_str();
  }

 private:
  std::vector<std::string> earlier_attempts_;
  std::string full_;
};

// How a process ended: exited with a code, or killed by a signal. A value, not an int, so
// nobody decodes a wait status twice (after folly's ProcessReturnCode).
class ExitStatus {
 public:
  // A process that exited with `code`.
  static ExitStatus exited(int code) { return ExitStatus(code, 0, false); }
  // A process killed by `signal`.
  static ExitStatus signaled(int signal, bool core_dumped) {
    return ExitStatus(0, signal, core_dumped);
  }
  // Decodes a status from waitpid(2).
  static ExitStatus from_wait_status(int status);

  // True if the process exited (with any code).
  bool is_exited() const { return signal_ == 0; }
  // True if a signal killed the process.
  bool is_signaled() const { return signal_ != 0; }
  // The exit code.
  int exit_code() const { return code_; }  // 0 unless is_exited()
  // The signal that killed the process.
  int signal() const { return signal_; }  // 0 unless is_signaled()
  // True if the signal dumped core.
  bool core_dumped() const { return core_; }
  // "exited with code 3", "killed by signal 11 (SIGSEGV, core dumped)".
  std::string str() const;

  // Equal when they describe the same end.
  bool operator==(const ExitStatus&) const = default;

 private:
  ExitStatus(int code, int signal, bool core) : code_(code), signal_(signal), core_(core) {}
  int code_;
  int signal_;
  bool core_;
};

// Something on a pipe was not a valid frame or message. The worker that sent it is dropped.
class ProtocolError : public Error {
 public:
  // what() is "protocol error: " and `message`.
  explicit ProtocolError(const std::string& message) : Error("protocol error: " + message) {}

 protected:
  struct Raw {};
  // For subclasses that word their whole message themselves.
  ProtocolError(Raw, const std::string& message) : Error(message) {}
};

// The stream ended inside a frame.
class TruncatedFrame : public ProtocolError {
 public:
  // The frame's length in bytes, and how many of them arrived.
  TruncatedFrame(std::size_t expected, std::size_t got)
      : ProtocolError(Raw{}, "truncated frame: the stream ended after " + std::to_string(got) +
                                 " of " + std::to_string(expected) + " bytes"),
        expected(expected),
        got(got) {}
  // The frame's length in bytes.
  std::size_t expected;
  // The bytes of it that arrived.
  std::size_t got;
};

// A frame had started but no byte arrived for the stall timeout.
class StalledFrame : public ProtocolError {
 public:
  // The frame's length in bytes, how many arrived, and the stall timeout.
  StalledFrame(std::size_t expected, std::size_t got, double seconds)
      : ProtocolError(Raw{}, "stalled frame: no progress for " + std::to_string(seconds) +
                                 " s after " + std::to_string(got) + " of " +
                                 std::to_string(expected) + " bytes"),
        expected(expected),
        got(got) {}
  // The frame's length in bytes.
  std::size_t expected;
  // The bytes of it that arrived.
  std::size_t got;
};

// The payload does not match the checksum in the frame header; it was never decoded.
class CorruptFrame : public ProtocolError {
 public:
  // `detail` says what did not match.
  explicit CorruptFrame(const std::string& detail)
      : ProtocolError(Raw{}, "corrupt frame: " + detail) {}
};

// An argument or a result does not fit in one frame (Options::max_frame).
class MessageTooLarge : public Error {
 public:
  // The message's size and the limit, in bytes.
  MessageTooLarge(std::size_t size, std::size_t max)
      : Error("message too large: " + std::to_string(size) + " bytes exceeds max_frame of " +
              std::to_string(max) + " bytes; raise Options::max_frame or send less"),
        size(size),
        max(max) {}
  // The message's size in bytes.
  std::size_t size;
  // The limit, Options::max_frame.
  std::size_t max;
};

// The reader of a pipe has gone (EPIPE): the worker exited.
class PeerGone : public Error {
 public:
  PeerGone() : Error("the other end of the pipe is closed") {}
};

// A task threw. The original exception's type and message survive the process boundary.
class RemoteError : public Error {
 public:
  // What the worker reported about the exception, and which task threw it where.
  RemoteError(std::string type_name, std::string message, std::string task_name,
              std::uint64_t task_id, pid_t worker_pid)
      : Error("task '" + task_name + "' (id " + std::to_string(task_id) + ") on worker pid " +
              std::to_string(worker_pid) + " threw " + type_name + ": " + message),
        type_name(std::move(type_name)),
        message(std::move(message)),
        task_name(std::move(task_name)),
        task_id(task_id),
        worker_pid(worker_pid) {}
  // The exception's type, demangled ("std::invalid_argument").
  std::string type_name;
  // The exception's what().
  std::string message;
  // The task's registered name.
  std::string task_name;
  // The call's id.
  std::uint64_t task_id;
  // The worker it ran on.
  pid_t worker_pid;
};

// The worker running a task died before it answered.
class WorkerDied : public Error {
 public:
  // The dead worker, how it ended, the task it took with it, and more facts if known.
  WorkerDied(pid_t pid, ExitStatus status, std::uint64_t task_id, std::string task_name,
             const std::string& detail = {})
      : Error("worker pid " + std::to_string(pid) + " " + status.str() + " while running task '" +
              task_name + "' (id " + std::to_string(task_id) + ")" +
              (detail.empty() ? std::string() : "; " + detail)),
        pid(pid),
        status(status),
        task_id(task_id),
        task_name(std::move(task_name)) {}
  // The dead worker's pid.
  pid_t pid;
  // How the worker ended.
  ExitStatus status;
  // The call's id.
  std::uint64_t task_id;
  // The task's registered name.
  std::string task_name;
};

// A task ran longer than its timeout (Options::task_timeout or TaskOptions::timeout). Its worker
// was stopped (SIGTERM, then SIGKILL) and replaced.
class TaskTimeout : public Error {
 public:
  // The task, the worker it ran on, and the timeout in seconds.
  TaskTimeout(std::uint64_t task_id, std::string task_name, pid_t worker_pid, double seconds)
      : Error("task '" + task_name + "' (id " + std::to_string(task_id) + ") on worker pid " +
              std::to_string(worker_pid) + " timed out after " + std::to_string(seconds) +
              " s; its worker was stopped"),
        task_id(task_id),
        task_name(std::move(task_name)),
        worker_pid(worker_pid),
        seconds(seconds) {}
  // The call's id.
  std::uint64_t task_id;
  // The task's registered name.
  std::string task_name;
  // The worker it ran on.
  pid_t worker_pid;
  double seconds;  // the timeout
};

// Future::cancel() or Pool::cancel_all() was called before the task finished.
class TaskCancelled : public Error {
 public:
  // The task, and whether it had started.
  TaskCancelled(std::uint64_t task_id, std::string task_name, bool was_running)
      : Error("task '" + task_name + "' (id " + std::to_string(task_id) + ") was cancelled " +
              (was_running ? "while it ran" : "before it started")),
        task_id(task_id),
        task_name(std::move(task_name)),
        was_running(was_running) {}
  // The call's id.
  std::uint64_t task_id;
  // The task's registered name.
  std::string task_name;
  // True if the task had started on a worker.
  bool was_running;
};

// submit() found Options::queue_capacity tasks already waiting and Options::on_full is kFail.
// Nothing was queued.
class QueueFull : public Error {
 public:
  // `capacity` is Options::queue_capacity.
  explicit QueueFull(std::size_t capacity)
      : Error("queue full: " + std::to_string(capacity) +
              " tasks are already waiting (Options::queue_capacity); retry later or use "
              "OnFull::kBlock"),
        capacity(capacity) {}
  // Options::queue_capacity.
  std::size_t capacity;
};

// The pool was closed or terminated before the task could finish, or after it stopped intake.
class PoolClosed : public Error {
 public:
  // `why` completes "pool closed: ".
  explicit PoolClosed(const std::string& why) : Error("pool closed: " + why) {}
};

// Workers kept dying (a crash loop) or could not be started; the pool stopped respawning.
class PoolBroken : public Error {
 public:
  // `why` names the last death or failed start.
  explicit PoolBroken(const std::string& why) : Error("pool broken: " + why) {}
};

// A worker answered the handshake with another protocol version or task registry.
class HandshakeError : public Error {
 public:
  // `why` says what differed.
  explicit HandshakeError(const std::string& why) : Error("worker handshake refused: " + why) {}
};

// Batch::submit() after the batch was sent: by send(), by get() or wait() on one of its
// futures, or by its destructor. Nothing was queued.
class BatchSent : public Error {
 public:
  BatchSent()
      : Error(
            "this batch has been sent (by send(), or by waiting on one of its futures) and "
            "takes no more calls; start another with pool.batch()") {}
};

// A function was submitted that is not registered with FORKPOOL_TASK.
class UnknownTask : public Error {
 public:
  // `what` names the function.
  explicit UnknownTask(const std::string& what) : Error(what) {}
};

// The library was called against its contract: get() on a default-constructed Future, or a
// wait for, close() of or destruction of a pool inside an on_ready callback of that pool's own
// futures (which would hang or join the thread that runs the callback). Nothing was changed.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& what) : Error("forkpool usage error: " + what) {}
};

// The pool would need more of a process resource than its limit allows (RLIMIT_NOFILE for the
// pipes and pidfd of every worker); refused up front, before any worker starts.
class ResourceLimit : public Error {
 public:
  ResourceLimit(const std::string& what, std::uint64_t needed, std::uint64_t limit)
      : Error(what), needed(needed), limit(limit) {}
  std::uint64_t needed;
  std::uint64_t limit;
};

inline ExitStatus ExitStatus::from_wait_status(int status) {
  if (WIFSIGNALED(status)) return signaled(WTERMSIG(status), WCOREDUMP(status));
  return exited(WEXITSTATUS(status));
}

inline std::string ExitStatus::str() const {
  if (is_exited()) return "exited with code " + std::to_string(code_);
  const char* abbrev = ::sigabbrev_np(signal_);
  std::string text = "killed by signal " + std::to_string(signal_);
  if (abbrev != nullptr)
    text += std::string(" (SIG") + abbrev + (core_ ? ", core dumped)" : ")");
  else if (core_)
    text += " (core dumped)";
  return text;
}

}  // namespace forkpool
