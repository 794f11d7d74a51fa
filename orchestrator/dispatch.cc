// Dispatch: which worker gets which task, and how its frame gets there.
//
// An idle worker is claimed under the mutex (its write token, WorkerSlot::writing): its tasks
// move into its in_flight at once, so a cancel, a reply or a terminate finds them there. The
// thread that dispatched them writes the frame: a submitter its own task (no thread hop on the
// round trip), the collector a reply's successor. A frame small enough for the pipe's buffer
// is written at once, under the mutex, as it cannot block; a bigger one with the mutex
// released, and the collector hands it to the bulk writer thread instead, so that it never
// stops reading results while a worker takes in a 64 MiB argument. Once written, the claim is
// finished under the mutex: the head task starts, or the tasks go back to the queue.
#include <algorithm>

#include "io/syscalls.h"
#include "orchestrator/pool_core.h"
#include "serialization/messages.h"

namespace forkpool::orchestrator {
namespace {

using serialization::Kind;

// Pipelined task frames are at most this big, and at most kMaxPipelineDepth of them wait in a
// worker's pipe, so together they fit in the pipe's 64 KiB buffer and a write never blocks.
constexpr std::size_t kPipelinedFrameLimit = 8 * 1024;
constexpr std::size_t kMaxPipelineDepth = 6;
// A claimed frame up to this size is written under the mutex: an idle worker's pipe is
// empty, so it fits in the buffer and the write does not wait for the worker to read. A
// bigger one is written without the mutex, by the bulk writer if the collector claimed it.
constexpr std::size_t kInlineWriteLimit = 32 * 1024;

}  // namespace

void PoolCore::dispatch(Settlements& out) {
  const std::size_t queued = queue_.size();
  while (!idle_.empty() && !queue_.empty()) {
    WorkerSlot* slot = idle_.back();
    idle_.pop_back();
    claim(*slot);
  }
  if (!queue_.empty()) pipeline(out);
  if (queue_.size() < queued) room_made();
}

void PoolCore::pipeline(Settlements& out) {
  // A batch waits for an idle worker: its frame may be large, and its tasks are counted one by
  // one in in_flight, not as the one frame they share.
  const auto front_fits = [this] {
    return !queue_.empty() && queue_.front().payload.size() <= kPipelinedFrameLimit &&
           queue_.front().batch == 0;
  };
  if (!front_fits()) return;
  const std::size_t depth = std::min(options_.pipeline_depth, kMaxPipelineDepth);
  const std::uint64_t max_tasks = options_.max_tasks_per_worker;
  const auto has_room = [&](const WorkerSlot& slot) {
    return slot.claimable() && slot.in_flight.size() < depth &&
           (max_tasks == 0 || slot.tasks_sent < max_tasks);
  };
  // One pass over the workers: how many serve, and which busy ones have room. It runs on
  // every submit while tasks wait, so when every worker is full it is all the work done here
  // (it was a pass per level of depth, and another to count the ready workers).
  unsigned ready = 0;
  std::size_t lowest = depth;
  pipeline_room_.clear();
  for (const auto& [id, slot] : slots_) {
    ready += slot->serving() ? 1 : 0;
    if (slot->in_flight.empty() || !has_room(*slot)) continue;
    pipeline_room_.push_back(slot.get());
    lowest = std::min(lowest, slot->in_flight.size());
  }
  if (pipeline_room_.empty() ||
      !service_time_.pipelining_pays(options_.pipeline_depth, options_.pipeline_below, ready,
                                     workers_)) {
    return;
  }
  // Top up the busy workers one task at a time each, from the fewest held, so they fill evenly.
  for (std::size_t level = lowest; level < depth; ++level) {
    for (WorkerSlot* slot : pipeline_room_) {
      if (!front_fits()) return;
      if (slot->in_flight.size() != level || !has_room(*slot)) continue;
      PendingTask task = std::move(queue_.front());
      queue_.pop_front();
      leave_out_gone_calls(task);
      send_pipelined(*slot, std::move(task), out);
    }
  }
}

void PoolCore::claim(WorkerSlot& slot) {
  Claim claim{.slot = &slot};
  PendingTask& first = queue_.front();
  claim.task_id = first.id;
  if (first.batch == 0) {
    leave_out_gone_calls(first);
    // A lone task needs no Batch around it.
    claim.kind = static_cast<std::uint8_t>(Kind::kTask);
    claim.flags = first.flags;
    lend_payload(first, claim);
    start_claim(slot, first);
    slot.in_flight.push_back(std::move(first));
    queue_.pop_front();
  } else {
    claim_batch(slot, claim);
  }
  claims_.push_back(std::move(claim));
}

void PoolCore::claim_batch(WorkerSlot& slot, Claim& claim) {
  const std::uint64_t batch = queue_.front().batch;
  const std::uint64_t max_tasks = options_.max_tasks_per_worker;
  const std::uint64_t allowed =
      max_tasks != 0 ? std::max<std::uint64_t>(max_tasks - std::min(max_tasks, slot.tasks_sent), 1)
                     : UINT64_MAX;
  detail::Payload frame;
  const std::size_t before = slot.in_flight.size();
  // The worker may hold the replies and send them together unless a call has a timeout: the
  // pool times the call it believes running, which a held reply would leave unfinished.
  bool hold_replies = true;
  while (!queue_.empty() && queue_.front().batch == batch && claim.task_ids.size() < allowed) {
    PendingTask& next = queue_.front();
    leave_out_gone_calls(next);
    const std::size_t grown = std::max(frame.size(), serialization::kBatchCountSize) +
                              serialization::batch_entry_size(next.payload.size());
    if (!claim.task_ids.empty() && grown > options_.max_frame) break;  // the rest: next frame
    serialization::append_batch_entry(frame, next.id, next.flags, next.payload.view());
    if (claim.task_ids.empty()) start_claim(slot, next);
    hold_replies = hold_replies && next.timeout.count() == 0;
    claim.task_ids.push_back(next.id);
    slot.in_flight.push_back(std::move(next));
    queue_.pop_front();
  }
  slot.tasks_sent += claim.task_ids.size() - 1;  // start_claim counted the first
  if (claim.task_ids.size() > 1) {
    claim.kind = static_cast<std::uint8_t>(Kind::kBatch);
    claim.flags = hold_replies ? serialization::kBatchHoldReplies : 0;
    for (std::size_t i = before; i < slot.in_flight.size(); ++i) {
      slot.in_flight[i].replies_held = hold_replies;
    }
    claim.bytes = std::move(frame);
    return;
  }
  // One task that fills a frame by itself: no Batch around it.
  PendingTask& only = slot.in_flight[before];
  claim.task_ids.clear();
  claim.kind = static_cast<std::uint8_t>(Kind::kTask);
  claim.flags = only.flags;
  lend_payload(only, claim);
}

void PoolCore::lend_payload(PendingTask& task, Claim& claim) {
  if (task.retries_left > 0 || task.run) {
    claim.bytes = task.payload.share();
  } else {
    claim.bytes = std::move(task.payload);
    claim.bytes_of_head = true;
  }
}

void PoolCore::leave_out_gone_calls(PendingTask& task) {
  if (!task.run) return;
  RunCalls& run = *task.run;
  if (std::find(run.gone.begin(), run.gone.end(), true) == run.gone.end()) return;
  // Calls cancelled while the run was queued: a copy without them (rare), so they never run.
  // The calls left are numbered from the task's id again, within the ids it was given.
  task.payload = serialization::run_without(task.payload.view(), run.gone);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < run.size(); ++i) {
    if (!run.gone[i]) run.states[kept++] = std::move(run.states[i]);
  }
  run.states.resize(kept);
  run.gone.assign(kept, false);
}

