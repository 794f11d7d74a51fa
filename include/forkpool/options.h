// Options: how a Pool starts and supervises its workers. Build with designated initializers:
//
//   forkpool::Pool pool({.workers = 4, .start_method = forkpool::StartMethod::kSpawn});
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace forkpool {

enum class StartMethod {
  // A single-threaded zygote, forked when the pool starts (while the constructing thread
  // waits), forks every worker and every respawn. Workers start from the process image as it
  // was then, and no later fork copies this multi-threaded process. The default.
  kForkserver,
  // The pool forks each worker directly from this process: workers see this process's memory
  // as it is when they start. Risky in a multi-threaded program: a lock held by another thread
  // at fork time stays locked in the worker (glibc's malloc is safe; other locks, and
  // sanitizer allocators, are not).
  kFork,
  // Each worker is a fresh exec of `worker_executable` (default: this program), whose main()
  // must call forkpool::worker_main_if_requested first. Clean state; the slowest start.
  kSpawn,
};

// "forkserver", "fork", "spawn".
inline const char* to_string(StartMethod method) {
  switch (method) {
    case StartMethod::kForkserver: return "forkserver";
    case StartMethod::kFork: return "fork";
    case StartMethod::kSpawn: return "spawn";
  }
  return "unknown";
}

struct CrashLoopPolicy {
  // Stop respawning after this many worker deaths in a row, within `window`, with no task
  // completing in between.
  int deaths = 10;
  std::chrono::milliseconds window = std::chrono::seconds(5);
  // Stop starting workers after this many in a row fail to start (exit, or say no Hello
  // within Options::handshake_timeout) with no handshake and no task completing in between.
  // 0 or less: no limit.
  int start_failures = 3;
};

struct Options {
  // Worker processes; 0 means the CPUs this process may use (affinity mask and cgroup quota).
  unsigned workers = 0;
  StartMethod start_method = StartMethod::kForkserver;
  // For kSpawn: the program to exec; empty means this program (/proc/self/exe).
  std::string worker_executable;
  // A launcher: if not empty, every worker is this command, speaking the protocol on its stdin
  // and stdout (for example {"forkpool", "worker"} or {"ssh", "host", "forkpool", "worker"}).
  // Overrides start_method.
  std::vector<std::string> worker_command;
  // The largest frame payload in either direction; a bigger argument or result fails its task
  // with MessageTooLarge.
  std::size_t max_frame = std::size_t{64} << 20;
  // Once a frame has started, the longest wait for its next byte before the worker is dropped
  // with StalledFrame.
  std::chrono::milliseconds stall_timeout = std::chrono::seconds(10);
  // How long a new worker may take to say Hello before it is killed and counted as failing
  // to start: a launcher that hangs (an ssh password prompt, a queued srun) is bounded by it.
  // 0 waits forever.
  std::chrono::milliseconds handshake_timeout = std::chrono::seconds(60);
  // How long close() waits for workers to exit after Shutdown before killing them.
  std::chrono::milliseconds shutdown_grace = std::chrono::seconds(5);
  CrashLoopPolicy crash_loop;
  // Tasks a worker may hold at once: one running, the rest waiting in its pipe so it never
  // idles for a round trip. Applies only to small task frames, and only while tasks are
  // measured to take less than `pipeline_below` on average (a task queued behind another in
  // a worker's pipe waits for it). 1 turns it off; at most 6.
  std::size_t pipeline_depth = 4;
  std::chrono::microseconds pipeline_below = std::chrono::milliseconds(1);
  // Tasks kept in flight by map(); 0 means four per worker.
  std::size_t map_window = 0;
};

}  // namespace forkpool
