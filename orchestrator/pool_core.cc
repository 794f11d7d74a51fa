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
  epoll_.add(wake_.fd(), EPOLLIN, kWakeData);
  collector_ = std::thread([this] { collector_main(); });
  // Wait until the collector has forked what it must fork from this process (the zygote, or
  // the first workers of StartMethod::kFork). Meanwhile this thread holds no lock, so those
  // forks copy a consistent heap; a fork that races an allocation in another thread can
  // copy an allocator lock held forever (sanitizer allocators have no fork handlers).
  Lock lock(mutex_);
  changed_.wait(lock, [this] { return forked_from_parent_; });
}

PoolCore::~PoolCore() { close(); }

// ---------------------------------------------------------------------------------------------
// Callers' side.

std::shared_ptr<detail::FutureState> PoolCore::submit(detail::TaskId function,
                                                      const std::string* name,
                                                      detail::Payload args) {
  auto state = std::make_shared<detail::FutureState>();
  detail::Payload payload = serialization::encode_task(function, args);
  Settlements out;
  {
    Lock lock(mutex_);
    if (state_ != State::kRunning) throw PoolClosed("close() or terminate() was called");
    if (!broken_.empty()) throw PoolBroken(broken_);
    ++stats_.submitted;
    if (payload.size() > options_.max_frame) {
      ++stats_.failed;
      state->set_error(std::make_exception_ptr(MessageTooLarge(payload.size(), options_.max_frame)));
      return state;
    }
    queue_.push_back(PendingTask{next_task_id_++, name, std::move(payload), state});
    dispatch(out);
  }
  settle(out);
  return state;
}

void PoolCore::close() {
  {
    Lock lock(mutex_);
    if (state_ == State::kRunning) state_ = State::kClosing;
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
  while (!idle_.empty() && !queue_.empty()) {
    WorkerSlot* slot = idle_.back();
    idle_.pop_back();
    PendingTask task = std::move(queue_.front());
    queue_.pop_front();
    send_task(*slot, std::move(task), out);
  }
  if (queue_.empty() || !pipelining_pays()) return;
  const std::size_t depth = std::min(options_.pipeline_depth, kMaxPipelineDepth);
  // Top up the busy workers one task at a time each, so they fill evenly.
  for (std::size_t level = 1; level < depth && !queue_.empty(); ++level) {
    for (auto& [id, slot] : slots_) {
      if (queue_.empty() || queue_.front().payload.size() > kPipelinedFrameLimit) return;
      if (slot->phase != WorkerSlot::Phase::kReady || slot->failure ||
          slot->in_flight.size() != level) {
        continue;
      }
      PendingTask task = std::move(queue_.front());
      queue_.pop_front();
      send_task(*slot, std::move(task), out);
    }
  }
}

void PoolCore::start_head(WorkerSlot& slot, Clock::time_point now) {
  PendingTask& task = slot.in_flight.front();
  // Running now, so it will never be sent again: drop its frame. A task still waiting in the
  // pipe keeps its (small) frame, to be sent to another worker if this one dies.
  task.payload = {};
  task.state->set_running();
  slot.head_since = now;
}

bool PoolCore::pipelining_pays() const {
  return options_.pipeline_depth > 1 && mean_service_us_ >= 0 &&
         mean_service_us_ < static_cast<double>(options_.pipeline_below.count());
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
    slot.writer.write_frame(static_cast<std::uint8_t>(Kind::kTask), 0, task.id, task.payload);
  } catch (const PeerGone&) {
    // The worker died while idle; the task never reached it. Another worker takes it.
    task.state->set_pending();
    queue_.push_front(std::move(task));
    drop_worker(slot, nullptr);
    return false;
  } catch (const StalledFrame&) {
    // A worker that does not read its pipe has not received the whole task: safe to requeue.
    task.state->set_pending();
    queue_.push_front(std::move(task));
    drop_worker(slot, std::current_exception());
    return false;
  } catch (...) {
    ++stats_.failed;
    out.push_back({std::move(task.state), {}, std::current_exception()});
    drop_worker(slot, std::current_exception());
    return false;
  }
  slot.in_flight.push_back(std::move(task));
  if (head) start_head(slot, Clock::now());
  return true;
}

void PoolCore::drop_worker(WorkerSlot& slot, std::exception_ptr why) {
  if (why && !slot.failure) slot.failure = why;
  idle_.erase(std::remove(idle_.begin(), idle_.end(), &slot), idle_.end());
  slot.child.signal(SIGKILL);
}

