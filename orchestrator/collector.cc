// The collector thread: it starts workers, waits on their result pipes and pidfds with epoll,
// reads whole frames without the mutex, answers handshakes, and reaps the workers that exit.
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

// A deadline `timeout` from now, saturating (workers/stop_plan.h).
std::chrono::steady_clock::time_point deadline_after(std::chrono::milliseconds timeout) {
  return workers::StopPlan::after(std::chrono::steady_clock::now(), timeout);
}

io::Deadline sooner(io::Deadline a, io::Deadline b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

}  // namespace

void PoolCore::release_constructor() {
  starter_set_up_ = true;
  changed_.notify_all();
}

void PoolCore::collector_main() {
  // SIGPIPE is never useful to this thread: writes report EPIPE instead. Workers forked from
  // here reset their mask.
  io::block_sigpipe_in_this_thread();

  Settlements out;
  Lock lock(mutex_);
  start_workers(lock, out);
  for (;;) {
    const io::Deadline until_kill = shut_down(Clock::now());
    if ((closing_.started() || state_ == State::kTerminating) && slots_.empty()) break;
    // Workers whose death waited for a frame write to end (WorkerSlot::exit_deferred).
    std::vector<std::uint32_t> deferred;
    for (const auto& [id, slot] : slots_) {
      if (slot->exit_deferred && !slot->writing) deferred.push_back(id);
    }
    if (!deferred.empty()) {
      lock.unlock();
      for (std::uint32_t id : deferred) on_exit(id, out);
      lock.lock();
      continue;
    }
    io::Deadline wait = supervise(Clock::now(), out);
    // Replacements for workers that died or were stopped, recycled or retired, and workers
    // for tasks that wait while some are retired.
    while (start_wanted()) start_worker(lock);
    dispatch(out);  // retries that supervise() queued
    write_claims(lock, out, Writer::kCollector);
    wait = sooner(sooner(wait, expire_handshakes(Clock::now())), until_kill);
    // A data connection that owes its token is closed by its deadline.
    if (data_listener_) wait = sooner(wait, data_listener_->next_deadline(Clock::now()));
    if (next_start_) {  // a host backing off (workers/launcher.h)
      wait = sooner(wait, std::chrono::ceil<std::chrono::milliseconds>(
                              std::max(*next_start_ - Clock::now(), Clock::duration::zero())));
    }
    lock.unlock();
    settle(out);
    wait_and_handle(wait, out);
    if (data_listener_ && data_listener_->pending()) on_data_connections();
    settle(out);
    lock.lock();
  }
  state_ = State::kStopped;
  starter_.reset();  // the zygote, if any, exits and is reaped here
  lock.unlock();
  settle(out);
  changed_.notify_all();
}

void PoolCore::start_workers(Lock& lock, Settlements& out) {
  if (!starter_set_up_) set_up_starter(lock, out);  // the constructor's thread did not
  start_first_workers(lock);
}

void PoolCore::start_first_workers(Lock& lock) {
  while (slots_.size() < workers_ && broken_.empty()) start_worker(lock);
}

