// Descriptors 0, 1 and 2 that a caller left closed.
#pragma once

namespace forkpool::cli {

// Opens /dev/null on each of descriptors 0, 1 and 2 that is closed. Call it first thing in
// main, before anything opens a descriptor: otherwise the next pipe or epoll descriptor takes
// the free number, and job output or a job's stdin lands in it. Async-signal-safe calls only;
// a descriptor that cannot be opened is left as it is.
void make_standard_fds_valid() noexcept;

}  // namespace forkpool::cli
