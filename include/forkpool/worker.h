// The worker side of forkpool: entering the worker loop, and logging from a task.
#pragma once

#include <spdlog/logger.h>

#include <optional>

namespace forkpool {

// For StartMethod::kSpawn: call first thing in main(). If this process was started as a
// forkpool worker, serves tasks until the pool lets it go and returns the exit code for main
// to return; otherwise returns nullopt at once and main goes on.
//
//   int main(int argc, char** argv) {
//     if (auto code = forkpool::worker_main_if_requested(argc, argv)) return *code;
//     ...
std::optional<int> worker_main_if_requested(int argc, char** argv);

// Serves the protocol on this process's stdin and stdout (what `forkpool worker` runs under a
// launcher such as ssh or srun). Moves the protocol off fds 0 and 1 first, then points stdin
// at /dev/null and stdout at stderr, so a task that prints cannot corrupt the stream.
// Returns the exit code.
int serve_stdio_worker();

// The logger a task should use. In a worker, its lines travel to the parent as Log frames and
// are printed there with the worker's pid; elsewhere it writes to stderr.
spdlog::logger& task_logger();

}  // namespace forkpool