void PoolCore::wait_and_handle(io::Deadline wait, Settlements& out) {
  epoll_event events[64];
  try {
    const std::size_t n = epoll_.wait(events, wait);
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t data = events[i].data.u64;
      if (data == kWakeData) {
        wake_.clear();
      } else if (data == kDataListenData || data == kDataPendingData) {
        on_data_connections();
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
}

void PoolCore::start_worker(Lock& lock) {
  const std::uint32_t id = next_worker_id_++;
  workers::StartedWorker started;
  std::string failed;
  try {
    lock.unlock();  // forking takes a while; submitters may queue meanwhile
    started = starter_->start(id);
    lock.lock();
  } catch (...) {
    if (!lock.owns_lock()) lock.lock();
    failed =
        "cannot start a worker (" + start_description_ + "): " + what_of(std::current_exception());
  }
  if (failed.empty() && !started.child.pidfd()) {
    failed = "this kernel has no pidfd_open; forkpool needs Linux 5.3 or later";
  }
  if (!failed.empty()) {
    Settlements out;
    break_pool(failed, out);
    lock.unlock();
    settle(out);
    lock.lock();
    return;
  }
  auto slot = std::make_unique<WorkerSlot>(id, std::move(started), options_);
  if (options_.handshake_timeout.count() > 0) {
    slot->handshake_deadline = deadline_after(options_.handshake_timeout);
  }
  epoll_.add(slot->from_worker, EPOLLIN, slot_epoll_data(id, false));
  epoll_.add(slot->child.pidfd(), EPOLLIN, slot_epoll_data(id, true));
  ++stats_.workers_started;
  slots_.emplace(id, std::move(slot));
}

void PoolCore::stop_reading(WorkerSlot& slot) {
  if (!slot.reading) return;
  epoll_.remove(slot.from_worker);
  slot.reading = false;
}

void PoolCore::drop_worker(WorkerSlot& slot, const std::exception_ptr& why) {
  if (why && !slot.failure) slot.failure = why;
  // A worker the pool asked to go stays asked: its death is still no crash.
  if (slot.state != WorkerSlot::State::kLeaving) slot.state = WorkerSlot::State::kKilled;
  slot.stop = {};
  idle_.erase(std::remove(idle_.begin(), idle_.end(), &slot), idle_.end());
  slot.child.signal(SIGKILL);
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
  if (frame) stats_.bytes_received += io::kFrameHeaderSize + frame->payload.size();
  if (error || !frame) {
    // Garbage, a truncated or stalled frame, or EOF: this worker can no longer answer.
    stop_reading(slot);
    drop_worker(slot, error);
    return;
  }
  try {
    handle_frame(slot, std::move(*frame), out);
  } catch (const ProtocolError&) {
    stop_reading(slot);
    drop_worker(slot, std::current_exception());
  }
  write_claims(lock, out, Writer::kCollector);
}

void PoolCore::on_readable_all(std::uint32_t slot_id, Settlements& out) {
  // Frames the reader has already buffered make the pipe no more readable: read them now.
  auto it = slots_.find(slot_id);
  do {
    on_readable(slot_id, out);
  } while (it != slots_.end() && it->second->reading && it->second->reader.buffered() != 0);
}

void PoolCore::on_exit(std::uint32_t slot_id, Settlements& out) {
  auto it = slots_.find(slot_id);
  if (it == slots_.end()) return;
  WorkerSlot& slot = *it->second;
  // Whatever the worker wrote before it died is already in the pipe: deliver it first.
  while (slot.reading &&
         (slot.reader.buffered() != 0 ||
          io::poll_one(slot.from_worker.get(), POLLIN, std::chrono::milliseconds(0)))) {
    on_readable(slot_id, out);
  }
  Lock lock(mutex_);
  if (slot.writing) {
    // A thread is writing a frame to it: whether its tasks got there is known only once the
    // write ends. finish_claim wakes the collector, which comes back here.
    if (!slot.exit_deferred) epoll_.remove(slot.child.pidfd());
    slot.exit_deferred = true;
    return;
  }
  stop_reading(slot);
  if (!slot.exit_deferred) epoll_.remove(slot.child.pidfd());
  const ExitStatus status = slot.child.wait();  // it has exited: this only reaps
  idle_.erase(std::remove(idle_.begin(), idle_.end(), &slot), idle_.end());
  record_death(slot, status, out);
  starter_->ended(slot.id, slot.became_ready);       // frees its host's slot
  stats_.bytes_sent += slot.writer.bytes_written();  // stats() adds the live workers'
  slots_.erase(it);
  // Tell the waiter first: starting a replacement takes milliseconds it need not wait.
  lock.unlock();
  settle(out);
  lock.lock();
  dispatch(out);  // the collector's loop starts a replacement if one is wanted
  write_claims(lock, out, Writer::kCollector);
  changed_.notify_all();
}

void PoolCore::handle_frame(WorkerSlot& slot, io::Frame frame, Settlements& out) {
  switch (static_cast<Kind>(frame.kind)) {
    case Kind::kHello:
      handle_hello(slot, frame, out);
      return;
    case Kind::kResult:
    case Kind::kError:
    case Kind::kCancelAck:
      if (slot.state == WorkerSlot::State::kInitializing && frame.task_id == 0) {
        handle_initialized(slot, frame, out);
      } else {
        handle_reply(slot, frame, out);
      }
      return;
    case Kind::kReplies:
      handle_replies(slot, frame, out);
      return;
    case Kind::kInputTaken:
      handle_input_taken(slot, frame);
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

void PoolCore::handle_initialized(WorkerSlot& slot, io::Frame& frame, Settlements& out) {
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
  // Not yet ready: its death counts as a failed start.
  drop_worker(slot, std::make_exception_ptr(Error(why)));
}

void PoolCore::become_ready(WorkerSlot& slot, Settlements& out) {
  slot.state = WorkerSlot::State::kReady;
  slot.became_ready = true;
  crash_loop_.worker_ready();
  make_idle(slot, Clock::now());
  dispatch(out);
  changed_.notify_all();
}

std::string PoolCore::hello_refusal(const WorkerSlot& slot, const io::Frame& frame) const {
  const serialization::Hello hello = serialization::decode_hello(frame.payload);
  const std::string host = !slot.host.empty() ? slot.host : hello.host;
  const std::string who = "worker pid " + std::to_string(hello.pid) +
                          (host.empty() ? "" : " on host '" + host + "'") + " (" + hello.build_id +
                          ")";
  if (hello.protocol_version != serialization::kProtocolVersion) {
    return who + " speaks protocol " + std::to_string(hello.protocol_version) +
           ", this pool speaks " + std::to_string(serialization::kProtocolVersion);
  }
  if (hello.registry_hash != detail::TaskRegistry::instance().hash()) {
    return who + " has a different task registry: it is another program or another build; " +
           "start workers from the program that registers the tasks";
  }
  return {};
}

void PoolCore::handle_hello(WorkerSlot& slot, const io::Frame& frame, Settlements& out) {
  if (slot.state != WorkerSlot::State::kStarting) {
    // Too late, if it is being killed for its silence: taking it now would hand a task to a
    // worker about to die and count a failed start as a success.
    if (!slot.became_ready && slot.state == WorkerSlot::State::kKilled) return;
    throw ProtocolError("a second Hello");
  }
  if (const std::string refusal = hello_refusal(slot, frame); !refusal.empty()) {
    HandshakeError error(refusal);
    slot.state = WorkerSlot::State::kLeaving;
    drop_worker(slot, std::make_exception_ptr(error));
    // A host of many can be left out; the pool breaks once no host is left.
    if (!starter_->give_up_host(slot.id, refusal)) break_pool(error.what(), out);
    return;
  }
  if (!slot.host.empty()) {
    // The launcher's name for the host, and the host's own: "fp-loopback (node7)".
    const std::string own = serialization::decode_hello(frame.payload).host;
    if (!own.empty() && own != slot.host) slot.host += " (" + own + ")";
  }
  try {
    // Answer with our own Hello: the worker adopts this pool's frame limit.
    slot.writer.write_frame(
        static_cast<std::uint8_t>(Kind::kHello), 0, 0,
        serialization::encode(serialization::hello_from_this_process(slot.id, options_.max_frame)));
    // handshake_timeout bounds the wait for Hello only; an initializer may take its time.
    slot.handshake_deadline = Clock::time_point::max();
    if (options_.initializer.function != 0) {
      // Ready once its initializer has run; until then it is still starting.
      slot.writer.write_frame(
          static_cast<std::uint8_t>(Kind::kTask), 0, 0,
          serialization::encode_task(options_.initializer.function, options_.initializer.args));
      slot.state = WorkerSlot::State::kInitializing;
      return;
    }
  } catch (const Error&) {
    drop_worker(slot, std::current_exception());
    return;
  }
  become_ready(slot, out);
}

io::Deadline PoolCore::expire_handshakes(Clock::time_point now) {
  io::Deadline next;
  for (auto& [id, slot] : slots_) {
    if (slot->state != WorkerSlot::State::kStarting ||
        slot->handshake_deadline == Clock::time_point::max()) {
      continue;
    }
    if (now >= slot->handshake_deadline) {
      // Its pidfd becomes readable once it is dead; on_exit does the rest.
      if (!slot->failure) {
        slot->failure = std::make_exception_ptr(
            Error("it said no Hello within " + std::to_string(options_.handshake_timeout.count()) +
                  " ms"));
      }
      slot->state = WorkerSlot::State::kKilled;
      slot->child.signal(SIGKILL);
      continue;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(slot->handshake_deadline - now);
    if (!next || left < *next) next = left;
  }
  return next;
}

}  // namespace forkpool::orchestrator
