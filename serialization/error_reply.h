// The Error message: why a worker answered a call without a Result. Its first byte says which
// kind of failure it reports and the fields of that kind follow, so the parent rebuilds the
// typed exception from facts, never from the text of a type name or a message.
//
//   u8 ErrorKind, then (in the task archive)
//     kTaskThrew:      string type_name, string message
//     kNoSuchTask:     u64 function id, bool as_chunk
//     kResultTooLarge: u64 size, u64 max (plain little-endian bytes)
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <exception>
#include <span>
#include <string>
#include <variant>

#include "forkpool/detail/payload.h"
#include "forkpool/detail/task_registry.h"

namespace forkpool::serialization {

using detail::Payload;

enum class ErrorKind : std::uint8_t {
  kTaskThrew = 1,
  kNoSuchTask = 2,
  kResultTooLarge = 3,
};

// The task's function threw.
struct TaskThrew {
  std::string type_name;  // the exception's dynamic type, demangled
  std::string message;    // its what()
  bool operator==(const TaskThrew&) const = default;
};

// The worker has no task with this id (another build of the program), or has it but cannot
// run it as a map chunk.
struct NoSuchTask {
  detail::TaskId function = 0;
  bool as_chunk = false;
  bool operator==(const NoSuchTask&) const = default;
};

// The task's result is larger than the frame limit the parent set, so it was not sent; the
// worker keeps serving.
struct ResultTooLarge {
  std::uint64_t size = 0;
  std::uint64_t max = 0;
  bool operator==(const ResultTooLarge&) const = default;
};

// The alternatives are in ErrorKind's order (index + 1 is the kind byte).
using ErrorReply = std::variant<TaskThrew, NoSuchTask, ResultTooLarge>;

ErrorKind kind_of(const ErrorReply& reply);

Payload encode(const ErrorReply& reply);
// ProtocolError for an empty payload, a kind byte that names no ErrorKind, or fields that do
// not decode from exactly the bytes that follow it.
ErrorReply decode_error(std::span<const char> payload);

// Inside a catch block in a worker: the exception being handled.
TaskThrew describe_current_exception();

// The call a reply answers, as the parent knows it.
struct CallOnWorker {
  const std::string& task_name;
  std::uint64_t task_id = 0;
  pid_t worker_pid = 0;
};

// The exception the caller's future throws for `reply`: RemoteError for TaskThrew,
// UnknownTask for NoSuchTask, MessageTooLarge for ResultTooLarge.
std::exception_ptr exception_for(const ErrorReply& reply, const CallOnWorker& call);

// One phrase that completes "the task ...": "threw std::runtime_error: boom", "is not
// registered in this worker (function id 0x...)", "returned 70000000 bytes, more than
// max_frame's 67108864".
std::string describe(const ErrorReply& reply);

}  // namespace forkpool::serialization
