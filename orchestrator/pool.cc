#include "forkpool/pool.h"

#include <sys/resource.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>

#include "orchestrator/cpu_count.h"
#include "orchestrator/pool_core.h"
#include "serialization/messages.h"

namespace forkpool {
namespace {

// What this process holds open per worker: its task pipe, its result pipe and its pidfd.
constexpr std::uint64_t kFdsPerWorker = 3;
// The pool's own (epoll, eventfd, the forkserver's socket and pidfd) and the child's pipe ends
// a worker start holds for a moment, with room to spare.
constexpr std::uint64_t kFdsPerPool = 16;

std::uint64_t fds_open_now() {
  std::error_code error;
  std::uint64_t count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end;
       it.increment(error)) {
    ++count;
  }
  return count;
}

// Refuses, before anything starts, a pool whose workers' descriptors cannot all be open at once
// under RLIMIT_NOFILE: otherwise the workers start one by one until a pipe() fails, which with
// tens of thousands of workers takes most of a minute, and the pool then breaks.
void check_fd_limit(const Options& options) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return;
  const std::uint64_t workers =
      options.workers != 0 ? options.workers : orchestrator::usable_cpus();
  const std::uint64_t open = fds_open_now();
  const std::uint64_t needed = open + kFdsPerPool + kFdsPerWorker * workers;
  if (needed <= limit.rlim_cur) return;
  std::string advice = "use fewer workers";
  if (limit.rlim_max == RLIM_INFINITY || limit.rlim_max > limit.rlim_cur) {
    advice += ", or raise the soft limit (ulimit -n; the hard limit is " +
              (limit.rlim_max == RLIM_INFINITY ? std::string("unlimited")
                                               : std::to_string(limit.rlim_max)) +
              ")";
  }
  throw ResourceLimit("a pool of " + std::to_string(workers) + " workers needs about " +
                          std::to_string(needed) + " file descriptors (" +
                          std::to_string(kFdsPerWorker) + " per worker, " + std::to_string(open) +
                          " open now), but this process may open " +
                          std::to_string(limit.rlim_cur) + " (RLIMIT_NOFILE); " + advice,
                      needed, limit.rlim_cur);
}

Options checked(Options options) {
  check_fd_limit(options);
  return options;
}

[[noreturn]] void refuse_inside_callback(const std::string& what) {
  throw UsageError(what +
                   " inside an on_ready callback of one of the pool's own futures would wait for "
                   "the thread that runs the callback; do it after the callback returns (for "
                   "example, signal another thread to do it)");
}

}  // namespace

Pool::Pool(Options options)
    : core_(std::make_unique<orchestrator::PoolCore>(checked(std::move(options)))) {}

// NOLINTNEXTLINE(bugprone-exception-escape): on purpose, as below
Pool::~Pool() {
  // A destructor cannot hand an error back, and neither way on is right: closing would join
  // the thread running this (or wait on it), and returning would free the pool under it. So the
  // misuse ends the program, as an uncaught UsageError that says what happened; the destructor
  // of core_ closes otherwise.
  if (detail::in_ready_callback_of(core_.get())) refuse_inside_callback("destroying the Pool");
}

void Pool::close() {
  if (detail::in_ready_callback_of(core_.get())) refuse_inside_callback("Pool::close()");
  core_->close();
}
void Pool::terminate() {
  if (detail::in_ready_callback_of(core_.get())) refuse_inside_callback("Pool::terminate()");
  core_->terminate();
}
std::size_t Pool::cancel_all() { return core_->cancel_all(); }
std::vector<pid_t> Pool::worker_pids() const { return core_->worker_pids(); }
unsigned Pool::workers() const { return core_->workers(); }
PoolStats Pool::stats() const { return core_->stats(); }
std::string Pool::start_description() const { return core_->start_description(); }

std::size_t Pool::map_window() const {
  const std::size_t window = core_->options().map_window;
  return window != 0 ? window : 4 * std::size_t{core_->workers()};
}

std::size_t Pool::max_frame() const { return core_->options().max_frame; }

std::shared_ptr<detail::FutureState> Pool::submit_chunk(detail::TaskId function,
                                                        const std::string* name,
                                                        const detail::Payload& chunk,
                                                        std::size_t calls) {
  TaskOptions call;
  const std::chrono::milliseconds per_call = core_->options().task_timeout;
  if (per_call.count() > 0) call.timeout = per_call * static_cast<std::int64_t>(calls);
  auto state = core_->submit(function, name, serialization::encode_task(function, chunk), call,
                             /*chunk=*/true);
  state->set_owner(core_.get());
  return state;
}

std::shared_ptr<detail::FutureState> Pool::submit_encoded(detail::TaskId function,
                                                          const std::string* name,
                                                          detail::Payload task,
                                                          const TaskOptions& call) {
  auto state = core_->submit(function, name, std::move(task), call);
  // Before the caller has the future, so before any on_ready callback can be set on it.
  state->set_owner(core_.get());
  return state;
}

}  // namespace forkpool
