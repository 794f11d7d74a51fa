// The raw peers core_bench compares forkpool with: plain processes, pipes and syscalls, nothing
// of forkpool's. Each is what a hand-written equivalent would cost at best.
//
// Peers that keep a child (RawEcho, RawWriter) should be created before any forkpool::Pool in
// the same scope: a child forked later would hold copies of the pool's pipes.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "report.h"

namespace forkpool_bench {

// Move-only owner of a file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// A close-on-exec pipe.
struct RawPipe {
  UniqueFd read;
  UniqueFd write;
  static RawPipe create();
};

// A process this program started. The destructor kills and reaps it if nobody waited, so a
// measurement that throws leaves no process behind.
class RawChild {
 public:
  // Forks; the child runs `body` and exits. `body` may only make async-signal-safe calls (the
  // parent may have threads) and must not throw.
  template <typename Body>
  static RawChild fork(Body body) {
    const pid_t pid = fork_or_throw();
    if (pid == 0) {
      body();
      exit_child();
    }
    return RawChild(pid);
  }
  RawChild() = default;
  explicit RawChild(pid_t pid) : pid_(pid) {}
  RawChild(RawChild&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}
  RawChild& operator=(RawChild&& other) noexcept;
  ~RawChild();

  pid_t pid() const { return pid_; }
  // Reaps the child; returns its wait status.
  int wait();

 private:
  static pid_t fork_or_throw();
  [[noreturn]] static void exit_child();

  pid_t pid_ = -1;
};

// A forked child that sends every message straight back.
class RawEcho {
 public:
  // REQUIRES: size <= 64.
  explicit RawEcho(std::size_t size);
  RawEcho(const RawEcho&) = delete;
  RawEcho& operator=(const RawEcho&) = delete;
  ~RawEcho();

  // Microseconds for one message there and back.
  double round_trip();

 private:
  std::vector<char> message_;
  RawPipe there_;
  RawPipe back_;
  RawChild child_;
};

enum class Buffers {
  // Both ends reuse one buffer touched in advance: the pipe's own bandwidth, the best case.
  kReused,
  // The writer fills, and the reader receives into, new memory each time: the least that
  // sending a newly made 64 MiB vector to another process can cost.
  kFresh,
};

// A forked child that writes `bytes` through a pipe each time it is asked.
class RawWriter {
 public:
  RawWriter(std::size_t bytes, Buffers buffers);
  RawWriter(const RawWriter&) = delete;
  RawWriter& operator=(const RawWriter&) = delete;
  ~RawWriter();

  // GB/s (1e9 bytes) of one transfer, from asking for it to holding every byte.
  double transfer();

 private:
  std::size_t bytes_;
  Buffers buffers_;
  std::vector<char> source_;
  std::vector<char> sink_;
  RawPipe go_;
  RawPipe data_;
  RawChild child_;
};

// Milliseconds from SIGKILL of a forked, idle child to its pidfd becoming readable: the
// kernel's part of noticing a death, the floor for any supervisor.
Samples raw_death_notice(int runs);

// Milliseconds to fork a child and read one byte it writes: the floor for a forked worker.
Samples raw_fork_start(int runs);

// Milliseconds to posix_spawn /proc/self/exe with `flag` as its only argument and read the
// byte it writes to stdout: the floor for a spawned worker (exec, dynamic linking, static
// initializers). The program's main must answer `flag` with write_start_byte().
Samples raw_spawn_start(int runs, const std::string& flag);
bool write_start_byte();

// Seconds for `jobs` runs of `argv` (argv[0] a path), each a posix_spawn and a waitpid on
// that pid, `parallel` at a time (one thread per slot, each spawning and waiting in turn):
// the least a runner of trivial jobs can spend on them. Children share this process's stdio.
// REQUIRES: parallel >= 1.
double raw_spawn_wait_loop(const std::vector<std::string>& argv, std::size_t jobs,
                           unsigned parallel);

// Runs `argv` (argv[0] a path) with posix_spawn and returns its standard output.
// Throws std::runtime_error if it does not exit with status 0.
std::string capture_output(const std::vector<std::string>& argv);

}  // namespace forkpool_bench
