// Supervision: task timeouts, the stop escalation of cancelled, timed-out, retired and closing
// workers (each a workers::StopPlan), and idle retirement. Run by the collector, under the
// mutex, each time round its loop; it returns when it must next look.
#include <poll.h>
#include <signal.h>

#include <algorithm>

#include "forkpool/worker.h"
#include "io/syscalls.h"
#include "orchestrator/pool_core.h"
#include "orchestrator/retry_policy.h"
#include "serialization/messages.h"

namespace forkpool::orchestrator {
namespace {

using serialization::Kind;
using workers::kAsk;
using workers::StopPlan;

std::chrono::steady_clock::time_point earliest(std::chrono::steady_clock::time_point a,
                                               std::chrono::steady_clock::time_point b) {
  return a < b ? a : b;
}

}  // namespace

io::Deadline PoolCore::supervise(Clock::time_point now, Settlements& out) {
  Clock::time_point next = Clock::time_point::max();
  for (auto& [id, slot_ptr] : slots_) {
    WorkerSlot& slot = *slot_ptr;
    // Its answer may be waiting in the pipe: read it before judging the worker late (a
    // timeout that fires on a task that has finished would stop the task behind it).
    if (deadline_passed(slot, now) && answer_waiting(slot)) {
      next = now;
      continue;
    }
    if (auto at = check_timeout(slot, now, out)) next = earliest(next, *at);
    escalate(slot, now);
    if (slot.stop.pending()) next = earliest(next, slot.stop.deadline());
  }
  if (auto at = retire_idle(now)) next = earliest(next, *at);
  if (next == Clock::time_point::max()) return std::nullopt;
  return std::chrono::ceil<std::chrono::milliseconds>(next - now);
}

bool PoolCore::deadline_passed(const WorkerSlot& slot, Clock::time_point now) const {
  if (slot.stop.pending() && now >= slot.stop.deadline()) return true;
  if (slot.state != WorkerSlot::State::kReady || slot.writing || slot.in_flight.empty()) {
    return false;
  }
  const PendingTask& head = slot.in_flight.front();
  return head.state && head.timeout.count() > 0 &&
         now >= StopPlan::after(slot.head_since, head.timeout);
}

bool PoolCore::answer_waiting(WorkerSlot& slot) const {
  const bool awaited = slot.state == WorkerSlot::State::kCancelling ||
                       (slot.state == WorkerSlot::State::kReady && !slot.in_flight.empty());
  return awaited && slot.reading &&
         (slot.reader.buffered() != 0 ||
          io::poll_one(slot.from_worker.get(), POLLIN, std::chrono::milliseconds(0)) != 0);
}

std::optional<PoolCore::Clock::time_point> PoolCore::check_timeout(WorkerSlot& slot,
                                                                   Clock::time_point now,
                                                                   Settlements& out) {
  // A task's clock starts once its frame is written (finish_claim starts it).
  if (slot.state != WorkerSlot::State::kReady || slot.writing || slot.in_flight.empty()) {
    return std::nullopt;
  }
  const PendingTask& head = slot.in_flight.front();
  if (!head.state || head.timeout.count() <= 0) return std::nullopt;
  const auto at = StopPlan::after(slot.head_since, head.timeout);
  if (now < at) return at;
  time_out(slot, now, out);
  return std::nullopt;
}

void PoolCore::escalate(WorkerSlot& slot, Clock::time_point now) {
  const std::optional<workers::StopStep> step = slot.stop.due(now);
  if (!step) return;
  if (slot.state == WorkerSlot::State::kCancelling) {
    task_logger().warn(
        "forkpool: worker pid {} did not stop a cancelled task within {} ms; "
        "stopping the worker",
        slot.child.pid(), options_.cancel_grace.count());
    ++stats_.workers_stopped;
    idle_.erase(std::remove(idle_.begin(), idle_.end(), &slot), idle_.end());
    slot.state = WorkerSlot::State::kLeaving;
  }
  if (step->signal != kAsk) slot.child.signal(step->signal);
}

std::optional<PoolCore::Clock::time_point> PoolCore::retire_idle(Clock::time_point now) {
  if (options_.idle_timeout.count() <= 0 || state_ != State::kRunning) return std::nullopt;
  std::optional<Clock::time_point> next;
  unsigned live = live_workers();
  // The bottom of the stack has been idle longest.
  while (!idle_.empty() && live > options_.min_workers) {
    WorkerSlot* oldest = idle_.front();
    const auto at = StopPlan::after(oldest->idle_since, options_.idle_timeout);
    if (now < at) return next ? earliest(*next, at) : at;
    ++stats_.workers_retired;
    retire_worker(*oldest, now);
    --live;
    if (oldest->stop.pending()) {
      next = next ? earliest(*next, oldest->stop.deadline()) : oldest->stop.deadline();
    }
  }
  return next;
}

void PoolCore::time_out(WorkerSlot& slot, Clock::time_point now, Settlements& out) {
  PendingTask& head = slot.in_flight.front();
  // The entry stays, let go (without its future, frame or history), so a late reply for it is
  // dropped.
  PendingTask task = std::exchange(head, PendingTask{.id = head.id,
                                                     .name = head.name,
                                                     .timeout = head.timeout,
                                                     .retries_left = head.retries_left,
                                                     .flags = head.flags,
                                                     .batch = head.batch});
  ++stats_.timed_out;
  const double seconds = std::chrono::duration<double>(task.timeout).count();
  auto error = std::make_exception_ptr(TaskTimeout(task.id, *task.name, slot.child.pid(), seconds));
  task_logger().warn("forkpool: {}", what_of(error));
  if (fail_task(std::move(task), error, out)) ++stats_.failed;
  stop_worker(slot, now);
}

void PoolCore::ask_cancel(WorkerSlot& slot, Clock::time_point now) {
  slot.state = WorkerSlot::State::kCancelling;
  // The ask (its Cancel frame) has been sent by whoever cancelled the task.
  slot.stop = {{kAsk, options_.cancel_grace}, {SIGTERM, options_.kill_grace}, {SIGKILL, {}}};
  slot.stop.start(now);
  wake_.signal();  // the collector keeps the deadline
}

void PoolCore::stop_worker(WorkerSlot& slot, Clock::time_point now) {
  idle_.erase(std::remove(idle_.begin(), idle_.end(), &slot), idle_.end());
  ++stats_.workers_stopped;
  slot.state = WorkerSlot::State::kLeaving;
  slot.stop = {{SIGTERM, options_.kill_grace}, {SIGKILL, {}}};
  slot.child.signal(slot.stop.start(now).signal);
}

void PoolCore::retire_worker(WorkerSlot& slot, Clock::time_point now) {
  idle_.erase(std::remove(idle_.begin(), idle_.end(), &slot), idle_.end());
  slot.state = WorkerSlot::State::kLeaving;
  slot.stop = {{kAsk, options_.shutdown_grace}, {SIGKILL, {}}};
  slot.stop.start(now);
  try {
    slot.writer.write_frame(static_cast<std::uint8_t>(Kind::kShutdown), 0, 0, {});
  } catch (const std::exception&) {
    slot.child.signal(SIGKILL);
    slot.stop = {};
  }
}

io::Deadline PoolCore::shut_down(Clock::time_point now) {
  if (state_ == State::kClosing && !closing_.started() && idle()) {
    for (auto& [id, slot] : slots_) {
      slot->state = WorkerSlot::State::kLeaving;
      slot->stop = {};  // the pool's own plan covers it
      try {
        slot->writer.write_frame(static_cast<std::uint8_t>(Kind::kShutdown), 0, 0, {});
      } catch (const std::exception&) {
        slot->child.signal(SIGKILL);
      }
    }
    idle_.clear();
    closing_ = {{kAsk, options_.shutdown_grace}, {SIGKILL, {}}};
    closing_.start(now);
  }
  const bool kill = state_ == State::kTerminating ? !killed_all_ : closing_.due(now).has_value();
  if (kill) {
    for (auto& [id, slot] : slots_) slot->child.signal(SIGKILL);
    killed_all_ = true;
  }
  if (!closing_.pending()) return std::nullopt;
  return std::chrono::ceil<std::chrono::milliseconds>(closing_.deadline() - now);
}

}  // namespace forkpool::orchestrator
