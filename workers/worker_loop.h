// The worker loop: the one body every worker runs, whatever started it (fork, forkserver,
// spawn, or a launcher command over stdin/stdout). It only needs two descriptors.
#pragma once

#include <cstddef>
#include <cstdint>

#include "io/fd.h"
#include "io/frame_format.h"

namespace forkpool::workers {

struct WorkerConfig {
  std::uint32_t worker_id = 0;
  std::size_t max_frame = io::kDefaultMaxFrame;
};

// Sends Hello, then reads Task frames and answers each with Result or Error until the task
// pipe reaches EOF or a Shutdown frame arrives. Task log lines travel as Log frames. Frames
// that arrive while a task runs are read before the next one starts, and whenever the task
// polls this_task::cancelled(): a Cancel for the running task makes cancelled() true (its
// reply is then CancelAck); one for a task still waiting drops it (CancelAck at once).
int run_worker(io::Fd tasks_in, io::Fd results_out, const WorkerConfig& config);

// In a worker: the descriptor its frames leave on (-1 elsewhere). For fault-injection tests,
// which write broken frames on it the way a task with a stray write would.
int current_results_fd();
// In a worker: the id of the task it is running (0 elsewhere), for the same tests.
std::uint64_t current_task_id();

// For a task that takes streamed input (workers/task_input.h), from any of its threads:
// sends a frame to the parent (dropped outside a worker). Throws what the frame writer throws.
void send_task_frame(std::uint8_t kind, std::uint64_t task_id);
// The descriptor the worker reads its frames from, while more may come (-1 once it ended, and
// outside a worker): a task that waits for streamed input polls it, and calls
// read_parent_frames() when it is readable.
int current_tasks_fd();
// Reads and handles the frames that have arrived, without waiting for more.
void read_parent_frames();

// Exit codes of a worker process, so the parent can tell why a worker ended.
inline constexpr int kWorkerExitProtocolError = 3;
inline constexpr int kWorkerExitParentGone = 4;
inline constexpr int kWorkerExitSetupFailed = 5;

}  // namespace forkpool::workers
