// Input streamed to a running task (forkpool/task_input.h): TaskInput frames out, InputTaken
// frames in.
//
// A TaskInput frame is written by the sender's own thread with the worker's write token held
// (WorkerSlot::writing), as a big Task frame is: without the pool's mutex, so a large input
// stalls nobody, and with nobody else writing to that worker meanwhile. The token also keeps
// the slot alive: the collector defers the worker's death until the write's outcome is known.
#include "forkpool/task_input.h"

#include <algorithm>

#include "forkpool/errors.h"
#include "orchestrator/pool_core.h"
#include "serialization/messages.h"

namespace forkpool {

bool TaskInput::send_to(Pool& pool, Key task, std::span<const char> bytes, bool end) {
  return pool.core_->send_task_input(static_cast<const detail::FutureState*>(task), bytes, end);
}

void TaskInput::on_taken(Pool& pool, std::function<void(Key)> taken) {
  pool.core_->on_input_taken(std::move(taken));
}

}  // namespace forkpool

namespace forkpool::orchestrator {

using serialization::Kind;

bool PoolCore::send_task_input(const detail::FutureState* target, std::span<const char> bytes,
                               bool end) {
  Settlements out;
  Lock lock(mutex_);
  WorkerSlot* slot = nullptr;
  for (;;) {
    // The worker running it: the task at the head of its in_flight.
    auto it = std::find_if(slots_.begin(), slots_.end(), [&](const auto& entry) {
      const WorkerSlot& s = *entry.second;
      return s.serving() && !s.in_flight.empty() && s.in_flight.front().state.get() == target;
    });
    if (it == slots_.end() || target == nullptr) return false;
    slot = it->second.get();
    if (!slot->writing) break;
    changed_.wait(lock);  // finish_claim (or another input's write) notifies
  }
  const std::uint64_t head = slot->in_flight.front().id;
  slot->writing = true;
  lock.unlock();
  std::exception_ptr error;
  try {
    slot->writer.write_frame(static_cast<std::uint8_t>(Kind::kTaskInput),
                             end ? serialization::kInputEnd : 0, head, bytes);
  } catch (...) {
    error = std::current_exception();
  }
  lock.lock();
  finish_input_write(*slot, head, error, out);
  write_claims(lock, out, Writer::kCaller);
  lock.unlock();
  settle(out);
  return !error;
}

// What finish_claim does after a write, for a frame that carries no task: the token goes back,
// Cancels owed meanwhile go out, and a reply taken meanwhile (which left the next step to the
// token's holder) starts the next task or makes the worker idle.
void PoolCore::finish_input_write(WorkerSlot& slot, std::uint64_t head,
                                  const std::exception_ptr& error, Settlements& out) {
  slot.writing = false;
  if (error) {
    // Its tasks fail (or go back to the queue) when its death is handled, as any worker's: a
    // worker gone is a death; one that stopped reading fails them with what the write met.
    bool gone = false;
    try {
      std::rethrow_exception(error);
    } catch (const PeerGone&) {
      gone = true;
    } catch (...) {
    }
    slot.owed_cancels.clear();
    drop_worker(slot, gone ? nullptr : error);
  } else {
    send_owed_cancels(slot);
  }
  if (slot.exit_deferred) {
    wake_.signal();  // the collector handles its death now that the write's fate is known
  } else if (slot.serving() && slot.in_flight.empty()) {
    make_idle(slot, Clock::now());
  } else if (slot.serving() && slot.in_flight.front().id != head) {
    start_head(slot, Clock::now());
  }
  dispatch(out);
  changed_.notify_all();
}

void PoolCore::on_input_taken(std::function<void(const void*)> taken) {
  Lock lock(mutex_);
  input_taken_ = std::move(taken);
}

void PoolCore::handle_input_taken(WorkerSlot& slot, const io::Frame& frame) {
  serialization::expect_empty(frame.kind, frame.payload);
  // Only the running task takes input; anything else is late (the task settled) and dropped.
  if (!input_taken_ || slot.in_flight.empty() || slot.in_flight.front().id != frame.task_id) return;
  if (const auto& state = slot.in_flight.front().state) input_taken_(state.get());
}

}  // namespace forkpool::orchestrator