void PoolCore::mark_running(PendingTask& task) {
  task.state->set_running();
  if (task.run && task.run->answered < task.run->size() && !task.run->gone[task.run->answered]) {
    task.run->states[task.run->answered]->set_running();
  }
}

void PoolCore::start_claim(WorkerSlot& slot, PendingTask& head) {
  // An idle worker starts the task as soon as the frame is in its pipe, possibly before the
  // write returns: mark it running first, so that nobody who sees it run (a task that signals
  // it has started) can still see it pending. Its start is now for the same reason: its reply
  // may be read before the writer is back to start_head() (a writer descheduled after the
  // write), and the time it took is measured from head_since, which would otherwise be the
  // last task's start, or for a worker's first task the clock's epoch.
  mark_running(head);
  slot.head_since = Clock::now();
  slot.writing = true;
  ++slot.tasks_sent;
}

void PoolCore::write_claims(Lock& lock, Settlements& out, Writer writer) {
  Claims big;
  while (!claims_.empty() || !big.empty()) {
    // Taken from the back, so claims_ keeps its capacity: no allocation per task.
    while (!claims_.empty()) {
      Claim claim = std::move(claims_.back());
      claims_.pop_back();
      if (claim.bytes.size() <= kInlineWriteLimit && writer == Writer::kCollector) {
        // A small frame cannot block: written at once, under the mutex, it costs no more
        // than the syscall, and the round trip no extra lock handoff.
        write_claim(claim);
        finish_claim(claim, out);  // may dispatch again, and claim more
      } else if (writer == Writer::kCollector) {
        bulk_.push_back(std::move(claim));
        if (!bulk_writer_.joinable()) bulk_writer_ = std::thread([this] { bulk_writer_main(); });
        bulk_ready_.notify_one();
      } else {
        big.push_back(std::move(claim));
      }
    }
    if (big.empty()) return;
    lock.unlock();
    for (Claim& claim : big) write_claim(claim);
    lock.lock();
    for (Claim& claim : big) finish_claim(claim, out);
    big.clear();
  }
}

