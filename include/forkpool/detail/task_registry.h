// The task registry: every FORKPOOL_TASK in the program, filled before main and read-only
// after. Implementation detail of the public templates; not part of the stable API.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "forkpool/detail/archive.h"
#include "forkpool/detail/payload.h"

namespace forkpool::detail {

using TaskId = std::uint64_t;
using ErasedFunction = void (*)();
// Decodes the arguments from `args` (ProtocolError if they do not decode), calls the function,
// and appends the encoded result to `result`. Exceptions from the function propagate.
using Invoker = void (*)(ErasedFunction fn, std::span<const char> args, Payload& result);

struct TaskEntry {
  std::string name;
  TaskId id;
  std::string signature;  // the function type, as the compiler names it
  ErasedFunction function;
  Invoker invoke;
  // The same for a map chunk (detail/chunk.h): decodes every call's arguments, calls the
  // function for each, and appends one chunk result. A call that throws is one outcome; it
  // does not stop the others.
  Invoker invoke_chunk;
};

// The id of a task name: stable across processes and builds.
TaskId task_id_of(std::string_view name);

class TaskRegistry {
 public:
  static TaskRegistry& instance();

  // Called by static initializers only. A second task with the same name is a fatal
  // configuration error reported on the first use of the registry.
  void add(TaskEntry entry);

  // Binary searches: every call looks its task up (the caller by function, the worker by id),
  // and a program may register hundreds. By function, the first registered wins.
  const TaskEntry* find(TaskId id) const;
  const TaskEntry* find(ErasedFunction function) const;

  // Hash over every registered name and signature: a worker whose registry differs refuses
  // to serve (the Hello handshake compares it).
  std::uint64_t hash() const;
  // Empty if the registry is consistent, else why not (for example, a duplicate name).
  const std::string& problem() const { return problem_; }
  std::size_t size() const { return entries_.size(); }

 private:
  std::vector<TaskEntry> entries_;
  // Indices into entries_, sorted by id and by function (then by index).
  std::vector<std::pair<TaskId, std::size_t>> by_id_;
  std::vector<std::pair<ErasedFunction, std::size_t>> by_function_;
  std::string problem_;
};

}  // namespace forkpool::detail
