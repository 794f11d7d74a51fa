// The callers' side of the pool: submit and enqueue (with backpressure), and cancel.
#include <algorithm>

#include "orchestrator/pool_core.h"
#include "serialization/messages.h"

namespace forkpool::orchestrator {

using serialization::Kind;

namespace {
// Future::cancel() of a task submitted to the pool; one for the pool's every future.
class PoolFutureHooks : public detail::FutureHooks {
 public:
  explicit PoolFutureHooks(std::weak_ptr<CancelLink> link) : link_(std::move(link)) {}
  bool cancel(detail::FutureState& state) override {
    return PoolCore::cancel_through(link_, &state);
  }

 private:
  std::weak_ptr<CancelLink> link_;
};
}  // namespace

std::shared_ptr<detail::FutureHooks> PoolCore::make_future_hooks(
    const std::shared_ptr<CancelLink>& link) {
  return std::make_shared<PoolFutureHooks>(link);
}

std::shared_ptr<detail::FutureState> PoolCore::new_state() {
  std::shared_ptr<detail::FutureState> state = detail::make_future_state();
  state->set_hooks(future_hooks_);
  return state;
}

std::shared_ptr<detail::FutureState> PoolCore::submit(detail::TaskId function,
                                                      const std::string* name, detail::Payload task,
                                                      const TaskOptions& call, bool chunk) {
  auto state = new_state();
  Call one{function, name, std::move(task), call, state, chunk};
  enqueue({&one, 1}, false);
  return state;
}

void PoolCore::check_accepting() const {
  if (state_ != State::kRunning) throw PoolClosed("close() or terminate() was called");
  if (!broken_.empty()) throw PoolBroken(broken_);
}

void PoolCore::wait_for_room(Lock& lock, std::size_t calls) {
  const std::size_t capacity = options_.queue_capacity;
  // A batch larger than the whole queue may still enter an empty one.
  const auto room = [&] { return queue_.empty() || queue_.size() + calls <= capacity; };
  if (capacity == 0 || room()) return;
  if (options_.on_full == OnFull::kFail) throw QueueFull(capacity);
  // Room is made by the collector, which may be the very thread running this callback.
  if (detail::in_ready_callback_of(this)) {
    throw UsageError(
        "a submit that waits for room in the full queue inside an on_ready callback of the "
        "same pool would wait for the thread that makes room (the callback may hold it up); "
        "submit after the callback returns, or use OnFull::kFail");
  }
  ++blocked_submitters_;
  room_.wait(lock, [&] { return room() || state_ != State::kRunning || !broken_.empty(); });
  --blocked_submitters_;
  check_accepting();
}

void PoolCore::enqueue(std::span<Call> calls, bool batch) {
  // Each call's Task payload was encoded in the caller's thread, before the mutex.
  Settlements out;
  {
    Lock lock(mutex_);
    check_accepting();
    wait_for_room(lock, calls.size());
    const std::uint64_t batch_id = batch && calls.size() > 1 ? next_batch_id_++ : 0;
    for (Call& call : calls) {
      if (call.state->ready()) continue;  // a batch's call cancelled while the batch was sent
      ++stats_.submitted;
      if (call.task.size() > options_.max_frame) {
        ++stats_.failed;
        out.push_back(
            {std::move(call.state),
             {},
             std::make_exception_ptr(MessageTooLarge(call.task.size(), options_.max_frame))});
        continue;
      }
      PendingTask task{next_task_id_++, call.name, std::move(call.task), std::move(call.state)};
      task.timeout = call.options.timeout.value_or(options_.task_timeout);
      task.retries_left = std::max(0, call.options.retries.value_or(options_.retries));
      task.flags = call.chunk ? serialization::kTaskChunk : 0;
      task.batch = batch_id;
      if (call.run) {
        // Call i of the run is answered as task id + i.
        stats_.submitted += call.run->size() - 1;
        next_task_id_ += call.run->size() - 1;
        task.flags = serialization::kTaskRun;
        task.replies_held = true;
        task.run = std::move(call.run);
      }
      queue_.push_back(std::move(task));
    }
    dispatch(out);
    // Workers may have retired while idle: the collector starts what the queue needs.
    if (!queue_.empty() && idle_.empty() && options_.idle_timeout.count() > 0) wake_.signal();
    // This thread writes the frames it claimed an idle worker for, without the mutex.
    write_claims(lock, out, Writer::kCaller);
  }
  settle(out);
}

bool PoolCore::cancel_through(const std::weak_ptr<CancelLink>& link,
                              const detail::FutureState* target) {
  auto alive = link.lock();
  if (!alive) return false;
  Settlements out;
  bool cancelled = false;
  {
    // The link's mutex keeps the pool alive meanwhile; settling (which may run an on_ready
    // callback that cancels another task) happens after both locks are released.
    std::lock_guard link_lock(alive->mutex);
    if (alive->core == nullptr) return false;
    Lock lock(alive->core->mutex_);
    cancelled = alive->core->cancel_locked(target, out);
  }
  settle(out);
  return cancelled;
}

std::size_t PoolCore::cancel_all() {
  Settlements out;
  std::size_t n = 0;
  {
    Lock lock(mutex_);
    std::vector<const detail::FutureState*> targets;
    // A run's calls one by one: the run's own state is no caller's.
    const auto add = [&](const PendingTask& task) {
      if (!task.run) {
        if (task.state) targets.push_back(task.state.get());
        return;
      }
      for (std::size_t i = task.run->answered; i < task.run->size(); ++i) {
        if (!task.run->gone[i]) targets.push_back(task.run->states[i].get());
      }
    };
    for (const PendingTask& task : queue_) add(task);
    for (const auto& [id, slot] : slots_) {
      for (const PendingTask& task : slot->in_flight) add(task);
    }
    for (const detail::FutureState* target : targets) n += cancel_locked(target, out) ? 1 : 0;
  }
  settle(out);
  return n;
}

bool PoolCore::cancel_locked(const detail::FutureState* target, Settlements& out) {
  auto queued = std::find_if(queue_.begin(), queue_.end(),
                             [&](const PendingTask& t) { return t.state.get() == target; });
  if (queued != queue_.end()) {
    ++stats_.cancelled;
    out.push_back({std::move(queued->state),
                   {},
                   std::make_exception_ptr(TaskCancelled(queued->id, *queued->name, false)),
                   true});
    queue_.erase(queued);
    room_made();
    if (state_ != State::kRunning) wake_.signal();  // closing: the pool may be idle now
    changed_.notify_all();
    return true;
  }
  for (auto& [id, slot] : slots_) {
    for (std::size_t i = 0; i < slot->in_flight.size(); ++i) {
      PendingTask& task = slot->in_flight[i];
      if (task.run) {
        const std::optional<std::size_t> call = find_run_call(task, target);
        if (!call) continue;
        cancel_run_call(*slot, i, *call, out);
      } else if (task.state.get() == target) {
        cancel_in_flight(*slot, i, out);
      } else {
        continue;
      }
      changed_.notify_all();
      return true;
    }
  }
  return cancel_queued_run_call(target, out);
}

std::optional<std::size_t> PoolCore::find_run_call(const PendingTask& task,
                                                   const detail::FutureState* target) {
  const RunCalls& run = *task.run;
  for (std::size_t i = run.answered; i < run.size(); ++i) {
    if (run.states[i].get() == target) {
      if (run.gone[i]) return std::nullopt;  // settled already, or settling now
      return i;
    }
  }
  return std::nullopt;
}

// A call of a queued run: let go now, and left out of the run's frame when it is sent
// (dispatch.cc), so it never runs. A run whose every call is let go leaves the queue.
bool PoolCore::cancel_queued_run_call(const detail::FutureState* target, Settlements& out) {
  for (auto queued = queue_.begin(); queued != queue_.end(); ++queued) {
    if (!queued->run) continue;
    const std::optional<std::size_t> call = find_run_call(*queued, target);
    if (!call) continue;
    RunCalls& run = *queued->run;
    run.gone[*call] = true;
    ++stats_.cancelled;
    out.push_back({std::move(run.states[*call]),
                   {},
                   std::make_exception_ptr(TaskCancelled(queued->id + *call, *queued->name, false)),
                   true});
    if (std::find(run.gone.begin(), run.gone.end(), false) == run.gone.end()) {
      queue_.erase(queued);  // its own state is dropped unsettled: every call is settled
      room_made();
      if (state_ != State::kRunning) wake_.signal();
    }
    changed_.notify_all();
    return true;
  }
  return false;  // settled already, or settling now
}

// A call of a run that is in a worker: let go, and the worker told (it skips the call if it
// has not started it, and answers CancelAck in its turn). The call the pool believes running,
// the run's first unanswered one at the head of the worker, is stopped as any running task is.
void PoolCore::cancel_run_call(WorkerSlot& slot, std::size_t index, std::size_t call,
                               Settlements& out) {
  PendingTask& task = slot.in_flight[index];
  RunCalls& run = *task.run;
  const bool running = index == 0 && call == run.answered;
  const std::uint64_t call_id = task.id + call;
  run.gone[call] = true;
  ++stats_.cancelled;
  out.push_back({std::move(run.states[call]),
                 {},
                 std::make_exception_ptr(TaskCancelled(call_id, *task.name, running)),
                 true});
  if (!slot.serving()) return;  // it is going anyway
  if (slot.writing) {
    slot.owed_cancels.push_back(call_id);
    return;
  }
  try {
    slot.writer.write_frame(static_cast<std::uint8_t>(Kind::kCancel), 0, call_id, {});
  } catch (const std::exception&) {
    drop_worker(slot, nullptr);  // its death requeues the rest
    return;
  }
  if (running && slot.state == WorkerSlot::State::kReady) ask_cancel(slot, Clock::now());
}

void PoolCore::cancel_in_flight(WorkerSlot& slot, std::size_t index, Settlements& out) {
  PendingTask& task = slot.in_flight[index];
  const bool running = index == 0;
  ++stats_.cancelled;
  // The entry stays, without its future, until the worker answers for it or dies.
  out.push_back({std::move(task.state),
                 {},
                 std::make_exception_ptr(TaskCancelled(task.id, *task.name, running)),
                 true});
  task.payload.reset();
  task.retries_left = 0;
  if (!slot.serving()) return;  // it is going anyway
  if (slot.writing) {
    // Its frame is being written: the Cancel follows it, and the token's holder starts the
    // cancel grace once the task has started (start_head).
    slot.owed_cancels.push_back(task.id);
    return;
  }
  try {
    slot.writer.write_frame(static_cast<std::uint8_t>(Kind::kCancel), 0, task.id, {});
  } catch (const std::exception&) {
    drop_worker(slot, nullptr);  // its death requeues the rest
    return;
  }
  if (running && slot.state == WorkerSlot::State::kReady) ask_cancel(slot, Clock::now());
}

}  // namespace forkpool::orchestrator
