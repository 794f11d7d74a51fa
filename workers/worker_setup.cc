#include "workers/worker_setup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "io/syscalls.h"

namespace forkpool::workers {

bool die_with_parent(pid_t parent) noexcept {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  return parent == 0 || ::getppid() == parent;
}

void stdin_from_dev_null() noexcept {
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::close(null);
  }
}

bool prepare_forked_worker(pid_t parent, const io::Fd& tasks_in, const io::Fd& results_out) {
  if (!die_with_parent(parent)) return false;
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  stdin_from_dev_null();
  const int keep[] = {tasks_in.get(), results_out.get()};
  return io::close_cloexec_fds_except(keep);
}

}  // namespace forkpool::workers
