#include "workers/task_input.h"

#include <deque>
#include <mutex>
#include <utility>

#include "serialization/messages.h"
#include "workers/worker_loop.h"

namespace forkpool::workers {
namespace {

// Where a TaskInput frame goes: the stream of the task it names, if that task has one now.
// The reader (the worker loop's thread) fills it; the task's feeding thread empties it.
struct Mailbox {
  std::mutex mutex;
  std::uint64_t task_id = 0;  // whose stream is open; 0: none
  io::EventFd* ready = nullptr;
  std::deque<TaskInputStream::Chunk> chunks;
};

Mailbox& mailbox() {
  static Mailbox box;
  return box;
}

}  // namespace

void take_task_input(std::uint64_t task_id, std::uint8_t flags, io::Payload bytes) {
  Mailbox& box = mailbox();
  std::lock_guard lock(box.mutex);
  if (task_id == 0 || task_id != box.task_id) return;
  box.chunks.push_back({std::move(bytes), (flags & serialization::kInputEnd) != 0});
  box.ready->signal();
}

TaskInputStream::TaskInputStream(std::uint64_t task_id) : task_id_(task_id) {
  Mailbox& box = mailbox();
  std::lock_guard lock(box.mutex);
  box.task_id = task_id;
  box.ready = &ready_;
  box.chunks.clear();
}

TaskInputStream::~TaskInputStream() {
  Mailbox& box = mailbox();
  std::lock_guard lock(box.mutex);
  if (box.task_id != task_id_) return;
  box.task_id = 0;
  box.ready = nullptr;
  box.chunks.clear();
}

std::optional<TaskInputStream::Chunk> TaskInputStream::next() {
  Mailbox& box = mailbox();
  std::lock_guard lock(box.mutex);
  ready_.clear();
  if (box.task_id != task_id_ || box.chunks.empty()) return std::nullopt;
  Chunk chunk = std::move(box.chunks.front());
  box.chunks.pop_front();
  if (!box.chunks.empty()) ready_.signal();  // one more waits
  return chunk;
}

void TaskInputStream::taken() {
  send_task_frame(static_cast<std::uint8_t>(serialization::Kind::kInputTaken), task_id_);
}

}  // namespace forkpool::workers