void PoolCore::write_claim(Claim& claim) {
  try {
    claim.slot->writer.write_frame(claim.kind, claim.flags, claim.task_id, claim.bytes.view());
  } catch (...) {
    claim.error = std::current_exception();
  }
}

void PoolCore::finish_claim(Claim& claim, Settlements& out) {
  WorkerSlot& slot = *claim.slot;
  slot.writing = false;
  // The frame's tasks are still in in_flight unless a reply, a cancel or terminate() has
  // taken them meanwhile.
  const auto find = [&](std::uint64_t id) {
    return std::find_if(slot.in_flight.begin(), slot.in_flight.end(),
                        [&](const PendingTask& t) { return t.id == id; });
  };
  if (claim.error) {
    std::vector<PendingTask> unsent;
    if (claim.task_ids.empty()) claim.task_ids.push_back(claim.task_id);
    for (std::uint64_t id : claim.task_ids) {
      if (auto it = find(id); it != slot.in_flight.end()) {
        unsent.push_back(std::move(*it));
        slot.in_flight.erase(it);
      }
    }
    if (claim.bytes_of_head && !unsent.empty()) unsent.front().payload = std::move(claim.bytes);
    slot.owed_cancels.clear();  // their tasks never reached it
    unsend(slot, unsent, claim.error, out);
  } else {
    send_owed_cancels(slot);
  }
  if (slot.exit_deferred) {
    wake_.signal();  // the collector handles its death now that the frame's fate is known
    return;
  }
  if (slot.serving()) {
    // Replies the collector took meanwhile did not start the next task: the token's holder
    // does (after_reply).
    if (!slot.in_flight.empty()) {
      start_head(slot, Clock::now());
    } else {
      make_idle(slot, Clock::now());
    }
  }
  dispatch(out);
  changed_.notify_all();
}

