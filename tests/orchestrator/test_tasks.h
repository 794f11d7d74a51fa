// Tasks the orchestrator tests run. FORKPOOL_TASK defines inline variables, so every test file
// of the binary (and every worker, which runs the same binary) shares one registry.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <numeric>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "forkpool/forkpool.h"
#include "support/gate.h"

namespace forkpool::testing {

struct Point {
  int x = 0;
  double y = 0;
  std::string label;
  std::vector<int> tags;
  bool operator==(const Point&) const = default;
  template <typename Archive>
  void serialize(Archive& ar, unsigned) {
    // Archive operators, not declarations: clang-format would write `ar& x&`.
    // clang-format off
    ar & x & y & label & tags;
    // clang-format on
  }
};

class CustomError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline int identity(int x) { return x; }
inline std::string echo_string(std::string s) { return s; }
inline std::vector<std::int64_t> iota_vector(int n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}
inline std::map<std::string, int> word_lengths(const std::vector<std::string>& words) {
  std::map<std::string, int> m;
  for (const auto& w : words) m[w] = static_cast<int>(w.size());
  return m;
}
inline Point move_point(Point p, int dx) {
  p.x += dx;
  p.tags.push_back(dx);
  return p;
}
inline double half(double x) { return x / 2; }
inline pid_t worker_pid() { return ::getpid(); }
inline void do_nothing() {}

// A result of `mib` MiB whose byte i is (i * 31 + 7) mod 256, so corruption anywhere shows.
inline std::vector<char> patterned_bytes(int mib) {
  std::vector<char> v(static_cast<std::size_t>(mib) << 20);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<char>((i * 31 + 7) & 0xff);
  return v;
}

// `kib` KiB whose byte i is (i * 31 + seed) mod 256: results of different seeds differ in
// every byte, so bytes left over from an earlier result show.
inline std::vector<char> seeded_bytes(int kib, int seed) {
  std::vector<char> v(static_cast<std::size_t>(kib) << 10);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<char>((i * 31 + seed) & 0xff);
  return v;
}

inline int throw_runtime_error(std::string message) { throw std::runtime_error(message); }
inline int throw_custom_error(std::string message) { throw CustomError(message); }
inline int throw_int(int value) { throw value; }

// Ways to die. SIGSEGV is raised with the default action restored, so a sanitizer's own
// SIGSEGV handler (which would turn it into an exit) does not hide the signal.
inline int die_by_abort(int) { ::abort(); }
inline int die_by_sigsegv(int) {
  ::signal(SIGSEGV, SIG_DFL);
  ::raise(SIGSEGV);
  return 0;
}
inline int die_by_exit(int code) { ::_exit(code); }

// Announces itself through the gate, then waits for the test to release it.
inline pid_t gated(std::string gate_dir) {
  Gate::enter(gate_dir);
  Gate::await_release(gate_dir);
  return ::getpid();
}
// Announces itself, then never returns.
inline int hang_forever(std::string gate_dir) {
  Gate::enter(gate_dir);
  for (;;) ::pause();
}
// Announces itself, waits for the test, then makes its worker exit with `code`.
inline int gated_exit(std::string gate_dir, int code) {
  Gate::enter(gate_dir);
  Gate::await_release(gate_dir);
  ::_exit(code);
}
inline int log_line(std::string text) {
  task_logger().info("{}", text);
  return 1;
}

// For map: doubles x, throws CustomError for multiples of 7.
inline int double_unless_multiple_of_7(int x) {
  if (x % 7 == 0) throw CustomError("multiple of 7: " + std::to_string(x));
  return 2 * x;
}
// For map: its worker exits with code 3 on `x == 13`; otherwise x.
inline int exit_on_13(int x) {
  if (x == 13) ::_exit(3);
  return x;
}
// For map: announces itself through the gate, then works until it is cancelled.
inline int enter_then_await_cancel(std::string gate_dir) {
  Gate::enter(gate_dir);
  while (!this_task::cancelled()) ::usleep(1000);
  return 0;
}

// For map: a gate directory (an absolute path) waits at that gate before it is echoed;
// anything else is echoed at once.
inline std::string echo_after_gate(std::string s) {
  if (!s.empty() && s[0] == '/') {
    Gate::enter(s);
    Gate::await_release(s);
  }
  return s;
}
// Takes `ms` milliseconds (a task that does work for that long), then returns ms.
inline int sleep_ms(int ms) {
  ::usleep(static_cast<useconds_t>(ms) * 1000);
  return ms;
}

FORKPOOL_TASK(identity_task, identity);
FORKPOOL_TASK(echo_after_gate_task, echo_after_gate);
FORKPOOL_TASK(sleep_ms_task, sleep_ms);
FORKPOOL_TASK(double_unless_multiple_of_7_task, double_unless_multiple_of_7);
FORKPOOL_TASK(exit_on_13_task, exit_on_13);
FORKPOOL_TASK(enter_then_await_cancel_task, enter_then_await_cancel);
FORKPOOL_TASK(echo_string_task, echo_string);
FORKPOOL_TASK(iota_vector_task, iota_vector);
FORKPOOL_TASK(word_lengths_task, word_lengths);
FORKPOOL_TASK(move_point_task, move_point);
FORKPOOL_TASK(half_task, half);
FORKPOOL_TASK(worker_pid_task, worker_pid);
FORKPOOL_TASK(do_nothing_task, do_nothing);
FORKPOOL_TASK(patterned_bytes_task, patterned_bytes);
FORKPOOL_TASK(seeded_bytes_task, seeded_bytes);
FORKPOOL_TASK(throw_runtime_error_task, throw_runtime_error);
FORKPOOL_TASK(throw_custom_error_task, throw_custom_error);
FORKPOOL_TASK(throw_int_task, throw_int);
FORKPOOL_TASK(die_by_abort_task, die_by_abort);
FORKPOOL_TASK(die_by_sigsegv_task, die_by_sigsegv);
FORKPOOL_TASK(die_by_exit_task, die_by_exit);
FORKPOOL_TASK(gated_task, gated);
FORKPOOL_TASK(hang_forever_task, hang_forever);
FORKPOOL_TASK(log_line_task, log_line);
FORKPOOL_TASK(gated_exit_task, gated_exit);

// The ways a pool can start workers, for parameterized tests.
struct StartCase {
  std::string name;
  Options options;
};

// gtest prints a parameter in the test list, and so in ctest's test names: the name, not bytes.
inline void PrintTo(const StartCase& c, std::ostream* out) { *out << c.name; }

// The fork start method forks this multi-threaded test process whenever a worker is replaced,
// while the test's own thread may be allocating. glibc's malloc survives that (it has fork
// handlers); the AddressSanitizer allocator of GCC 12 does not, and a worker can inherit its
// lock held forever. So under ASan the fork method is left to the plain build; the other
// methods fork only from a single-threaded zygote, or not at all.
inline std::vector<StartCase> all_start_cases(unsigned workers) {
  return {
#if !defined(__SANITIZE_ADDRESS__)
    {"fork", {.workers = workers, .start_method = StartMethod::kFork}},
#endif
        {"forkserver", {.workers = workers, .start_method = StartMethod::kForkserver}},
        {"spawn", {.workers = workers, .start_method = StartMethod::kSpawn}},
        {"command", {.workers = workers, .worker_command = {"/proc/self/exe", "--stdio-worker"}}},
  };
}

}  // namespace forkpool::testing
