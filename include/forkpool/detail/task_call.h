// A call's Task payload, built once by the submitting thread. Implementation detail of the
// public templates; not part of the stable API.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <utility>

#include "forkpool/detail/archive.h"
#include "forkpool/detail/little_endian.h"
#include "forkpool/detail/payload.h"
#include "forkpool/task.h"

namespace forkpool::detail {

// The bytes in front of a Task payload's argument archive: the function id.
inline constexpr std::size_t kTaskFunctionBytes = sizeof(TaskId);

// What a call names: the task's id and its name (the Task handle's or the registry's, which
// outlive the call).
struct TaskCallName {
  TaskId function = 0;
  const std::string* name = nullptr;
};

// Replaces `out` with the Task payload of a call of `function` (serialization::encode_task's
// layout: the function id, little-endian, then the arguments encoded by the rule of
// encode_arguments), keeping out's storage. Written in one buffer: encoding the arguments alone
// and then copying them behind the id cost a second allocation and a copy per call.
template <typename... Args, typename... Values>
void encode_task_payload(Payload& out, TaskId function, Values&&... values) {
  out.clear();
  if constexpr (kPlainBytes<std::decay_t<Args>...>) {
    // Plain values (detail/archive.h): the whole payload is built on the stack and assigned at
    // once. Appending the values behind the id instead inlines the vector's growth, about
    // which GCC 12 at -O3 warns falsely (see encode_values) in every client that submits.
    char bytes[kTaskFunctionBytes + (sizeof(std::decay_t<Args>) + ...)];
    store_le(bytes, function);
    char* p = bytes + kTaskFunctionBytes;
    const auto put = [&p](const auto& value) {
      std::memcpy(p, &value, sizeof value);
      p += sizeof value;
    };
    (put(as_parameter<Args>(std::forward<Values>(values))), ...);
    out.assign(bytes, bytes + sizeof bytes);
  } else {
    char id[kTaskFunctionBytes];
    store_le(id, function);
    out.reserve(64);  // a few small values in one allocation; bigger ones grow as they go
    out.assign(id, id + kTaskFunctionBytes);
    if constexpr (sizeof...(Args) > 0) {
      encode_values(out, as_parameter<Args>(std::forward<Values>(values))...);
    }
  }
}

// A call ready to queue: its Task payload into `out`, and the task's id and name (the Task
// handle's or the registry's, which outlive the call).
template <typename R, typename... Args, typename... Values>
TaskCallName encode_task_call(Payload& out, const Task<R (*)(Args...)>& task, Values&&... values) {
  static_assert(sizeof...(Args) == sizeof...(Values), "wrong number of task arguments");
  encode_task_payload<Args...>(out, task.id(), std::forward<Values>(values)...);
  return {task.id(), &task.name()};
}
// Throws UnknownTask if no FORKPOOL_TASK registered `function`.
template <typename R, typename... Args, typename... Values>
TaskCallName encode_task_call(Payload& out, R (*function)(Args...), Values&&... values) {
  static_assert(sizeof...(Args) == sizeof...(Values), "wrong number of task arguments");
  const TaskEntry& entry = registered_task(reinterpret_cast<ErasedFunction>(function));
  encode_task_payload<Args...>(out, entry.id, std::forward<Values>(values)...);
  return {entry.id, &entry.name};
}

}  // namespace forkpool::detail
