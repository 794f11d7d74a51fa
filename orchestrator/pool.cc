#include "forkpool/pool.h"

#include "orchestrator/pool_core.h"

namespace forkpool {

Pool::Pool(Options options) : core_(std::make_unique<orchestrator::PoolCore>(std::move(options))) {}

Pool::~Pool() = default;  // PoolCore's destructor closes

void Pool::close() { core_->close(); }
void Pool::terminate() { core_->terminate(); }
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
                                                        detail::Payload chunk, std::size_t calls) {
  TaskOptions call;
  const std::chrono::milliseconds per_call = core_->options().task_timeout;
  if (per_call.count() > 0) call.timeout = per_call * static_cast<std::int64_t>(calls);
  return core_->submit(function, name, std::move(chunk), call, /*chunk=*/true);
}

std::shared_ptr<detail::FutureState> Pool::submit_encoded(detail::TaskId function,
                                                          const std::string* name,
                                                          detail::Payload args,
                                                          const TaskOptions& call) {
  return core_->submit(function, name, std::move(args), call);
}

}  // namespace forkpool
