// What the job gate (cli/job_gate.h) measures on this machine: free memory and busy threads,
// counted as GNU parallel 20221122 counts them on Linux, and the answer of a --limit command.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace forkpool::cli {

// The bytes GNU parallel counts as free: MemFree + Buffers + Cached + SwapCached from
// /proc/meminfo (not MemAvailable, which leaves out the page cache the kernel cannot drop:
// GNU parallel's count is the one its users' --memfree values were chosen against).
// Throws std::runtime_error if /proc/meminfo cannot be read.
double memory_free();

// The threads of this machine running or waiting for a disk right now (state R or D), kernel
// threads and the calling thread left out: GNU parallel's instant "load" (the lines of
// `ps axH -o state,command` in state D, O or R whose command is not a kernel thread's, less
// one for its own ps).
unsigned busy_threads();

// The milliseconds each block device of this machine has spent doing I/O (the tenth counter
// after the name in a /proc/diskstats line: io_ticks), by device name.
using DiskTicks = std::map<std::string, std::uint64_t>;
// Parses /proc/diskstats's text; lines it cannot read are left out.
DiskTicks parse_diskstats(const std::string& text);
// Reads /proc/diskstats. Throws std::runtime_error if it cannot be read.
DiskTicks disk_ticks();
// The busiest device's %util between two readings `elapsed_ms` apart, as iostat -x computes
// it (busy milliseconds per elapsed millisecond, at most 100); devices in only one are left
// out. 0 when there is none.
double busiest_disk_percent(const DiskTicks& before, const DiskTicks& after, double elapsed_ms);

// Runs `shell -c command` with stdin from /dev/null, stdout and stderr this process's, and
// SSHLOGIN=: in its environment (as GNU parallel runs a --limit command for this machine);
// waits for it. Returns its exit code; 0 if a signal ended it (GNU parallel reads `$? >> 8`).
// Throws std::system_error if it cannot be started.
int run_limit_command(const std::string& shell, const std::string& command);

// A job's leader process and the worker that started it.
struct JobProcess {
  pid_t worker = 0;
  pid_t job = 0;
};

// Which of `workers` runs the job whose environment holds `entry` ("PARALLEL_SEQ=7"): the one
// with a child process (the job's leader) that started with it. nullopt if none does (the job
// has ended, or replaced its environment).
std::optional<JobProcess> worker_running_job(const std::vector<pid_t>& workers,
                                             const std::string& entry);

}  // namespace forkpool::cli
