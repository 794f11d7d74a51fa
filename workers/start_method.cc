#include "workers/start_method.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "io/syscalls.h"
#include "workers/fork_starter.h"
#include "workers/forkserver_starter.h"
#include "workers/spawn_starter.h"

namespace forkpool::workers {

std::unique_ptr<WorkerStarter> make_starter(const StarterConfig& config) {
  if (!config.command.empty()) return std::make_unique<SpawnStarter>(config);
  switch (config.method) {
    case StartMethod::kFork: return std::make_unique<ForkStarter>(config);
    case StartMethod::kForkserver: return std::make_unique<ForkserverStarter>(config);
    case StartMethod::kSpawn: return std::make_unique<SpawnStarter>(config);
  }
  return nullptr;
}

bool prepare_forked_worker(pid_t parent, const io::Fd& tasks_in, const io::Fd& results_out) {
  // The parent may have died between fork and prctl; then getppid() is no longer `parent`.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) return false;
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::close(null);
  }
  const int keep[] = {tasks_in.get(), results_out.get()};
  return io::close_cloexec_fds_except(keep);
}

}  // namespace forkpool::workers
