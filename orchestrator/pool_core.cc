#include "orchestrator/pool_core.h"

#include <poll.h>
#include <signal.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "forkpool/worker.h"
#include "io/syscalls.h"
#include "orchestrator/cpu_count.h"
#include "serialization/messages.h"

namespace forkpool::orchestrator {
namespace {

using Clock = std::chrono::steady_clock;
using serialization::Kind;

constexpr std::uint64_t kWakeData = ~std::uint64_t{0};

// now + timeout, saturating: a timeout too long for the clock (milliseconds::max() meaning
// "forever") is never, not an overflow into the past.
Clock::time_point deadline_after(std::chrono::milliseconds timeout) {
  const auto now = Clock::now();
  if (timeout >= std::chrono::duration_cast<std::chrono::milliseconds>(Clock::time_point::max() - now)) {
    return Clock::time_point::max();
  }
  return now + timeout;
}

// from + d, saturating like deadline_after.
Clock::time_point after(Clock::time_point from, std::chrono::milliseconds d) {
  if (d >= std::chrono::duration_cast<std::chrono::milliseconds>(Clock::time_point::max() - from)) {
    return Clock::time_point::max();
  }
  return from + d;
}

std::uint64_t epoll_data(std::uint32_t slot_id, bool pidfd) {
  return (std::uint64_t{slot_id} << 1) | (pidfd ? 1 : 0);
}

std::string what_of(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

// Whether a failed attempt may be run again: the task itself failed (threw, died, hung, or its
// reply was garbled), not the caller or the pool (cancel, close, a message that can never fit,
// a task no worker has).
bool retryable(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const TaskCancelled&) {
    return false;
  } catch (const PoolClosed&) {
    return false;
  } catch (const PoolBroken&) {
    return false;
  } catch (const MessageTooLarge&) {
    return false;
  } catch (const UnknownTask&) {
    return false;
  } catch (const HandshakeError&) {
    return false;
  } catch (const Error&) {
    return true;
  } catch (...) {
    return false;
  }
}

void set_earlier_attempts(std::exception_ptr error, std::vector<std::string> attempts) {
  try {
    std::rethrow_exception(error);
  } catch (Error& e) {
    e.set_earlier_attempts(std::move(attempts));  // the object the exception_ptr holds
  } catch (...) {
  }
}

Clock::time_point earliest(Clock::time_point a, Clock::time_point b) { return a < b ? a : b; }

}  // namespace

namespace {
// Only the pool holds its ends of a worker's pipes, so O_NONBLOCK affects nobody else; it lets
// the reader and writer bound every wait by the stall timeout without an extra poll per read.
io::Fd nonblocking(io::Fd fd) {
  io::set_nonblocking(fd.get(), true);
  return fd;
}
}  // namespace

WorkerSlot::WorkerSlot(std::uint32_t id, workers::StartedWorker started, const Options& options)
    : id(id),
      child(std::move(started.child)),
      to_worker(nonblocking(std::move(started.to_worker))),
      from_worker(nonblocking(std::move(started.from_worker))),
      reader(from_worker, {.max_frame = options.max_frame, .stall_timeout = options.stall_timeout}),
      writer(to_worker, {.max_frame = options.max_frame, .stall_timeout = options.stall_timeout}) {}

PoolCore::PoolCore(Options options)
    : options_(std::move(options)),
      workers_(options_.workers != 0 ? options_.workers : usable_cpus()) {
  cancel_link_->core = this;
  epoll_.add(wake_.fd(), EPOLLIN, kWakeData);
  collector_ = std::thread([this] { collector_main(); });
  // Wait until the collector has forked what it must fork from this process (the zygote, or
  // the first workers of StartMethod::kFork). Meanwhile this thread holds no lock, so those
  // forks copy a consistent heap; a fork that races an allocation in another thread can
  // copy an allocator lock held forever (sanitizer allocators have no fork handlers).
  Lock lock(mutex_);
  changed_.wait(lock, [this] { return forked_from_parent_; });
}

PoolCore::~PoolCore() {
  close();
  std::unique_lock lock(cancel_link_->mutex);
  cancel_link_->core = nullptr;
  cancel_link_->idle.wait(lock, [&] { return cancel_link_->sending == 0; });
}

// ---------------------------------------------------------------------------------------------
// Callers' side.

std::shared_ptr<detail::FutureState> PoolCore::new_state() {
  auto state = std::make_shared<detail::FutureState>();
  state->set_canceller([link = std::weak_ptr<CancelLink>(cancel_link_), target = state.get()] {
    return cancel_through(link, target);
  });
  return state;
}

std::shared_ptr<detail::FutureState> PoolCore::submit(detail::TaskId function,
                                                      const std::string* name,
                                                      detail::Payload args,
                                                      const TaskOptions& call, bool chunk) {
  auto state = new_state();
  std::vector<Call> calls;
  calls.push_back(Call{function, name, std::move(args), call, state, chunk});
  enqueue(calls, false);
  return state;
}

void PoolCore::enqueue(std::vector<Call>& calls, bool batch) {
  std::vector<detail::Payload> payloads;
  payloads.reserve(calls.size());
  for (Call& call : calls) {
    payloads.push_back(serialization::encode_task(call.function, call.args));
    call.args = {};
  }
  Settlements out;
  {
    Lock lock(mutex_);
    if (state_ != State::kRunning) throw PoolClosed("close() or terminate() was called");
    if (!broken_.empty()) throw PoolBroken(broken_);
    const std::size_t capacity = options_.queue_capacity;
    // A batch larger than the whole queue may still enter an empty one.
    const auto room = [&] { return queue_.empty() || queue_.size() + calls.size() <= capacity; };
    if (capacity != 0 && !room()) {
      if (options_.on_full == OnFull::kFail) throw QueueFull(capacity);
      ++blocked_submitters_;
      room_.wait(lock, [&] { return room() || state_ != State::kRunning || !broken_.empty(); });
      --blocked_submitters_;
      if (state_ != State::kRunning) throw PoolClosed("close() or terminate() was called");
      if (!broken_.empty()) throw PoolBroken(broken_);
    }
    const std::uint64_t batch_id = batch && calls.size() > 1 ? next_batch_id_++ : 0;
    for (std::size_t i = 0; i < calls.size(); ++i) {
      Call& call = calls[i];
      if (call.state->ready()) continue;  // a batch's call cancelled while the batch was sent
      ++stats_.submitted;
      if (payloads[i].size() > options_.max_frame) {
        ++stats_.failed;
        out.push_back({std::move(call.state), {},
                       std::make_exception_ptr(MessageTooLarge(payloads[i].size(), options_.max_frame))});
        continue;
      }
      PendingTask task{next_task_id_++, call.name, std::move(payloads[i]), std::move(call.state)};
      task.timeout = call.options.timeout.value_or(options_.task_timeout);
      task.retries_left = std::max(0, call.options.retries.value_or(options_.retries));
      task.flags = call.chunk ? serialization::kTaskChunk : 0;
      task.batch = batch_id;
      queue_.push_back(std::move(task));
    }
    dispatch(out);
    // Workers may have retired while idle: the collector starts what the queue needs.
    if (!queue_.empty() && idle_.empty() && options_.idle_timeout.count() > 0) wake_.signal();
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
    for (const PendingTask& task : queue_) targets.push_back(task.state.get());
    for (const auto& [id, slot] : slots_) {
      for (const PendingTask& task : slot->in_flight) {
        if (task.state) targets.push_back(task.state.get());
      }
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
    out.push_back({std::move(queued->state), {},
                   std::make_exception_ptr(TaskCancelled(queued->id, *queued->name, false)), true});
    queue_.erase(queued);
    room_made();
    if (state_ != State::kRunning) wake_.signal();  // closing: the pool may be idle now
    changed_.notify_all();
    return true;
  }
  for (auto& [id, slot] : slots_) {
    for (std::size_t i = 0; i < slot->in_flight.size(); ++i) {
      PendingTask& task = slot->in_flight[i];
      if (task.state.get() != target) continue;
      const bool running = i == 0;
      ++stats_.cancelled;
      // The entry stays, without its future, until the worker answers for it or dies.
      out.push_back({std::move(task.state), {},
                     std::make_exception_ptr(TaskCancelled(task.id, *task.name, running)), true});
      task.payload = {};
      task.retries_left = 0;
      if (slot->phase == WorkerSlot::Phase::kReady &&
          (slot->stop == WorkerSlot::Stop::kNone || slot->stop == WorkerSlot::Stop::kAsked)) {
        try {
          slot->writer.write_frame(static_cast<std::uint8_t>(Kind::kCancel), 0, task.id, {});
        } catch (const std::exception&) {
          drop_worker(*slot, nullptr);  // its death requeues the rest
        }
        if (running && slot->stop == WorkerSlot::Stop::kNone) {
          slot->stop = WorkerSlot::Stop::kAsked;
          slot->stop_deadline = deadline_after(options_.cancel_grace);
          wake_.signal();  // the collector keeps the deadline
        }
      }
      changed_.notify_all();
      return true;
    }
  }
  return false;  // settled already, or settling now
}

void PoolCore::close() {
  {
    Lock lock(mutex_);
    if (state_ == State::kRunning) state_ = State::kClosing;
    room_.notify_all();  // blocked submitters fail with PoolClosed
  }
  wake_.signal();
  std::lock_guard join_lock(join_mutex_);  // two threads closing at once: one joins
  if (collector_.joinable()) collector_.join();
}

void PoolCore::terminate() {
  Settlements out;
  {
    Lock lock(mutex_);
    if (state_ == State::kRunning || state_ == State::kClosing) {
      kill_all(std::make_exception_ptr(PoolClosed("terminate() was called")), out);
    }
  }
  settle(out);
  close();
}

std::vector<pid_t> PoolCore::worker_pids() const {
  Lock lock(mutex_);
  std::vector<pid_t> pids;
  for (const auto& [id, slot] : slots_) {
    if (slot->child.running()) pids.push_back(slot->child.pid());
  }
  return pids;
}

PoolStats PoolCore::stats() const {
  Lock lock(mutex_);
  return stats_;
}

std::string PoolCore::start_description() const {
  Lock lock(mutex_);
  return start_description_;
}

// ---------------------------------------------------------------------------------------------
// Under the mutex.

namespace {
// Pipelined task frames are at most this big, and at most kMaxPipelineDepth of them wait in a
// worker's pipe, so together they fit in the pipe's 64 KiB buffer and a write never blocks.
constexpr std::size_t kPipelinedFrameLimit = 8 * 1024;
constexpr std::size_t kMaxPipelineDepth = 6;
}  // namespace

void PoolCore::dispatch(Settlements& out) {
  const std::size_t queued = queue_.size();
  while (!idle_.empty() && !queue_.empty()) {
    WorkerSlot* slot = idle_.back();
    idle_.pop_back();
    if (queue_.front().batch != 0) {
      send_batch(*slot, out);
      continue;
    }
    PendingTask task = std::move(queue_.front());
    queue_.pop_front();
    send_task(*slot, std::move(task), out);
  }
  if (!queue_.empty() && pipelining_pays()) {
    const std::size_t depth = std::min(options_.pipeline_depth, kMaxPipelineDepth);
    const std::uint64_t max_tasks = options_.max_tasks_per_worker;
    // Top up the busy workers one task at a time each, so they fill evenly.
    for (std::size_t level = 1; level < depth && !queue_.empty(); ++level) {
      for (auto& [id, slot] : slots_) {
        // A batch waits for an idle worker: its frame may be large, and its tasks are counted
        // one by one in in_flight, not as the one frame they share.
        if (queue_.empty() || queue_.front().payload.size() > kPipelinedFrameLimit ||
            queue_.front().batch != 0) {
          break;
        }
        if (slot->phase != WorkerSlot::Phase::kReady || slot->failure || slot->killed ||
            slot->stop != WorkerSlot::Stop::kNone || slot->in_flight.size() != level ||
            (max_tasks != 0 && slot->tasks_sent >= max_tasks)) {
          continue;
        }
        PendingTask task = std::move(queue_.front());
        queue_.pop_front();
        send_task(*slot, std::move(task), out);
      }
    }
  }
  if (queue_.size() < queued) room_made();
}

void PoolCore::room_made() {
  if (blocked_submitters_ > 0) room_.notify_all();
}

unsigned PoolCore::live_workers() const {
  unsigned n = 0;
  for (const auto& [id, slot] : slots_) n += slot->phase != WorkerSlot::Phase::kLeaving ? 1 : 0;
  return n;
}

bool PoolCore::start_wanted() const {
  if (!broken_.empty()) return false;
  if (state_ != State::kRunning && !(state_ == State::kClosing && !queue_.empty())) return false;
  unsigned live = 0, starting = 0;
  for (const auto& [id, slot] : slots_) {
    if (slot->phase == WorkerSlot::Phase::kLeaving) continue;
    ++live;
    starting += slot->phase == WorkerSlot::Phase::kStarting ? 1 : 0;
  }
  if (live >= workers_) return false;
  // Without idle retirement the pool keeps every worker; with it, at least min_workers, and
  // more only while tasks wait for them.
  const unsigned floor =
      options_.idle_timeout.count() > 0 ? std::min(options_.min_workers, workers_) : workers_;
  return live < floor || queue_.size() > starting;
}

void PoolCore::make_idle(WorkerSlot& slot, Clock::time_point now) {
  if (slot.killed) return;  // its death is on its way
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

void PoolCore::retire_worker(WorkerSlot& slot, Clock::time_point now) {
  idle_.erase(std::remove(idle_.begin(), idle_.end(), &slot), idle_.end());
  slot.phase = WorkerSlot::Phase::kLeaving;
  slot.stop = WorkerSlot::Stop::kShutdown;
  slot.stop_deadline = after(now, options_.shutdown_grace);
  try {
    slot.writer.write_frame(static_cast<std::uint8_t>(Kind::kShutdown), 0, 0, {});
  } catch (const std::exception&) {
    slot.child.signal(SIGKILL);
    slot.stop = WorkerSlot::Stop::kKilled;
  }
}

void PoolCore::stop_worker(WorkerSlot& slot, Clock::time_point now) {
  idle_.erase(std::remove(idle_.begin(), idle_.end(), &slot), idle_.end());
  ++stats_.workers_stopped;
  slot.phase = WorkerSlot::Phase::kLeaving;
  slot.stop = WorkerSlot::Stop::kTerm;
  slot.stop_deadline = after(now, options_.kill_grace);
  slot.child.signal(SIGTERM);
}

bool PoolCore::fail_task(PendingTask task, std::exception_ptr error, Settlements& out) {
  if (task.retries_left > 0 && broken_.empty() &&
      (state_ == State::kRunning || state_ == State::kClosing) && retryable(error)) {
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

void PoolCore::time_out(WorkerSlot& slot, Clock::time_point now, Settlements& out) {
  PendingTask& head = slot.in_flight.front();
  PendingTask task{head.id,           head.name,       std::move(head.payload),
                   std::move(head.state), head.timeout, head.retries_left,
                   std::move(head.attempts), head.flags, head.batch};
  // The entry stays without its future: a late reply for it is dropped.
  ++stats_.timed_out;
  const double seconds = std::chrono::duration<double>(task.timeout).count();
  auto error = std::make_exception_ptr(TaskTimeout(task.id, *task.name, slot.child.pid(), seconds));
  task_logger().warn("forkpool: {}", what_of(error));
  if (fail_task(std::move(task), error, out)) ++stats_.failed;
  stop_worker(slot, now);
}

io::Deadline PoolCore::supervise(Clock::time_point now, Settlements& out) {
  Clock::time_point next = Clock::time_point::max();
  for (auto& [id, slot_ptr] : slots_) {
    WorkerSlot& slot = *slot_ptr;
    // Its answer may be waiting in the pipe: read it before judging the worker late (a
    // timeout that fires on a task that has finished would stop the task behind it).
    if (slot.reading &&
        (slot.reader.buffered() != 0 ||
         io::poll_one(slot.from_worker.get(), POLLIN, std::chrono::milliseconds(0)) != 0) &&
        (slot.stop == WorkerSlot::Stop::kAsked ||
         (slot.stop == WorkerSlot::Stop::kNone && !slot.in_flight.empty()))) {
      next = now;
      continue;
    }
    if (slot.phase == WorkerSlot::Phase::kReady && slot.stop == WorkerSlot::Stop::kNone &&
        !slot.in_flight.empty() && slot.in_flight.front().state &&
        slot.in_flight.front().timeout.count() > 0) {
      const auto timeout = slot.in_flight.front().timeout;
      const auto at = after(slot.head_since, timeout);
      if (now >= at) {
        time_out(slot, now, out);
      } else {
        next = earliest(next, at);
      }
    }
    switch (slot.stop) {
      case WorkerSlot::Stop::kAsked:
        if (now >= slot.stop_deadline) {
          task_logger().warn("forkpool: worker pid {} did not stop a cancelled task within {} ms; "
                             "stopping the worker",
                             slot.child.pid(), options_.cancel_grace.count());
          stop_worker(slot, now);
        }
        break;
      case WorkerSlot::Stop::kTerm:
      case WorkerSlot::Stop::kShutdown:
        if (now >= slot.stop_deadline) {
          slot.child.signal(SIGKILL);
          slot.stop = WorkerSlot::Stop::kKilled;
        }
        break;
      default:
        break;
    }
    if (slot.stop == WorkerSlot::Stop::kAsked || slot.stop == WorkerSlot::Stop::kTerm ||
        slot.stop == WorkerSlot::Stop::kShutdown) {
      next = earliest(next, slot.stop_deadline);
    }
  }
  if (options_.idle_timeout.count() > 0 && state_ == State::kRunning) {
    unsigned live = live_workers();
    // The bottom of the stack has been idle longest.
    while (!idle_.empty() && live > options_.min_workers) {
      WorkerSlot* oldest = idle_.front();
      const auto at = after(oldest->idle_since, options_.idle_timeout);
      if (now < at) {
        next = earliest(next, at);
        break;
      }
      ++stats_.workers_retired;
      retire_worker(*oldest, now);
      --live;
      next = earliest(next, oldest->stop_deadline);
    }
  }
  if (next == Clock::time_point::max()) return std::nullopt;
  return std::chrono::ceil<std::chrono::milliseconds>(next - now);
}

void PoolCore::start_head(WorkerSlot& slot, Clock::time_point now) {
  PendingTask& task = slot.in_flight.front();
  slot.head_since = now;
  if (!task.state) {
    // Cancelled while it waited: the worker has dropped it, or is running it with
    // this_task::cancelled() set. Either way it answers soon, or is stopped.
    if (slot.stop == WorkerSlot::Stop::kNone) {
      slot.stop = WorkerSlot::Stop::kAsked;
      slot.stop_deadline = after(now, options_.cancel_grace);
    }
    return;
  }
  // Running now, so it will never be sent again (unless it fails and may be retried): drop
  // its frame. A task still waiting in the pipe keeps its (small) frame, to be sent to
  // another worker if this one dies.
  if (task.retries_left == 0) task.payload = {};
  task.state->set_running();
  // Its deadline is the collector's to keep; a submitter's thread may be the one here.
  if (task.timeout.count() > 0) wake_.signal();
}

bool PoolCore::pipelining_pays() const {
  if (options_.pipeline_depth <= 1 || mean_service_us_ < 0 ||
      mean_service_us_ >= static_cast<double>(options_.pipeline_below.count())) {
    return false;
  }
  // While workers are missing (retired when idle, dead, or still starting), tasks wait in the
  // queue for them: queued in a busy worker's pipe, they would keep the pool from growing and
  // wait behind that worker's task (a task that waits for another would never start).
  unsigned ready = 0;
  for (const auto& [id, slot] : slots_) ready += slot->phase == WorkerSlot::Phase::kReady ? 1 : 0;
  return ready >= workers_;
}

void PoolCore::record_service_time(Clock::duration time) {
  const double us = std::chrono::duration<double, std::micro>(time).count();
  mean_service_us_ = mean_service_us_ < 0 ? us : mean_service_us_ + (us - mean_service_us_) / 8;
}

bool PoolCore::send_task(WorkerSlot& slot, PendingTask task, Settlements& out) {
  // An idle worker starts the task as soon as the frame is in its pipe, possibly before
  // write_frame returns: mark it running first, so that nobody who sees it run (a task that
  // signals it has started) can still see it pending.
  const bool head = slot.in_flight.empty();
  if (head) task.state->set_running();
  try {
    slot.writer.write_frame(static_cast<std::uint8_t>(Kind::kTask), task.flags, task.id,
                            task.payload);
  } catch (...) {
    std::vector<PendingTask> unsent;
    unsent.push_back(std::move(task));
    unsend(slot, unsent, out);
    return false;
  }
  ++slot.tasks_sent;
  slot.in_flight.push_back(std::move(task));
  if (head) start_head(slot, Clock::now());
  return true;
}

void PoolCore::send_batch(WorkerSlot& slot, Settlements& out) {
  const std::uint64_t batch = queue_.front().batch;
  const std::uint64_t max_tasks = options_.max_tasks_per_worker;
  const std::uint64_t allowed =
      max_tasks != 0 ? std::max<std::uint64_t>(max_tasks - std::min(max_tasks, slot.tasks_sent), 1)
                     : UINT64_MAX;
  std::vector<PendingTask> tasks;
  detail::Payload frame;
  while (!queue_.empty() && queue_.front().batch == batch && tasks.size() < allowed) {
    const PendingTask& next = queue_.front();
    const std::size_t grown = std::max(frame.size(), serialization::kBatchCountSize) +
                              serialization::batch_entry_size(next.payload.size());
    if (!tasks.empty() && grown > options_.max_frame) break;  // the rest go in the next frame
    serialization::append_batch_entry(frame, next.id, next.flags, next.payload);
    tasks.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  // As in send_task: running before the worker can start it.
  tasks.front().state->set_running();
  try {
    if (tasks.size() == 1) {
      // A lone task (or one that fills a frame by itself) needs no Batch around it.
      slot.writer.write_frame(static_cast<std::uint8_t>(Kind::kTask), tasks.front().flags,
                              tasks.front().id, tasks.front().payload);
    } else {
      slot.writer.write_frame(static_cast<std::uint8_t>(Kind::kBatch), 0, tasks.front().id, frame);
    }
  } catch (...) {
    unsend(slot, tasks, out);
    return;
  }
  slot.tasks_sent += tasks.size();
  for (PendingTask& task : tasks) slot.in_flight.push_back(std::move(task));
  start_head(slot, Clock::now());
}

void PoolCore::unsend(WorkerSlot& slot, std::vector<PendingTask>& tasks, Settlements& out) {
  try {
    throw;
  } catch (const PeerGone&) {
    // The worker died while idle; the frame never reached it. Another worker takes it.
    drop_worker(slot, nullptr);
  } catch (const StalledFrame&) {
    // A worker that does not read its pipe has not received the whole frame: safe to requeue.
    drop_worker(slot, std::current_exception());
  } catch (...) {
    for (PendingTask& task : tasks) {
      ++stats_.failed;
      out.push_back({std::move(task.state), {}, std::current_exception()});
    }
    drop_worker(slot, std::current_exception());
    return;
  }
  for (auto it = tasks.rbegin(); it != tasks.rend(); ++it) {
    it->state->set_pending();
    queue_.push_front(std::move(*it));
  }
}

void PoolCore::drop_worker(WorkerSlot& slot, std::exception_ptr why) {
  if (why && !slot.failure) slot.failure = why;
  slot.killed = true;
  idle_.erase(std::remove(idle_.begin(), idle_.end(), &slot), idle_.end());
  slot.child.signal(SIGKILL);
}

void PoolCore::kill_all(std::exception_ptr error, Settlements& out) {
  state_ = State::kTerminating;
  fail_queue(error, out);
  for (auto& [id, slot] : slots_) {
    for (PendingTask& task : slot->in_flight) {
      if (!task.state) continue;  // cancelled or timed out: settled already
      ++stats_.failed;
      out.push_back({std::move(task.state), {}, error});
    }
    slot->in_flight.clear();
    slot->phase = WorkerSlot::Phase::kLeaving;
    slot->child.signal(SIGKILL);
  }
  idle_.clear();
  room_.notify_all();
  changed_.notify_all();
}

void PoolCore::fail_queue(std::exception_ptr error, Settlements& out) {
  for (PendingTask& task : queue_) {
    ++stats_.failed;
    out.push_back({std::move(task.state), {}, error});
  }
  queue_.clear();
  room_.notify_all();
}

void PoolCore::break_pool(const std::string& why, Settlements& out) {
  if (!broken_.empty()) return;
  broken_ = why;
  task_logger().error("forkpool: {}", why);
  fail_queue(std::make_exception_ptr(PoolBroken(why)), out);
  changed_.notify_all();
}

bool PoolCore::idle() const {
  if (!queue_.empty()) return false;
  return std::none_of(slots_.begin(), slots_.end(),
                      [](const auto& entry) { return !entry.second->in_flight.empty(); });
}

void PoolCore::settle(Settlements& settlements) {
  for (Settlement& s : settlements) {
    if (s.cancelled) {
      s.state->set_cancelled(std::move(s.error));
    } else if (s.error) {
      s.state->set_error(std::move(s.error));
    } else {
      s.state->set_value(std::move(s.value));
    }
  }
  settlements.clear();
}

// ---------------------------------------------------------------------------------------------
// The collector thread.

void PoolCore::start_worker(Lock& lock) {
  const std::uint32_t id = next_worker_id_++;
  workers::StartedWorker started;
  try {
    lock.unlock();  // forking takes a while; submitters may queue meanwhile
    started = starter_->start(id);
    lock.lock();
  } catch (...) {
    if (!lock.owns_lock()) lock.lock();
    Settlements out;
    break_pool("cannot start a worker (" + start_description_ + "): " +
                   what_of(std::current_exception()),
               out);
    lock.unlock();
    settle(out);
    lock.lock();
    return;
  }
  if (!started.child.pidfd()) {
    Settlements out;
    break_pool("this kernel has no pidfd_open; forkpool needs Linux 5.3 or later", out);
    lock.unlock();
    settle(out);
    lock.lock();
    return;
  }
  auto slot = std::make_unique<WorkerSlot>(id, std::move(started), options_);
  slot->handshake_deadline = options_.handshake_timeout.count() > 0
                                 ? deadline_after(options_.handshake_timeout)
                                 : Clock::time_point::max();
  epoll_.add(slot->from_worker, EPOLLIN, epoll_data(id, false));
  epoll_.add(slot->child.pidfd(), EPOLLIN, epoll_data(id, true));
  ++stats_.workers_started;
  slots_.emplace(id, std::move(slot));
}

void PoolCore::stop_reading(WorkerSlot& slot) {
  if (!slot.reading) return;
  epoll_.remove(slot.from_worker);
  slot.reading = false;
}

void PoolCore::on_readable(std::uint32_t slot_id, Settlements& out) {
  auto it = slots_.find(slot_id);  // only this thread changes slots_
  if (it == slots_.end() || !it->second->reading) return;
  WorkerSlot& slot = *it->second;
  std::optional<io::Frame> frame;
  std::exception_ptr error;
  try {
    frame = slot.reader.read_frame();  // without the mutex: a big frame must not stall submit()
  } catch (...) {
    error = std::current_exception();
  }
  Lock lock(mutex_);
  if (error || !frame) {
    // Garbage, a truncated or stalled frame, or EOF: this worker can no longer answer.
    stop_reading(slot);
    drop_worker(slot, error);
    return;
  }
  try {
    handle_frame(slot, std::move(*frame), lock, out);
  } catch (const ProtocolError&) {
    stop_reading(slot);
    drop_worker(slot, std::current_exception());
  }
}

void PoolCore::on_readable_all(std::uint32_t slot_id, Settlements& out) {
  // Frames the reader has already buffered make the pipe no more readable: read them now.
  auto it = slots_.find(slot_id);
  do {
    on_readable(slot_id, out);
  } while (it != slots_.end() && it->second->reading && it->second->reader.buffered() != 0);
}

void PoolCore::handle_frame(WorkerSlot& slot, io::Frame frame, Lock& lock, Settlements& out) {
  switch (static_cast<Kind>(frame.kind)) {
    case Kind::kHello:
      handle_hello(slot, frame, lock, out);
      return;
    case Kind::kResult:
    case Kind::kError:
    case Kind::kCancelAck:
      if (slot.initializing && frame.task_id == 0) {
        handle_initialized(slot, frame, out);
      } else {
        handle_reply(slot, frame, out);
      }
      return;
    case Kind::kLog: {
      auto line = serialization::decode_log(frame.payload);
      task_logger().log(static_cast<spdlog::level::level_enum>(line.level), "[worker pid {}] {}",
                        slot.child.pid(), line.text);
      return;
    }
    default:
      throw ProtocolError("a worker sent a " + serialization::kind_name(frame.kind) + " frame");
  }
}

void PoolCore::handle_reply(WorkerSlot& slot, io::Frame& frame, Settlements& out) {
  const auto kind = static_cast<Kind>(frame.kind);
  auto it = std::find_if(slot.in_flight.begin(), slot.in_flight.end(),
                         [&](const PendingTask& t) { return t.id == frame.task_id; });
  if (it == slot.in_flight.end()) {
    // A late reply: its task timed out or was cancelled and has been let go.
    task_logger().debug("forkpool: dropping a {} for task {}, which is not running on worker {}",
                        serialization::kind_name(frame.kind), frame.task_id, slot.child.pid());
    return;
  }
  if (it != slot.in_flight.begin()) {
    // A worker runs its tasks in order: only a cancelled one it dropped unstarted may be
    // answered out of turn.
    if (kind != Kind::kCancelAck || it->state) {
      throw ProtocolError("a " + serialization::kind_name(frame.kind) + " for task " +
                          std::to_string(frame.task_id) + ", which is not the one running");
    }
    slot.in_flight.erase(it);
    return;
  }
  // Validate and decode before the task leaves the list: if this throws, the worker is dropped
  // and its death settles (or retries) the task, which must still be there to be found.
  std::exception_ptr error;
  if (kind == Kind::kCancelAck) {
    serialization::expect_empty(frame.kind, frame.payload);
    if (it->state) {
      throw ProtocolError("a CancelAck for task " + std::to_string(it->id) +
                          ", which was not cancelled");
    }
  } else if (kind == Kind::kError && it->state) {
    error = serialization::exception_for(serialization::decode_error(frame.payload),
                                         {*it->name, it->id, slot.child.pid()});
  }
  PendingTask task = std::move(slot.in_flight.front());
  slot.in_flight.pop_front();
  const auto now = Clock::now();
  ++slot.tasks_done;
  if (task.state) {
    record_service_time(now - slot.head_since);
    recent_deaths_.clear();
    failed_starts_ = 0;  // the pool is doing work: a failed start since is not a pattern yet
    if (error) {
      // A task's own exception counts as completed (the pool did its part).
      if (fail_task(std::move(task), error, out)) ++stats_.completed;
    } else {
      ++stats_.completed;
      out.push_back({std::move(task.state), std::move(frame.payload), nullptr});
    }
  }
  // The worker is done with that task (a cancelled one included): it is healthy.
  if (slot.stop == WorkerSlot::Stop::kAsked) slot.stop = WorkerSlot::Stop::kNone;
  if (slot.phase == WorkerSlot::Phase::kReady) {
    if (!slot.in_flight.empty()) {
      start_head(slot, now);
    } else {
      // Idle before the result is delivered, so a caller that submits again at once finds
      // this worker free instead of queueing behind a busy one.
      make_idle(slot, now);
    }
    dispatch(out);
  }
  changed_.notify_all();
}

void PoolCore::handle_initialized(WorkerSlot& slot, io::Frame& frame, Settlements& out) {
  slot.initializing = false;
  if (slot.phase != WorkerSlot::Phase::kStarting) return;  // close() let it go meanwhile
  if (static_cast<Kind>(frame.kind) == Kind::kResult) {
    become_ready(slot, out);
    return;
  }
  std::string why = "its initializer '" + *options_.initializer.name + "' ";
  if (static_cast<Kind>(frame.kind) == Kind::kError) {
    why += serialization::describe(serialization::decode_error(frame.payload));
  } else {
    why += "was answered with a CancelAck";
  }
  // Still kStarting: its death counts as a failed start.
  drop_worker(slot, std::make_exception_ptr(Error(why)));
}

void PoolCore::become_ready(WorkerSlot& slot, Settlements& out) {
  slot.phase = WorkerSlot::Phase::kReady;
  failed_starts_ = 0;
  make_idle(slot, Clock::now());
  dispatch(out);
  changed_.notify_all();
}

void PoolCore::handle_hello(WorkerSlot& slot, const io::Frame& frame, Lock&, Settlements& out) {
  if (slot.phase != WorkerSlot::Phase::kStarting) throw ProtocolError("a second Hello");
  // Too late: it is being killed for its silence. Taking it now would hand a task to a worker
  // about to die and count a failed start as a success.
  if (slot.handshake_expired) return;
  const serialization::Hello hello = serialization::decode_hello(frame.payload);
  std::string refusal;
  if (hello.protocol_version != serialization::kProtocolVersion) {
    refusal = "worker pid " + std::to_string(hello.pid) + " (" + hello.build_id +
              ") speaks protocol " + std::to_string(hello.protocol_version) +
              ", this pool speaks " + std::to_string(serialization::kProtocolVersion);
  } else if (hello.registry_hash != detail::TaskRegistry::instance().hash()) {
    refusal = "worker pid " + std::to_string(hello.pid) + " (" + hello.build_id +
              ") has a different task registry: it is another program or another build; " +
              "start workers from the program that registers the tasks";
  }
  if (!refusal.empty()) {
    HandshakeError error(refusal);
    slot.phase = WorkerSlot::Phase::kLeaving;
    drop_worker(slot, std::make_exception_ptr(error));
    break_pool(error.what(), out);
    return;
  }
  // Answer with our own Hello: the worker adopts this pool's frame limit.
  try {
    slot.writer.write_frame(
        static_cast<std::uint8_t>(Kind::kHello), 0, 0,
        serialization::encode(serialization::hello_from_this_process(slot.id, options_.max_frame)));
  } catch (const Error&) {
    drop_worker(slot, std::current_exception());
    return;
  }
  // handshake_timeout bounds the wait for Hello only; an initializer may take its time.
  slot.handshake_deadline = Clock::time_point::max();
  if (options_.initializer.function != 0) {
    // Ready once its initializer has run; until then it is still starting.
    try {
      slot.writer.write_frame(
          static_cast<std::uint8_t>(Kind::kTask), 0, 0,
          serialization::encode_task(options_.initializer.function, options_.initializer.args));
    } catch (const Error&) {
      drop_worker(slot, std::current_exception());
      return;
    }
    slot.initializing = true;
    return;
  }
  become_ready(slot, out);
}

void PoolCore::on_exit(std::uint32_t slot_id, Settlements& out) {
  auto it = slots_.find(slot_id);
  if (it == slots_.end()) return;
  WorkerSlot& slot = *it->second;
  // Whatever the worker wrote before it died is already in the pipe: deliver it first.
  while (slot.reading && (slot.reader.buffered() != 0 ||
                          io::poll_one(slot.from_worker.get(), POLLIN, std::chrono::milliseconds(0)))) {
    on_readable(slot_id, out);
  }
  Lock lock(mutex_);
  stop_reading(slot);
  epoll_.remove(slot.child.pidfd());
  const ExitStatus status = slot.child.wait();  // it has exited: this only reaps
  idle_.erase(std::remove(idle_.begin(), idle_.end(), &slot), idle_.end());
  record_death(slot, status, out);
  slots_.erase(it);
  // Tell the waiter first: starting a replacement takes milliseconds it need not wait.
  lock.unlock();
  settle(out);
  lock.lock();
  dispatch(out);  // the collector's loop starts a replacement if one is wanted
  changed_.notify_all();
}

void PoolCore::record_death(WorkerSlot& slot, const ExitStatus& status, Settlements& out) {
  const pid_t pid = slot.child.pid();
  if (!slot.in_flight.empty()) {
    // The first task was running unless it had been let go (cancelled, timed out): then the
    // worker was stuck in that one and the rest never started. A live first task may have
    // started even in a worker the pool stopped (it answered for the one let go just before),
    // so it fails like any task whose worker died, and runs again only if it has retries.
    if (slot.in_flight.front().state) {
      PendingTask running = std::move(slot.in_flight.front());
      slot.in_flight.pop_front();
      std::exception_ptr error = slot.failure;
      if (!error) error = std::make_exception_ptr(WorkerDied(pid, status, running.id, *running.name));
      task_logger().warn("forkpool: {}", what_of(error));
      if (fail_task(std::move(running), error, out)) ++stats_.failed;
    }
    // The tasks waiting behind it never started (a worker runs its tasks in order and every
    // frame it wrote before dying has been read): another worker runs them.
    while (!slot.in_flight.empty()) {
      PendingTask& waiting = slot.in_flight.back();
      if (!waiting.state) {
        // let go already
      } else if (broken_.empty() && state_ != State::kTerminating) {
        ++stats_.requeued;
        waiting.state->set_pending();
        queue_.push_front(std::move(waiting));
      } else {
        ++stats_.failed;
        out.push_back({std::move(waiting.state), {},
                       std::make_exception_ptr(PoolBroken(broken_.empty() ? "terminated" : broken_))});
      }
      slot.in_flight.pop_back();
    }
  } else if (slot.phase != WorkerSlot::Phase::kLeaving) {
    task_logger().warn("forkpool: worker pid {} {}{}{}", pid, status.str(),
                       slot.phase == WorkerSlot::Phase::kStarting ? " before its handshake" : "",
                       slot.failure ? ": " + what_of(slot.failure) : std::string());
  }
  if (slot.phase == WorkerSlot::Phase::kLeaving) return;  // we asked it to go
  ++stats_.worker_deaths;
  // Workers that never get as far as Hello (a launcher that fails or hangs every time) would
  // otherwise be restarted forever, one handshake timeout apart.
  if (slot.phase == WorkerSlot::Phase::kStarting && options_.crash_loop.start_failures > 0 &&
      ++failed_starts_ >= options_.crash_loop.start_failures) {
    break_pool(std::to_string(failed_starts_) + " workers in a row failed to start (last: worker pid " +
                   std::to_string(pid) + " " + status.str() + " before its handshake" +
                   (slot.failure ? ", " + what_of(slot.failure) : std::string()) +
                   "); not starting more (" + start_description_ + ")",
               out);
  }
  const auto now = Clock::now();
  recent_deaths_.push_back(now);
  while (!recent_deaths_.empty() && now - recent_deaths_.front() > options_.crash_loop.window) {
    recent_deaths_.pop_front();
  }
  if (static_cast<int>(recent_deaths_.size()) >= options_.crash_loop.deaths) {
    break_pool("workers died " + std::to_string(recent_deaths_.size()) +
                   " times in a row without completing a task (last: worker pid " +
                   std::to_string(pid) + " " + status.str() +
                   (slot.phase == WorkerSlot::Phase::kStarting ? " before its handshake" : "") +
                   (slot.failure ? ", " + what_of(slot.failure) : std::string()) +
                   "); not starting more (" + start_description_ + ")",
               out);
  }
}

io::Deadline PoolCore::expire_handshakes(Clock::time_point now) {
  io::Deadline next;
  for (auto& [id, slot] : slots_) {
    if (slot->phase != WorkerSlot::Phase::kStarting || slot->handshake_expired ||
        slot->handshake_deadline == Clock::time_point::max()) {
      continue;
    }
    if (now >= slot->handshake_deadline) {
      // Its pidfd becomes readable once it is dead; on_exit does the rest.
      slot->handshake_expired = true;
      if (!slot->failure) {
        slot->failure = std::make_exception_ptr(Error(
            "it said no Hello within " + std::to_string(options_.handshake_timeout.count()) + " ms"));
      }
      slot->child.signal(SIGKILL);
      continue;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(slot->handshake_deadline - now);
    if (!next || left < *next) next = left;
  }
  return next;
}

void PoolCore::release_constructor() {
  forked_from_parent_ = true;
  changed_.notify_all();
}

void PoolCore::collector_main() {
  // SIGPIPE is never useful to this thread: writes report EPIPE instead. Workers forked from
  // here reset their mask.
  io::block_sigpipe_in_this_thread();

  Settlements out;
  Lock lock(mutex_);
  try {
    starter_ = workers::make_starter({.method = options_.start_method,
                                      .executable = options_.worker_executable,
                                      .command = options_.worker_command,
                                      .max_frame = options_.max_frame});
    start_description_ = starter_->describe();
    const bool forks_this_process =
        options_.worker_command.empty() && options_.start_method == StartMethod::kFork;
    if (!forks_this_process) release_constructor();
    for (unsigned i = 0; i < workers_ && broken_.empty(); ++i) start_worker(lock);
  } catch (...) {
    break_pool("cannot start workers: " + what_of(std::current_exception()), out);
  }
  release_constructor();

  bool shutdown_sent = false;
  Clock::time_point kill_at{};
  bool killed = false;
  epoll_event events[64];
  for (;;) {
    // State changes, under the mutex.
    if (state_ == State::kClosing && !shutdown_sent && idle()) {
      for (auto& [id, slot] : slots_) {
        slot->phase = WorkerSlot::Phase::kLeaving;
        try {
          slot->writer.write_frame(static_cast<std::uint8_t>(Kind::kShutdown), 0, 0, {});
        } catch (const std::exception&) {
          slot->child.signal(SIGKILL);
        }
      }
      idle_.clear();
      shutdown_sent = true;
      kill_at = deadline_after(options_.shutdown_grace);
    }
    if (state_ == State::kTerminating) shutdown_sent = true;
    if (shutdown_sent && !killed && (state_ == State::kTerminating || Clock::now() >= kill_at)) {
      for (auto& [id, slot] : slots_) slot->child.signal(SIGKILL);
      killed = state_ == State::kTerminating || Clock::now() >= kill_at;
    }
    if (shutdown_sent && slots_.empty()) break;

    io::Deadline wait = supervise(Clock::now(), out);
    // Replacements for workers that died or were stopped, recycled or retired, and workers
    // for tasks that wait while some are retired.
    while (start_wanted()) start_worker(lock);
    dispatch(out);  // retries that supervise() queued
    if (io::Deadline next = expire_handshakes(Clock::now()); next && (!wait || *next < *wait)) {
      wait = next;
    }
    if (shutdown_sent && !killed) {
      const auto until_kill =
          std::chrono::duration_cast<std::chrono::milliseconds>(kill_at - Clock::now()) +
          std::chrono::milliseconds(1);
      if (!wait || until_kill < *wait) wait = until_kill;
    }
    lock.unlock();
    settle(out);
    std::size_t n = 0;
    try {
      n = epoll_.wait(events, wait);
      for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t data = events[i].data.u64;
        if (data == kWakeData) {
          wake_.clear();
        } else if (data & 1) {
          on_exit(static_cast<std::uint32_t>(data >> 1), out);
        } else {
          on_readable_all(static_cast<std::uint32_t>(data >> 1), out);
        }
      }
    } catch (const std::exception& e) {
      // Nothing here is expected to throw; if it does, stop cleanly rather than hang callers.
      task_logger().error("forkpool: collector failed: {}", e.what());
      Lock fail(mutex_);
      break_pool(std::string("the collector thread failed: ") + e.what(), out);
      kill_all(std::make_exception_ptr(PoolBroken(broken_)), out);
    }
    settle(out);
    lock.lock();
  }
  state_ = State::kStopped;
  starter_.reset();  // the zygote, if any, exits and is reaped here
  lock.unlock();
  settle(out);
  changed_.notify_all();
}

}  // namespace forkpool::orchestrator
