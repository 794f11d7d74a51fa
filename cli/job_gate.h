// JobGate: whether `forkpool run` may start a job now, by the rules of --memfree, --load and
// --limit, and whether the youngest running job must go to make room. GNU parallel 20221122's
// rules, measured on this machine (cli/resource_probe.h):
//
//   --memfree SIZE  no start while less than SIZE is free; below half of it, stop the youngest
//   --load MAX      no start while MAX or more threads run or wait for a disk; MAX as -j
//                   counts (N, N%, +N, -N of the CPUs), at least 0.01; or a file holding
//                   such a value, read again at each check (GNU parallel: when its mtime
//                   changes); a file that goes bad keeps the last value
//   --limit CMD     CMD runs before each start: exit 0 start, 2 stop the youngest, anything
//                   else wait. "mem SIZE" and "load N" are GNU parallel's built-in scripts of
//                   those names (the --memfree rule; more than N busy threads waits);
//                   "io N" waits while a disk's %util is above N, as its iostat script,
//                   measured here from /proc/diskstats over a second at a time.
//
// The runner asks check() before each start and on every turn of its loop while jobs run, and
// wakes itself after next_check_in() when nothing else happens: free memory changes without
// any event to wait on.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "cli/resource_probe.h"
#include "cli/run_options.h"

namespace forkpool::cli {

// Whether a --load value names a file to read it from: as GNU parallel, when it is none of
// its forms and a regular file of that name exists.
bool names_load_file(const std::string& spec);

class JobGate {
 public:
  enum class Answer { kStart, kWait, kStopYoungest };

  // Checks the rules' values: throws UsageError (for --load's N% and the like, and --limit's
  // built-ins) before any job starts. `cpus` is what --load's N% counts; `shell` runs --limit.
  JobGate(const ResourceLimits& limits, unsigned cpus, std::string shell);

  // Whether any rule was given: without one, check() always answers kStart.
  bool active() const { return active_; }

  // Asks every rule now (runs the --limit command). Throws std::runtime_error when a
  // measurement cannot be made.
  Answer check();
  // Why the last check() did not answer kStart, in words ("less than 1.0G of memory free").
  const std::string& reason() const { return reason_; }
  // True once when check() has just begun to answer other than kStart: the moment to say so.
  bool began_waiting() { return std::exchange(began_waiting_, false); }

  // How long to let pass before the next check() when no job ends meanwhile: 10 ms at first,
  // growing by half each time up to a second (after GNU parallel's back-off); job_ended()
  // starts again from 10 ms.
  std::chrono::milliseconds next_check_in();
  void job_ended() { interval_ = kFirstInterval; }

 private:
  static constexpr std::chrono::milliseconds kFirstInterval{10};
  static constexpr std::chrono::milliseconds kLongestInterval{1000};

  Answer memory_rule(double size);
  Answer load_rule(double max, bool equal_is_too_high);
  Answer limit_rule();
  void follow_load_file();
  Answer io_rule(double max_util);

  bool active_ = false;
  double memfree_ = 0;              // bytes; 0: no rule
  std::optional<double> max_load_;  // --load
  std::string load_file_;           // --load FILE ("": none)
  std::string load_text_;           // as last read from it
  unsigned cpus_ = 1;
  std::string limit_;                 // --limit CMD, not a built-in
  std::optional<double> limit_mem_;   // --limit "mem SIZE"
  std::optional<double> limit_load_;  // --limit "load N"
  std::optional<double> limit_io_;    // --limit "io N"
  // --limit io: the last reading of the disks, and the busiest one's %util since the one
  // before (nullopt until a second has passed).
  std::optional<std::pair<std::chrono::steady_clock::time_point, DiskTicks>> disks_;
  std::optional<double> disk_util_;
  std::string shell_;

  std::string reason_;
  bool waiting_ = false;
  bool began_waiting_ = false;
  std::chrono::milliseconds interval_ = kFirstInterval;
};

}  // namespace forkpool::cli