void PoolCore::kill_all(std::exception_ptr error, Settlements& out) {
  state_ = State::kTerminating;
  fail_queue(error, out);
  for (auto& [id, slot] : slots_) {
    for (PendingTask& task : slot->in_flight) {
      ++stats_.failed;
      out.push_back({std::move(task.state), {}, error});
    }
    slot->in_flight.clear();
    slot->phase = WorkerSlot::Phase::kLeaving;
    slot->child.signal(SIGKILL);
  }
  idle_.clear();
  changed_.notify_all();
}

void PoolCore::fail_queue(std::exception_ptr error, Settlements& out) {
  for (PendingTask& task : queue_) {
    ++stats_.failed;
    out.push_back({std::move(task.state), {}, error});
  }
  queue_.clear();
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

bool PoolCore::should_respawn() const {
  if (!broken_.empty()) return false;
  if (state_ == State::kRunning) return true;
  return state_ == State::kClosing && !queue_.empty();
}

void PoolCore::settle(Settlements& settlements) {
  for (Settlement& s : settlements) {
    if (s.error) {
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
    case Kind::kError: {
      if (slot.in_flight.empty() || slot.in_flight.front().id != frame.task_id) {
        task_logger().debug("forkpool: dropping a {} for task {}, which is not running on worker {}",
                            serialization::kind_name(frame.kind), frame.task_id,
                            slot.child.pid());
        return;
      }
      std::exception_ptr error;
      if (frame.kind == static_cast<std::uint8_t>(Kind::kError)) {
        auto reply = serialization::decode_error(frame.payload);  // ProtocolError: caller drops
        error = std::make_exception_ptr(RemoteError(reply.type_name, reply.message,
                                                    *slot.in_flight.front().name,
                                                    slot.in_flight.front().id, slot.child.pid()));
      }
      PendingTask task = std::move(slot.in_flight.front());
      slot.in_flight.pop_front();
      const auto now = Clock::now();
      record_service_time(now - slot.head_since);
      if (!slot.in_flight.empty()) start_head(slot, now);
      ++slot.tasks_done;
      ++stats_.completed;
      recent_deaths_.clear();
      failed_starts_ = 0;  // the pool is doing work: a failed start since is not a pattern yet
      // Idle before the result is delivered, so a caller that submits again at once finds
      // this worker free instead of queueing behind a busy one.
      if (slot.phase == WorkerSlot::Phase::kReady && slot.in_flight.empty()) {
        idle_.push_back(&slot);
      }
      dispatch(out);
      out.push_back({std::move(task.state), std::move(frame.payload), error});
      changed_.notify_all();
      return;
    }
    case Kind::kLog: {
      auto line = serialization::decode_log(frame.payload);
      task_logger().log(static_cast<spdlog::level::level_enum>(line.level), "[worker pid {}] {}",
                        slot.child.pid(), line.text);
      return;
    }
    case Kind::kHeartbeat:
      return;
    default:
      throw ProtocolError("a worker sent a " + serialization::kind_name(frame.kind) + " frame");
  }
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
  slot.phase = WorkerSlot::Phase::kReady;
  failed_starts_ = 0;
  idle_.push_back(&slot);
  dispatch(out);
  changed_.notify_all();
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
  if (should_respawn()) start_worker(lock);
  dispatch(out);
  changed_.notify_all();
}

void PoolCore::record_death(WorkerSlot& slot, const ExitStatus& status, Settlements& out) {
  const pid_t pid = slot.child.pid();
  if (!slot.in_flight.empty()) {
    const PendingTask& running = slot.in_flight.front();
    std::exception_ptr error = slot.failure;
    if (!error) error = std::make_exception_ptr(WorkerDied(pid, status, running.id, *running.name));
    ++stats_.failed;
    out.push_back({running.state, {}, error});
    task_logger().warn("forkpool: {}", what_of(error));
    // The tasks waiting behind it never started (a worker runs its tasks in order and every
    // frame it wrote before dying has been read): another worker runs them.
    slot.in_flight.pop_front();
    while (!slot.in_flight.empty()) {
      PendingTask& waiting = slot.in_flight.back();
      if (broken_.empty()) {
        ++stats_.requeued;
        queue_.push_front(std::move(waiting));
      } else {
        ++stats_.failed;
        out.push_back({std::move(waiting.state), {}, std::make_exception_ptr(PoolBroken(broken_))});
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

    io::Deadline wait = expire_handshakes(Clock::now());
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
