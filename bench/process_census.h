// ProcessCensus: what this process holds, read from /proc — open fds, peak memory, child
// processes — so that a long run can show it leaked none of them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace forkpool_bench {

// Entries in /proc/self/fd, not counting the one used to list them.
int count_open_fds();

// VmHWM from /proc/self/status: the largest resident set this process has had, in MiB.
double peak_rss_mib();
// VmRSS from /proc/self/status, in MiB.
double rss_mib();

struct Children {
  int processes = 0;  // every process whose parent is this one, zombies included
  int zombies = 0;    // of those, the ones that have exited and were never reaped
};
// Scans /proc/*/stat for processes whose parent is this process.
Children count_children();

// The start time of `pid` (field 22 of /proc/PID/stat, clock ticks since boot), or nullopt if
// there is no such process. A pid and its start time name one process even after the pid
// has been reused, which on a machine with a small pid_max happens within minutes of forking.
std::optional<std::uint64_t> process_start_time(pid_t pid);

}  // namespace forkpool_bench
