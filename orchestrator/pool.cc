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

const detail::TaskEntry& Pool::registered(detail::ErasedFunction function) {
  const detail::TaskEntry* entry = detail::TaskRegistry::instance().find(function);
  if (entry == nullptr) {
    throw UnknownTask(
        "this function is not a registered task: register it with FORKPOOL_TASK(name, function)");
  }
  return *entry;
}

std::shared_ptr<detail::FutureState> Pool::submit_encoded(detail::TaskId function,
                                                          const std::string* name,
                                                          detail::Payload args,
                                                          const TaskOptions& call) {
  return core_->submit(function, name, std::move(args), call);
}

}  // namespace forkpool
