// PoolCore's construction and end, and the pool-wide state: which workers it wants, and how it
// breaks down. See pool_core.h for the map of the other files.
#include "orchestrator/pool_core.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>

#include "forkpool/worker.h"
#include "orchestrator/cpu_count.h"
#include "orchestrator/retry_policy.h"
#include "workers/launcher.h"

namespace forkpool::orchestrator {
namespace {
// With a launcher's hosts, workers that fail to start are counted per host
// (Launcher::host_start_failures): one bad host of several must not break the pool.
CrashLoopPolicy crash_loop_policy(const Options& options) {
  CrashLoopPolicy policy = options.crash_loop;
  if (options.launcher.kind != Launcher::Kind::kLocal) policy.start_failures = 0;
  return policy;
}

unsigned worker_count(const Options& options) {
  if (options.launcher.kind == Launcher::Kind::kLocal) {
    return options.workers != 0 ? options.workers : usable_cpus();
  }
  // More workers than the hosts have slots would have nowhere to run.
  const unsigned slots = workers::launcher_slots(options.launcher);
  return options.workers != 0 ? std::min(options.workers, slots) : slots;
}

// Whether this is the process's main thread, which ends only when the process does (short of
// a pthread_exit() in main).
bool on_main_thread() { return ::gettid() == ::getpid(); }

// Pools of this process whose collector thread is running. Another pool's collector may hold
// any lock at any instant (its allocator's, under a sanitizer, which has no fork handlers), and
// a fork copies it held: a forkserver zygote forked from the main thread right after another
// pool started, while that pool's collector was starting its workers, hung every worker it
// cloned (ThreadSanitizer, Misuse.GetOfAnotherPoolsFutureInsideOnReadyIsAllowed).
std::atomic<int> g_running_collectors{0};
}  // namespace

PoolCore::PoolCore(Options options)
    : options_(std::move(options)),
      workers_(worker_count(options_)),
      crash_loop_(crash_loop_policy(options_)) {
  cancel_link_->core = this;
  epoll_.add(wake_.fd(), EPOLLIN, kWakeData);
  // What the pool forks from this process as it starts (the forkserver's zygote, the first
  // workers of StartMethod::kFork) copies every lock as it is at that instant, held ones
  // included. Forked here, before the collector exists, from a single-threaded program it
  // copies a single-threaded process. But PR_SET_PDEATHSIG kills those processes, and the
  // workers the zygote clones as their siblings, when the thread that forked them ends: only
  // the main thread is sure to outlive the pool. From any other thread the collector forks
  // them, and lives as long as they do; the process has another thread (main) anyway.
  // With another pool's collector running, this pool's collector forks, as on any other thread
  // (and as every pool did before): not safe either against a lock held at that instant, but
  // it comes a thread's start later, after the other pool's start-up rather than in its midst.
  const bool fork_here =
      on_main_thread() && g_running_collectors.load(std::memory_order_acquire) == 0;
  if (fork_here) {
    Lock lock(mutex_);
    Settlements out;  // nothing is queued yet: a failure settles nothing
    set_up_starter(lock, out);
  }
  g_running_collectors.fetch_add(1, std::memory_order_acq_rel);
  try {
    collector_ = std::thread([this] { collector_main(); });
  } catch (...) {
    g_running_collectors.fetch_sub(1, std::memory_order_acq_rel);
    throw;
  }
  if (fork_here) return;
  // Wait for the collector's set_up_starter. Meanwhile this thread holds no lock, so its forks
  // copy a consistent heap; a fork that races an allocation in another thread can copy an
  // allocator lock held forever (sanitizer allocators have no fork handlers).
  Lock lock(mutex_);
  changed_.wait(lock, [this] { return starter_set_up_; });
}

void PoolCore::set_up_starter(Lock& lock, Settlements& out) {
  try {
    const Launcher& launcher = options_.launcher;
    if (launcher.kind != Launcher::Kind::kLocal && launcher.data_channel != DataChannel::kStdio) {
      data_listener_ =
          std::make_unique<DataChannelListener>(epoll_, kDataListenData, kDataPendingData);
    }
    starter_ = workers::make_starter(
        {.method = options_.start_method,
         .executable = options_.worker_executable,
         .command = options_.worker_command,
         .max_frame = options_.max_frame,
         .launcher = launcher,
         .data_port = data_listener_ ? data_listener_->port() : std::uint16_t{0}});
    start_description_ = starter_->describe();
    const bool forks_this_process = options_.worker_command.empty() &&
                                    launcher.kind == Launcher::Kind::kLocal &&
                                    options_.start_method == StartMethod::kFork;
    if (forks_this_process) start_first_workers(lock);
  } catch (...) {
    break_pool("cannot start workers: " + what_of(std::current_exception()), out);
  }
  release_constructor();
}

PoolCore::~PoolCore() {
  close();
  std::unique_lock lock(cancel_link_->mutex);
  cancel_link_->core = nullptr;
  cancel_link_->idle.wait(lock, [&] { return cancel_link_->sending == 0; });
}

void PoolCore::close() {
  {
    Lock lock(mutex_);
    if (state_ == State::kRunning) state_ = State::kClosing;
    room_.notify_all();  // blocked submitters fail with PoolClosed
  }
  wake_.signal();
  std::lock_guard join_lock(join_mutex_);  // two threads closing at once: one joins
  if (collector_.joinable()) {
    collector_.join();
    g_running_collectors.fetch_sub(1, std::memory_order_acq_rel);
  }
  // The collector ends only once every worker is gone, so no claim is left for the bulk writer.
  {
    Lock lock(mutex_);
    bulk_stop_ = true;
    bulk_ready_.notify_all();
  }
  if (bulk_writer_.joinable()) bulk_writer_.join();
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
  PoolStats now = stats_;
  now.workers_alive = live_workers();
  // Calls, not tasks: a run of a batch is one task of many calls.
  for (const PendingTask& task : queue_) now.queued += task.live_calls();
  for (const auto& [id, slot] : slots_) {
    for (const PendingTask& task : slot->in_flight) now.in_workers += task.live_calls();
    now.bytes_sent += slot->writer.bytes_written();
  }
  return now;
}

std::string PoolCore::start_description() const {
  Lock lock(mutex_);
  return start_description_;
}

bool PoolCore::idle() const {
  if (!queue_.empty()) return false;
  return std::none_of(slots_.begin(), slots_.end(),
                      [](const auto& entry) { return !entry.second->in_flight.empty(); });
}

unsigned PoolCore::live_workers() const {
  unsigned n = 0;
  for (const auto& [id, slot] : slots_) n += slot->state != WorkerSlot::State::kLeaving ? 1 : 0;
  return n;
}

bool PoolCore::start_wanted() const {
  next_start_.reset();
  if (!broken_.empty()) return false;
  if (state_ != State::kRunning && !(state_ == State::kClosing && !queue_.empty())) return false;
  unsigned live = 0, starting = 0;
  for (const auto& [id, slot] : slots_) {
    if (slot->state == WorkerSlot::State::kLeaving) continue;
    ++live;
    starting += slot->became_ready ? 0 : 1;
  }
  if (live >= workers_) return false;
  // A starter with hosts may have no slot free now (workers/launcher.h).
  if (starter_ && !starter_->can_start(Clock::now(), next_start_)) return false;
  // Without idle retirement the pool keeps every worker; with it, at least min_workers, and
  // more only while tasks wait for them.
  const unsigned floor =
      options_.idle_timeout.count() > 0 ? std::min(options_.min_workers, workers_) : workers_;
  return live < floor || queue_.size() > starting;
}

void PoolCore::room_made() {
  if (blocked_submitters_ > 0) room_.notify_all();
}

void PoolCore::kill_all(const std::exception_ptr& error, Settlements& out) {
  state_ = State::kTerminating;
  fail_queue(error, out);
  for (auto& [id, slot] : slots_) {
    for (PendingTask& task : slot->in_flight) {
      if (!task.state) continue;  // cancelled or timed out: settled already
      ++stats_.failed;
      out.push_back({std::move(task.state), {}, error});
    }
    slot->in_flight.clear();
    slot->state = WorkerSlot::State::kLeaving;
    slot->stop = {};
    slot->child.signal(SIGKILL);
  }
  idle_.clear();
  room_.notify_all();
  changed_.notify_all();
}

void PoolCore::fail_queue(const std::exception_ptr& error, Settlements& out) {
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

}  // namespace forkpool::orchestrator
