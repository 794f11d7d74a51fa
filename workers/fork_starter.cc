#include "workers/fork_starter.h"

#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "io/pipe.h"
#include "workers/worker_setup.h"

namespace forkpool::workers {

StartedWorker ForkStarter::start(std::uint32_t worker_id) {
  io::Pipe tasks = io::Pipe::create();
  io::Pipe results = io::Pipe::create();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    // The worker. It never returns into the caller's stack: _exit skips the parent's atexit
    // handlers and stdio buffers, which belong to the parent.
    if (!prepare_forked_worker(parent, tasks.read, results.write)) ::_exit(kWorkerExitSetupFailed);
    ::_exit(run_worker(std::move(tasks.read), std::move(results.write),
                       {.worker_id = worker_id, .max_frame = config_.max_frame}));
  }
  return StartedWorker{Child(pid), std::move(tasks.write), std::move(results.read)};
}

}  // namespace forkpool::workers
