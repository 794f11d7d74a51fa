// Input the pool streams to the task running in this worker (TaskInput frames), on its way to
// that task: the exec task's feeding thread writes it into its job's stdin (JobStdin).
//
// Flow control is the pool's: it sends a task's next input only once the worker has said, in
// an InputTaken frame, that the task took the last one. So the reader of the worker's pipe
// never waits for a job to read (it only hands a frame over), and a worker holds at most one
// frame of input at a time.
#pragma once

#include <cstdint>
#include <optional>

#include "io/epoll.h"
#include "io/frame_format.h"

namespace forkpool::workers {

// From the worker loop's reader: a TaskInput frame. Its bytes go to the task's TaskInputStream;
// input for a task that has none (it ended; the pool sent before it knew) is dropped.
void take_task_input(std::uint64_t task_id, std::uint8_t flags, io::Payload bytes);

// One task's input, while the task takes it. One at a time per process (a worker runs one
// task at a time).
class TaskInputStream {
 public:
  struct Chunk {
    io::Payload bytes;
    bool end = false;  // no more input after these bytes
  };

  // Input for `task_id` comes here from now on.
  explicit TaskInputStream(std::uint64_t task_id);
  // Input for the task that comes later is dropped.
  ~TaskInputStream();
  TaskInputStream(const TaskInputStream&) = delete;
  TaskInputStream& operator=(const TaskInputStream&) = delete;

  // Readable (POLLIN) while input waits to be taken.
  const io::Fd& fd() const { return ready_.fd(); }
  // The input that came, without waiting; nullopt if none has.
  std::optional<Chunk> next();
  // Tells the pool the task has taken its last input and may be sent more (InputTaken).
  // Throws what the worker's frame writer throws.
  void taken();

 private:
  const std::uint64_t task_id_;
  io::EventFd ready_;
};

}  // namespace forkpool::workers
