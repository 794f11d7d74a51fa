// Options: how a Pool starts and supervises its workers. Build with designated initializers:
//
//   forkpool::Pool pool({.workers = 4, .start_method = forkpool::StartMethod::kSpawn});
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "forkpool/detail/payload.h"
#include "forkpool/launcher.h"

namespace forkpool {

// How the pool starts its workers (Options::start_method).
enum class StartMethod {
  // A single-threaded zygote, forked as the pool starts (on the main thread: before the pool has
  // a thread of its own), forks every worker and every respawn. Workers start from the process
  // image as it was then, and no later fork copies this multi-threaded process. The default.
  kForkserver,
  // The pool forks each worker directly from this process: workers see this process's memory
  // as it is when they start. Risky in a multi-threaded program: a lock held by another thread
  // at fork time stays locked in the worker (glibc's malloc is safe; other locks, and sanitizer
  // allocators, are not). The first ones fork as the zygote above; respawns amid pool threads.
  kFork,
  // Each worker is a fresh exec of `worker_executable` (default: this program), whose main()
  // must call forkpool::worker_main_if_requested first. Clean state; the slowest start.
  kSpawn,
};

// "forkserver", "fork", "spawn".
inline const char* to_string(StartMethod method) {
  switch (method) {
    case StartMethod::kForkserver:
      return "forkserver";
    case StartMethod::kFork:
      return "fork";
    case StartMethod::kSpawn:
      return "spawn";
  }
  return "unknown";
}

// When a pool stops respawning workers that keep dying or failing to start (PoolBroken).
struct CrashLoopPolicy {
  // Stop respawning after this many worker deaths in a row, within `window`, with no task
  // completing in between.
  int deaths = 10;
  // The time within which those deaths count.
  std::chrono::milliseconds window = std::chrono::seconds(5);
  // Stop starting workers after this many in a row fail to start (exit, or say no Hello
  // within Options::handshake_timeout) with no handshake and no task completing in between.
  // 0 or less: no limit.
  int start_failures = 3;
};

// What submit() does when Options::queue_capacity tasks are already waiting.
enum class OnFull {
  kBlock,  // wait until there is room (PoolClosed if the pool closes meanwhile)
  kFail,   // throw QueueFull; nothing is queued
};

// A registered task every worker runs once, after its handshake and before its first task (to
// open a connection, load a model, ...). Make one with forkpool::initializer(task, args...).
// A worker whose initializer throws or exits counts as failing to start
// (CrashLoopPolicy::start_failures).
struct Initializer {
  std::uint64_t function = 0;         // the task's id; 0 means none
  const std::string* name = nullptr;  // the registry's copy of its name
  detail::Payload args;               // the encoded arguments
};

// Per-call settings: pool.submit(forkpool::TaskOptions{.timeout = 2s, .retries = 1}, task, ...).
// An unset field takes the pool's Options.
struct TaskOptions {
  // Replaces Options::task_timeout for this call.
  std::optional<std::chrono::milliseconds> timeout;
  // Replaces Options::retries for this call.
  std::optional<int> retries;
};

// How Pool::map runs: pool.map(task, inputs, {.chunk = 64}).
struct MapOptions {
  // Calls per chunk: the calls a worker runs from one Task frame and answers in one Result.
  // 0 chooses and adapts it: one call per chunk until the task has been timed, then about 2 ms
  // of work per chunk (at most 4096 calls), smaller near the end of an input of known size so
  // that the workers finish together, and a single chunk when what is left is too little to
  // be worth spreading (after Mercurial's worker.worthwhile()). A worker that dies fails every
  // call of the chunk it ran; 1 confines a crash to its own call.
  std::size_t chunk = 0;
  // Chunks in flight at once; 0 means Options::map_window.
  std::size_t window = 0;
};

// How a Pool runs: built with designated initializers, Pool pool({.workers = 4}).
// Every member has an initializer, `{}` at least: GCC 12 warns (-Wmissing-field-initializers,
// in -Wextra) about each member without one that a client's `Pool({.workers = 4})` leaves out.
struct Options {
  // Worker processes; 0 means the CPUs this process may use (affinity mask and cgroup quota),
  // or a remote launcher's slots. A remote launcher starts at most its slots.
  unsigned workers = 0;
  // How workers start; see StartMethod.
  StartMethod start_method = StartMethod::kForkserver;
  // For kSpawn: the program to exec; empty means this program (/proc/self/exe).
  std::string worker_executable{};
  // A launcher: if not empty, every worker is this command, speaking the protocol on its stdin
  // and stdout (for example {"forkpool", "worker"} or {"ssh", "host", "forkpool", "worker"}).
  // Overrides start_method.
  std::vector<std::string> worker_command{};
  // Where workers run: here (Launcher::Kind::kLocal, the default), or on other hosts through
  // ssh or srun (forkpool/launcher.h). A remote launcher overrides start_method and
  // worker_command, and `workers` 0 means its slots.
  Launcher launcher{};
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
  // When to stop respawning dying workers.
  CrashLoopPolicy crash_loop{};
  // Tasks a worker may hold at once: one running, the rest waiting in its pipe so it never
  // idles for a round trip. Applies only to small task frames, and only while tasks are
  // measured to take less than `pipeline_below` on average (a task queued behind another in
  // a worker's pipe waits for it). 1 turns it off; at most 6.
  std::size_t pipeline_depth = 4;
  // The average task time below which pipeline_depth applies.
  std::chrono::microseconds pipeline_below = std::chrono::milliseconds(1);
  // Chunks kept in flight by map() and map_unordered(); 0 means four per worker.
  std::size_t map_window = 0;

  // How long a task may run; 0 means no limit. A task that runs longer fails with TaskTimeout
  // and its worker is stopped (SIGTERM, then SIGKILL after kill_grace) and replaced; the
  // tasks waiting behind it run elsewhere. TaskOptions::timeout overrides it per call.
  std::chrono::milliseconds task_timeout{0};
  // Times a failed task is run again before its future fails: for idempotent tasks. A task
  // is retried after it threw, its worker died, it timed out or its reply was garbled; not
  // after cancel(), close() or MessageTooLarge. The final error lists the earlier attempts'
  // reasons (Error::earlier_attempts()). TaskOptions::retries overrides it per call.
  int retries = 0;
  // Future::cancel() of a running task sends Cancel and waits this long for the worker to
  // acknowledge (a task that polls forkpool::this_task::cancelled() returns early); then the
  // worker is stopped like a timed-out one.
  std::chrono::milliseconds cancel_grace = std::chrono::milliseconds(200);
  // Between SIGTERM and SIGKILL when a worker is stopped.
  std::chrono::milliseconds kill_grace = std::chrono::seconds(1);

  // Tasks a worker runs before it is replaced by a fresh one (to bound leaks in task code);
  // 0 means no limit.
  std::uint64_t max_tasks_per_worker = 0;
  // Workers above min_workers that stay idle this long exit; 0 keeps every worker. The pool
  // starts workers again, up to `workers`, when tasks wait. The most recently idle worker is
  // reused first, so the ones left idle are the ones that retire.
  std::chrono::milliseconds idle_timeout{0};
  // Workers that idle_timeout never retires.
  unsigned min_workers = 0;

  // Tasks that may wait in the pool (not yet sent to a worker); 0 means no limit. When full,
  // submit() blocks or throws QueueFull, as on_full says; nothing is dropped.
  std::size_t queue_capacity = 0;
  // What submit() does when the queue is full.
  OnFull on_full = OnFull::kBlock;

  // Run by every worker before its first task.
  Initializer initializer{};
};

}  // namespace forkpool
