// StartMethod::kForkserver: a zygote forks the workers.
//
// The zygote is forked once, when the pool starts, while it is small and before the pool has
// any worker pipes; from then on it is single-threaded, so forking it is safe where forking a
// multi-threaded parent is not. For each worker the pool sends the worker's ends of two fresh
// pipes over a Unix socket (SCM_RIGHTS); the zygote clones the worker with CLONE_PARENT, so
// the worker is the pool's own child — the pool reaps it with waitpid and its pidfd, and the
// worker's PR_SET_PDEATHSIG follows the pool, not the zygote.
#pragma once

#include "io/fd.h"
#include "workers/start_method.h"

namespace forkpool::workers {

class ForkserverStarter : public WorkerStarter {
 public:
  // Forks the zygote. Throws std::system_error.
  explicit ForkserverStarter(const StarterConfig& config);
  // Closes the socket, which ends the zygote, and reaps it.
  ~ForkserverStarter() override;

  StartedWorker start(std::uint32_t worker_id) override;
  std::string describe() const override;

 private:
  StarterConfig config_;
  io::Fd socket_;
  Child zygote_;
};

}  // namespace forkpool::workers