void PoolCore::send_owed_cancels(WorkerSlot& slot) {
  std::vector<std::uint64_t> owed = std::move(slot.owed_cancels);
  slot.owed_cancels.clear();
  if (!slot.serving()) return;
  for (std::uint64_t id : owed) {
    try {
      slot.writer.write_frame(static_cast<std::uint8_t>(Kind::kCancel), 0, id, {});
    } catch (const std::exception&) {
      drop_worker(slot, nullptr);  // its death requeues the rest
      return;
    }
  }
}

bool PoolCore::send_pipelined(WorkerSlot& slot, PendingTask task, Settlements& out) {
  try {
    slot.writer.write_frame(static_cast<std::uint8_t>(Kind::kTask), task.flags, task.id,
                            task.payload.view());
  } catch (...) {
    std::vector<PendingTask> unsent;
    unsent.push_back(std::move(task));
    unsend(slot, unsent, std::current_exception(), out);
    return false;
  }
  ++slot.tasks_sent;
  slot.in_flight.push_back(std::move(task));
  return true;
}

void PoolCore::unsend(WorkerSlot& slot, std::vector<PendingTask>& tasks,
                      const std::exception_ptr& error, Settlements& out) {
  bool requeue = true;
  try {
    std::rethrow_exception(error);
  } catch (const PeerGone&) {
    // The worker died while idle; the frame never reached it. Another worker takes it.
    drop_worker(slot, nullptr);
  } catch (const StalledFrame&) {
    // A worker that does not read its pipe has not received the whole frame: safe to requeue.
    drop_worker(slot, error);
  } catch (...) {
    requeue = false;
    drop_worker(slot, error);
  }
  for (auto it = tasks.rbegin(); it != tasks.rend(); ++it) {
    if (!it->live()) continue;  // cancelled meanwhile: settled already
    if (requeue) {
      it->state->set_pending();
      queue_.push_front(std::move(*it));
    } else {
      ++stats_.failed;
      out.push_back({std::move(it->state), {}, error});
    }
  }
}

void PoolCore::start_head(WorkerSlot& slot, Clock::time_point now) {
  PendingTask& task = slot.in_flight.front();
  slot.head_since = now;
  if (!task.state || (task.run && task.run->gone[task.run->answered])) {
    // Cancelled while it waited: the worker has dropped it, or is running it with
    // this_task::cancelled() set. Either way it answers soon, or is stopped.
    if (slot.state == WorkerSlot::State::kReady) ask_cancel(slot, now);
    return;
  }
  // Running now, so it will never be sent again (unless it fails and may be retried): drop
  // its frame. A task still waiting in the pipe keeps its (small) frame, to be sent to
  // another worker if this one dies, and so does one whose reply may be held: whether it ran
  // is lost if the worker dies, and it is sent again.
  if (task.retries_left == 0 && !task.replies_held) task.payload.reset();
  mark_running(task);
  // Its deadline is the collector's to keep; a submitter's thread may be the one here.
  if (task.timeout.count() > 0) wake_.signal();
}

void PoolCore::make_idle(WorkerSlot& slot, Clock::time_point now) {
  if (slot.state != WorkerSlot::State::kReady) return;
  const std::uint64_t max_tasks = options_.max_tasks_per_worker;
  if (max_tasks != 0 && slot.tasks_sent >= max_tasks) {
    ++stats_.workers_recycled;
    retire_worker(slot, now);  // the collector starts its replacement
    wake_.signal();
    return;
  }
  slot.idle_since = now;
  idle_.push_back(&slot);
}

void PoolCore::bulk_writer_main() {
  io::block_sigpipe_in_this_thread();  // writes report EPIPE instead
  Settlements out;
  Lock lock(mutex_);
  for (;;) {
    bulk_ready_.wait(lock, [&] { return !bulk_.empty() || bulk_stop_; });
    if (bulk_.empty()) return;
    for (Claim& c : bulk_) claims_.push_back(std::move(c));
    bulk_.clear();
    write_claims(lock, out, Writer::kCaller);
    lock.unlock();
    settle(out);
    lock.lock();
  }
}

}  // namespace forkpool::orchestrator
