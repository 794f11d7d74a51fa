#include "forkpool/detail/task_registry.h"

#include <xxhash.h>

#include <algorithm>
#include <functional>

#include "forkpool/errors.h"

namespace forkpool::detail {

TaskId task_id_of(std::string_view name) { return XXH3_64bits(name.data(), name.size()); }

TaskRegistry& TaskRegistry::instance() {
  static TaskRegistry registry;
  return registry;
}

namespace {
// The first element of a sorted index whose key is not less than `key`.
template <typename Key>
auto lower_bound_of(const std::vector<std::pair<Key, std::size_t>>& index, Key key) {
  return std::lower_bound(index.begin(), index.end(), key, [](const auto& element, Key k) {
    return std::less<Key>()(element.first, k);
  });
}
}  // namespace

void TaskRegistry::add(TaskEntry entry) {
  if (find(entry.id) != nullptr) {
    problem_ = "two tasks are registered as '" + entry.name + "'";
    return;
  }
  const std::size_t index = entries_.size();
  // Kept sorted as they come (before main, a few hundred at most): each insert is a move of
  // the entries behind it.
  by_id_.insert(lower_bound_of(by_id_, entry.id), {entry.id, index});
  // Behind every entry of the same function: the first registered is found first.
  auto after = std::upper_bound(
      by_function_.begin(), by_function_.end(), entry.function,
      [](ErasedFunction f, const auto& element) { return std::less<>()(f, element.first); });
  by_function_.insert(after, {entry.function, index});
  entries_.push_back(std::move(entry));
}

const TaskEntry* TaskRegistry::find(TaskId id) const {
  auto it = lower_bound_of(by_id_, id);
  return it != by_id_.end() && it->first == id ? &entries_[it->second] : nullptr;
}

const TaskEntry* TaskRegistry::find(ErasedFunction function) const {
  auto it = lower_bound_of(by_function_, function);
  return it != by_function_.end() && it->first == function ? &entries_[it->second] : nullptr;
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
