// Running a command for the `forkpool run` tests: a child in its own process group, in a
// given directory, with stdin from a file and stdout/stderr captured in files (binary-safe),
// waited for with a deadline that only detects hangs. Written with plain syscalls, not with
// the io/ or workers/ code that forkpool itself uses, so that a bug under test cannot hide
// itself in its own test.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/files.h"

namespace forkpool::testing {

// Everything one needs to start a child.
struct Launch {
  std::vector<std::string> argv;  // argv[0] is the program (a path; no PATH search)
  std::string dir;                // working directory
  std::string stdin_path = "/dev/null";
  std::string stdout_path;  // created or truncated
  std::string stderr_path;
  // Replaces the whole environment when set.
  std::optional<std::vector<std::string>> env;
};

// A started child, the leader of its own process group. If it is still running when this
// is destroyed (a failed ASSERT), its whole process group is killed and it is reaped.
class Launched {
 public:
  explicit Launched(const Launch& launch);
  ~Launched();
  Launched(const Launched&) = delete;
  Launched& operator=(const Launched&) = delete;

  pid_t pid() const { return pid_; }
  // Waits up to `deadline` for the child to end and reaps it; its wait status, or nullopt if
  // it was still running at the deadline (it is then left running).
  std::optional<int> wait_for(std::chrono::milliseconds deadline);
  // SIGKILLs the child's process group, then reaps the child.
  void kill_group();

 private:
  pid_t pid_;
  int pidfd_;
  bool reaped_ = false;
};

// The outcome of a command run to its end.
struct Outcome {
  int exit_code = -1;  // -1 if it did not exit normally (killed by a signal, or hung)
  int status = 0;      // the raw wait status
  bool hung = false;   // still running at the deadline: then killed
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed{0};
};

// Runs `launch` (its stdout_path/stderr_path may be empty: then files in a private
// directory) to its end, or kills its process group after `deadline`. Afterwards the
// process group is killed anyway, so that nothing it left running in the background
// outlives the test.
Outcome run_to_end(Launch launch, std::chrono::milliseconds deadline);

// This process's environment without the variables for which `drop(name)` is true, plus
// `add` ("NAME=value" entries).
std::vector<std::string> environment_with(bool (*drop)(const std::string& name),
                                          const std::vector<std::string>& add);

// GNU parallel's settings and the variables forkpool sets for its jobs (PARALLEL*), and
// TMPDIR: what a test drops from its environment (and sets anew), so that a test run inside a
// parallel job, or with the caller's TMPDIR, runs the same.
bool parallel_or_tmpdir_setting(const std::string& name);

bool exists(const std::string& path);

// Splits on '\n'; a final line without a newline is kept, an empty tail is not.
std::vector<std::string> split_lines(const std::string& text);
// Whether all of `text` matches the POSIX extended regex `pattern`; fills `groups` with the
// parenthesized submatches. (<regex.h>, not std::regex: GCC 12's std::regex does not build
// warning-free under the sanitizer builds' optimization.)
bool full_match(const std::string& pattern, const std::string& text,
                std::vector<std::string>* groups = nullptr);

// Where `want` and `got` first differ, with a few lines of context from each side, control
// characters and non-ASCII bytes escaped: for a failure message.
std::string describe_difference(const std::string& want, const std::string& got);

// The processes whose /proc/PID/cmdline contains `token`, as "PID: cmdline" lines; "" when
// there are none. Never lists this process.
std::string processes_with(const std::string& token);
// SIGKILLs every process whose command line contains `token`.
void kill_processes_with(const std::string& token);

// A number that no other process on the machine has in its command line: jobs carry it as an
// argument (`sleep 300.<token>`), so that leftovers can be found in /proc and cleaned up.
std::string unique_token();

// Kills whatever still carries `token` when the test ends, passed or not, so that a failure
// does not leave sleeping jobs behind for the rest of the suite.
struct KillLeftovers {
  std::string token;
  ~KillLeftovers() { kill_processes_with(token); }
};

// A process identity that survives pid reuse: the pid and its start time in /proc/PID/stat.
struct ProcessId {
  pid_t pid;
  unsigned long long start_time;
  bool operator<(const ProcessId& o) const {
    return pid != o.pid ? pid < o.pid : start_time < o.start_time;
  }
};
// `root`'s descendants now (children, their children...), not `root` itself.
std::vector<ProcessId> descendants_of(pid_t root);
// True if that very process (not a later one with the same pid) still exists and is not a
// zombie.
bool still_running(const ProcessId& p);

// Polls `condition` every few milliseconds until it is true or `deadline` passes; returns its
// last value. For waiting on real events (a file appearing, a process ending) without
// sleeping for a guessed time.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds deadline);

void pause_briefly();  // a few milliseconds, between polls

template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= end) return condition();
    pause_briefly();
  }
}

}  // namespace forkpool::testing
