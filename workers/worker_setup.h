// Becoming a worker: what a fresh process does before it runs the worker loop, whichever way
// it was made (forked by the pool or its forkserver zygote, spawned, or started by a launcher
// command). The pieces every way shares live here once.
#pragma once

#include <sys/types.h>

#include "io/fd.h"

namespace forkpool::workers {

// Asks for SIGKILL when the parent thread dies (PR_SET_PDEATHSIG). Returns false if `parent`
// has already died, so an orphan never starts serving: it may have died before the request
// took effect, and then getppid() is no longer `parent`. `parent` 0 checks nothing.
// Async-signal-safe.
bool die_with_parent(pid_t parent) noexcept;

// Points stdin at /dev/null, so that a task (or a program it runs) that reads stdin reads
// neither the protocol nor the parent's terminal. Async-signal-safe.
void stdin_from_dev_null() noexcept;

// In a process just forked from the pool (fork, forkserver): die_with_parent, an empty signal
// mask (the forking thread's is inherited), stdin_from_dev_null, and every close-on-exec
// descriptor closed but the worker's two, as if it had exec'd. Only async-signal-safe calls:
// the parent may be multi-threaded. Returns false if the parent is already gone or
// /proc/self/fd could not be read.
bool prepare_forked_worker(pid_t parent, const io::Fd& tasks_in, const io::Fd& results_out);

}  // namespace forkpool::workers
