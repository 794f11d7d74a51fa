// StartMethod::kFork: the pool forks each worker itself.
#pragma once

#include "workers/start_method.h"

namespace forkpool::workers {

class ForkStarter : public WorkerStarter {
 public:
  explicit ForkStarter(const StarterConfig& config) : config_(config) {}
  StartedWorker start(std::uint32_t worker_id) override;
  std::string describe() const override { return "fork"; }

 private:
  StarterConfig config_;
};

}  // namespace forkpool::workers
