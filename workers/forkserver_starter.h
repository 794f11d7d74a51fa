// StartMethod::kForkserver: a zygote forks the workers.
//
// The zygote is forked once, when the pool starts, while it is small and before the pool has
// any worker pipes (and, on the main thread, before the pool has a thread of its own); from
// then on it is single-threaded, so forking it is safe where forking a multi-threaded parent
// is not. For each worker the pool sends the worker's ends of two fresh pipes over a Unix
// socket (SCM_RIGHTS); the zygote clones the worker with CLONE_PARENT, so the worker is the
// pool's own child — the pool reaps it with waitpid and its pidfd, and the worker's
// PR_SET_PDEATHSIG follows the pool's thread that forked the zygote, not the zygote.
#pragma once

#include "io/fd.h"
#include "workers/start_method.h"

namespace forkpool::workers {

class ForkserverStarter : public WorkerStarter {
 public:
  // Forks the zygote. Throws std::system_error.
  // REQUIRES: the calling thread lives as long as the workers (WorkerStarter::start): the
  // zygote and the workers it clones die with it.
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
