// JobGuard: kills the process groups of the jobs an exec task runs when the process that runs
// them dies, however it dies (SIGKILL, the OOM killer, a crash).
//
// Each exec job leads its own process group. The first job a process runs forks a tiny guard
// process (once per process, never per job) that is detached from it: the guard is a grandchild
// whose middle process exits at once, so it is adopted by init (or the nearest subreaper) and
// is never a child this process must reap. The two share a page of memory, where this process
// writes each job's process group as it starts and clears it when the job has ended (no
// system call, and the guard is not woken), and a pipe, whose write end (close-on-exec, so
// jobs never inherit it) this process holds for the rest of its life and never writes to.
// When this process dies the kernel closes that end, the guard reads EOF, SIGKILLs every
// group still in the page, and exits; while this process lives the guard only waits in
// read(2).
//
// The spawn races the message that names the group: a worker killed in between would leave a
// job the guard never heard of. So every job also carries marker() in its environment, and the
// guard, after the groups it holds, SIGKILLs every process whose environment carries it (a
// /proc scan, once, when the worker has died). Limits: a job process that both leaves its
// process group (setsid, setpgid: a daemon) and clears its environment is beyond its reach.
#pragma once

#include <sys/types.h>

namespace forkpool::workers {

class JobGuard {
 public:
  // The guard of this process, started by the first call, from any thread (after a fork, the
  // child starts its own). If the guard cannot be started (pipe or fork fails), jobs run
  // unguarded and this returns a guard whose calls do nothing; if only the shared page cannot
  // be mapped, the guard finds the jobs by their marker alone.
  static JobGuard& of_this_process();

  // Tells the guard that process group `pgid` is a running job's / has ended. Only called
  // while the group's leader is not yet reaped, so the number cannot have been reused.
  void watch(pid_t pgid);
  void forget(pid_t pgid);
  // The environment entry ("NAME=token") every job of this process carries, so that the guard
  // also finds what was started before watch() reached it; nullptr when there is no guard.
  const char* marker() const;

 private:
  JobGuard() = default;
  void start(pid_t self);
  // Writes `to` into the first slot of the shared page that holds `from`, if any.
  void replace_slot(pid_t from, pid_t to);

  int write_fd_ = -1;      // kept open for the life of the process, on purpose
  void* table_ = nullptr;  // the page shared with the guard: the running jobs' groups
};

}  // namespace forkpool::workers
