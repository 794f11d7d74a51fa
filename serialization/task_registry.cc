#include "forkpool/detail/task_registry.h"

#include <xxhash.h>

#include <algorithm>

#include "forkpool/errors.h"

namespace forkpool::detail {

TaskId task_id_of(std::string_view name) { return XXH3_64bits(name.data(), name.size()); }

TaskRegistry& TaskRegistry::instance() {
  static TaskRegistry registry;
  return registry;
}

void TaskRegistry::add(TaskEntry entry) {
  for (const TaskEntry& e : entries_) {
    if (e.id == entry.id) {
      problem_ = "two tasks are registered as '" + entry.name + "'";
      return;
    }
  }
  entries_.push_back(std::move(entry));
}

const TaskEntry* TaskRegistry::find(TaskId id) const {
  for (const TaskEntry& e : entries_) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

const TaskEntry* TaskRegistry::find(ErasedFunction function) const {
  for (const TaskEntry& e : entries_) {
    if (e.function == function) return &e;
  }
  return nullptr;
}

std::uint64_t TaskRegistry::hash() const {
  std::vector<std::string> lines;
  for (const TaskEntry& e : entries_) lines.push_back(e.name + '\0' + e.signature);
  std::sort(lines.begin(), lines.end());
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  for (const std::string& line : lines) XXH3_64bits_update(state, line.data(), line.size() + 1);
  std::uint64_t digest = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return digest;
}

const TaskEntry& registered_task(ErasedFunction function) {
  const TaskEntry* entry = TaskRegistry::instance().find(function);
  if (entry == nullptr) {
    throw UnknownTask(
        "this function is not a registered task: register it with FORKPOOL_TASK(name, function)");
  }
  return *entry;
}

}  // namespace forkpool::detail
