// Outcomes: what a worker's reply, or its death, does to the tasks it held: settle them, retry
// them (retry_policy.h), or queue them again; and whether deaths have become a crash loop.
#include <algorithm>

#include "forkpool/detail/task_call.h"
#include "forkpool/worker.h"
#include "orchestrator/pool_core.h"
#include "orchestrator/retry_policy.h"
#include "serialization/messages.h"

namespace forkpool::orchestrator {

using serialization::Kind;

namespace {
// Whether `task_id` names a call of the run at the head of `slot` (the one running).
bool running_run_holds(const WorkerSlot& slot, std::uint64_t task_id) {
  if (slot.in_flight.empty()) return false;
  const PendingTask& head = slot.in_flight.front();
  return head.run && task_id >= head.id && task_id - head.id < head.run->size();
}
}  // namespace

void PoolCore::handle_reply(WorkerSlot& slot, io::Frame& frame, Settlements& out) {
  const auto now = Clock::now();
  if (take_reply(slot, frame.kind, frame.task_id, frame.payload, &frame.payload,
                 now - slot.head_since, out)) {
    after_reply(slot, now, out);
  }
}

void PoolCore::handle_replies(WorkerSlot& slot, const io::Frame& frame, Settlements& out) {
  const std::vector<serialization::ReplyEntry> replies =
      serialization::decode_replies(frame.payload);
  const auto now = Clock::now();
  // The calls ran one after another since the first of them started: each is credited an
  // equal share of that time.
  const auto share = (now - slot.head_since) / static_cast<int>(replies.size());
  bool answered = false;
  for (std::size_t i = 0; i < replies.size();) {
    const std::span<const serialization::ReplyEntry> rest = std::span(replies).subspan(i);
    if (running_run_holds(slot, rest.front().task_id)) {
      // The usual case: the replies to consecutive calls of the running run, in one pass.
      i += take_run_replies(slot, rest, share, out);
      answered = true;
      continue;
    }
    answered = take_reply(slot, rest.front().kind, rest.front().task_id, rest.front().payload,
                          nullptr, share, out) ||
               answered;
    ++i;
  }
  if (answered) after_reply(slot, now, out);
}

bool PoolCore::take_reply(WorkerSlot& slot, std::uint8_t reply_kind, std::uint64_t task_id,
                          std::span<const char> payload, detail::Payload* owned,
                          Clock::duration took, Settlements& out) {
  const auto kind = static_cast<Kind>(reply_kind);
  const auto holds = [&](const PendingTask& t) {
    return t.run ? task_id >= t.id && task_id - t.id < t.run->size() : t.id == task_id;
  };
  // The usual case first: a call of the run that is running.
  if (running_run_holds(slot, task_id)) {
    const serialization::ReplyEntry reply{task_id, reply_kind, payload};
    take_run_replies(slot, std::span(&reply, 1), took, out);
    return true;
  }
  auto it = std::find_if(slot.in_flight.begin(), slot.in_flight.end(), holds);
  if (it == slot.in_flight.end()) {
    // A late reply: its task timed out or was cancelled and has been let go.
    task_logger().debug("forkpool: dropping a {} for task {}, which is not running on worker {}",
                        serialization::kind_name(reply_kind), task_id, slot.child.pid());
    return false;
  }
  if (it != slot.in_flight.begin()) {
    // A worker runs its tasks in order: only a cancelled one it dropped unstarted may be
    // answered out of turn.
    if (kind != Kind::kCancelAck || it->state) {
      throw ProtocolError("a " + serialization::kind_name(reply_kind) + " for task " +
                          std::to_string(task_id) + ", which is not the one running");
    }
    slot.in_flight.erase(it);
    return false;
  }
  // Validate and decode before the task leaves the list: if this throws, the worker is dropped
  // and its death settles (or retries) the task, which must still be there to be found.
  std::exception_ptr error;
  if (kind == Kind::kCancelAck) {
    serialization::expect_empty(reply_kind, payload);
    if (it->state) {
      throw ProtocolError("a CancelAck for task " + std::to_string(it->id) +
                          ", which was not cancelled");
    }
  } else if (kind == Kind::kError && it->state) {
    error = decode_error_reply(slot, *it, payload);
  }
  PendingTask task = std::move(slot.in_flight.front());
  slot.in_flight.pop_front();
  ++slot.tasks_done;
  if (task.state) {
    service_time_.record(took);
    crash_loop_.task_completed();
    if (error) {
      // A task's own exception counts as completed (the pool did its part).
      if (fail_task(std::move(task), error, out)) ++stats_.completed;
    } else {
      ++stats_.completed;
      out.push_back({std::move(task.state),
                     owned != nullptr ? detail::ResultBytes::from(*owned)
                                      : detail::ResultBytes::copy_of(payload),
                     nullptr});
    }
  }
  return true;
}

std::size_t PoolCore::take_run_replies(WorkerSlot& slot,
                                       std::span<const serialization::ReplyEntry> replies,
                                       Clock::duration took, Settlements& out) {
  PendingTask& task = slot.in_flight.front();
  RunCalls& run = *task.run;
  std::size_t taken = 0;
  bool live = false;
  for (const serialization::ReplyEntry& reply : replies) {
    const std::size_t call = run.answered;
    if (call == run.size() || reply.task_id != task.id + call) {
      if (taken != 0 && (call == run.size() || reply.task_id - task.id >= run.size())) break;
      throw ProtocolError("a " + serialization::kind_name(reply.kind) + " for task " +
                          std::to_string(reply.task_id) + " of a run, whose call " +
                          std::to_string(task.id + call) + " is the one running");
    }
    const auto kind = static_cast<Kind>(reply.kind);
    const bool gone = run.gone[call];
    if (kind == Kind::kCancelAck) {
      serialization::expect_empty(reply.kind, reply.payload);
      if (!gone) {
        throw ProtocolError("a CancelAck for task " + std::to_string(reply.task_id) +
                            ", which was not cancelled");
      }
    } else if (!gone) {
      // Decoded before anything is settled: a reply that does not decode drops the worker,
      // whose death then fails or retries this call.
      std::exception_ptr error;
      if (kind == Kind::kError) {
        error = serialization::exception_for(serialization::decode_error(reply.payload),
                                             {*task.name, reply.task_id, slot.child.pid()});
      }
      // Built in place: a tiny result is copied once, from the frame into the settlement.
      Settlement& settlement = out.emplace_back();
      settlement.state = std::move(run.states[call]);
      if (error) {
        settlement.error = std::move(error);
      } else {
        settlement.value.assign(reply.payload);
      }
      ++stats_.completed;  // a call's own exception too, as for a task alone
      live = true;
    }
    ++run.answered;
    ++slot.tasks_done;
    ++taken;
  }
  if (live) {
    service_time_.record(took);  // once for the calls taken: each took the same share
    crash_loop_.task_completed();
  }
  if (run.answered == run.size()) slot.in_flight.pop_front();  // its own state unsettled
  return taken;
}

std::exception_ptr PoolCore::decode_error_reply(const WorkerSlot& slot, const PendingTask& task,
                                                std::span<const char> payload) const {
  return serialization::exception_for(serialization::decode_error(payload),
                                      {*task.name, task.id, slot.child.pid()});
}

void PoolCore::after_reply(WorkerSlot& slot, Clock::time_point now, Settlements& out) {
  // The worker is done with that task (a cancelled one included): it is healthy.
  if (slot.state == WorkerSlot::State::kCancelling) {
    slot.state = WorkerSlot::State::kReady;
    slot.stop = {};
  }
  // While a thread holds its write token, that thread starts the next task (finish_claim).
  if (slot.serving() && !slot.writing) {
    if (!slot.in_flight.empty()) {
      start_head(slot, now);
    } else {
      // Idle before the result is delivered, so a caller that submits again at once finds
      // this worker free instead of queueing behind a busy one.
      make_idle(slot, now);
    }
  }
  dispatch(out);  // to this worker, if idle now, or a retry to another
  changed_.notify_all();
}

bool PoolCore::fail_task(PendingTask task, const std::exception_ptr& error, Settlements& out) {
  const bool accepting =
      broken_.empty() && (state_ == State::kRunning || state_ == State::kClosing);
  if (should_retry(task.retries_left, accepting, error)) {
    task.attempts.push_back(what_of(error));
    --task.retries_left;
    ++stats_.retried;
    task.id = next_task_id_++;  // a late reply for the failed attempt must not match
    task.state->set_pending();
    queue_.push_front(std::move(task));  // it has waited its turn already
    return false;
  }
  if (!task.attempts.empty()) set_earlier_attempts(error, std::move(task.attempts));
  out.push_back({std::move(task.state), {}, error});
  return true;
}

void PoolCore::record_death(WorkerSlot& slot, const ExitStatus& status, Settlements& out) {
  if (!slot.in_flight.empty()) {
    release_in_flight(slot, status, out);
  } else if (slot.state != WorkerSlot::State::kLeaving) {
    task_logger().warn("forkpool: worker pid {}{} {}{}{}", slot.child.pid(),
                       slot.host.empty() ? std::string() : " on host '" + slot.host + "'",
                       status.str(), slot.became_ready ? "" : " before its handshake",
                       slot.failure ? ": " + what_of(slot.failure) : std::string());
  }
  if (slot.state == WorkerSlot::State::kLeaving) return;  // we asked it to go
  judge_death(slot, status, out);
}

void PoolCore::release_in_flight(WorkerSlot& slot, const ExitStatus& status, Settlements& out) {
  if (slot.in_flight.front().replies_held) {
    // The worker held the replies of the calls it ran: which of the unanswered ones ran, and
    // which one it died in, is lost with it. Each runs again alone, answered on its own, so
    // the one that kills a worker again fails with WorkerDied by itself, and no other fails.
    requeue_in_flight(slot, out, /*alone=*/true);
    return;
  }
  // The first task was running unless it had been let go (cancelled, timed out): then the
  // worker was stuck in that one and the rest never started. A live first task may have
  // started even in a worker the pool stopped (it answered for the one let go just before),
  // so it fails like any task whose worker died, and runs again only if it has retries.
  if (slot.in_flight.front().state) {
    PendingTask running = std::move(slot.in_flight.front());
    slot.in_flight.pop_front();
    std::exception_ptr error = slot.failure;
    if (!error) {
      error = std::make_exception_ptr(
          WorkerDied(slot.child.pid(), status, running.id, *running.name,
                     slot.host.empty() ? std::string() : "it ran on host '" + slot.host + "'"));
    }
    task_logger().warn("forkpool: {}", what_of(error));
    if (fail_task(std::move(running), error, out)) ++stats_.failed;
  }
  // The tasks waiting behind it never started (a worker runs its tasks in order and every
  // frame it wrote before dying has been read): another worker runs them.
  requeue_in_flight(slot, out, /*alone=*/false);
}

// Puts every task left in `slot.in_flight` back at the front of the queue, in order, or fails
// it with PoolBroken once the pool is breaking. `alone`: each goes as a call of its own,
// answered on its own, no longer one of a batch whose replies the worker holds.
void PoolCore::requeue_in_flight(WorkerSlot& slot, Settlements& out, bool alone) {
  while (!slot.in_flight.empty()) {
    PendingTask& task = slot.in_flight.back();
    if (!task.live()) {
      // let go already
    } else if (task.run && alone && broken_.empty() && state_ != State::kTerminating) {
      requeue_run_calls(task);
    } else if (broken_.empty() && state_ != State::kTerminating) {
      stats_.requeued += task.run ? task.run->size() - task.run->answered : 1;
      if (alone) {
        task.batch = 0;
        task.replies_held = false;
      }
      task.state->set_pending();
      queue_.push_front(std::move(task));
    } else {
      ++stats_.failed;
      out.push_back(
          {std::move(task.state),
           {},
           std::make_exception_ptr(PoolBroken(broken_.empty() ? "terminated" : broken_))});
    }
    slot.in_flight.pop_back();
  }
}

// Puts the unanswered calls of a run back at the front of the queue, in order, each a task
// of its own (its function's id and its arguments, copied out of the run).
void PoolCore::requeue_run_calls(PendingTask& task) {
  RunCalls& run = *task.run;
  const serialization::RunTask calls = serialization::decode_run(task.payload.view());
  for (std::size_t i = run.size(); i-- > run.answered;) {
    if (run.gone[i]) continue;
    PendingTask call{next_task_id_++, task.name,
                     serialization::encode_task(calls.function, calls.calls[i]),
                     std::move(run.states[i])};
    ++stats_.requeued;
    call.state->set_pending();
    queue_.push_front(std::move(call));
  }
}

void PoolCore::judge_death(WorkerSlot& slot, const ExitStatus& status, Settlements& out) {
  ++stats_.worker_deaths;
  const CrashLoop::Verdict verdict = crash_loop_.worker_died(Clock::now(), !slot.became_ready);
  if (verdict == CrashLoop::Verdict::kRespawn) return;
  const std::string last = "worker pid " + std::to_string(slot.child.pid()) + " " + status.str();
  const std::string why = slot.failure ? ", " + what_of(slot.failure) : std::string();
  if (verdict == CrashLoop::Verdict::kFailedStarts) {
    break_pool(std::to_string(crash_loop_.failed_starts()) +
                   " workers in a row failed to start (last: " + last + " before its handshake" +
                   why + "); not starting more (" + start_description_ + ")",
               out);
  } else {
    break_pool("workers died " + std::to_string(crash_loop_.recent_deaths()) +
                   " times in a row without completing a task (last: " + last +
                   (slot.became_ready ? "" : " before its handshake") + why +
                   "); not starting more (" + start_description_ + ")",
               out);
  }
}

}  // namespace forkpool::orchestrator
