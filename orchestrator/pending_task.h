// PendingTask and Call: a task as the pool holds it, and a call on its way into the pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "forkpool/detail/future_state.h"
#include "forkpool/detail/payload.h"
#include "forkpool/detail/task_registry.h"
#include "forkpool/options.h"

namespace forkpool::orchestrator {

// A Task payload (the function id, then the arguments): a buffer of its own, or a part of one
// that several calls share. A batch's calls are encoded one after another into one buffer
// (Batch::submit), which they share until the last of them is done with it: a buffer per call
// was allocated in the caller's thread and freed in the collector's, a free that glibc makes
// dear across threads, and measured the largest cost of a tiny batched call.
class TaskBytes {
 public:
  TaskBytes() = default;
  TaskBytes(detail::Payload owned) : owned_(std::move(owned)) {}  // NOLINT: a payload is bytes
  TaskBytes(std::shared_ptr<const detail::Payload> shared, std::span<const char> part)
      : shared_(std::move(shared)), part_(part) {}

  std::span<const char> view() const {
    if (shared_) return part_;
    return owned_;
  }
  std::size_t size() const { return view().size(); }
  // A second holder of the same bytes, without a copy: owned bytes become shared first.
  TaskBytes share() {
    if (!shared_) {
      auto buffer = std::make_shared<const detail::Payload>(std::move(owned_));
      owned_ = {};
      part_ = std::span<const char>(*buffer);
      shared_ = std::move(buffer);
    }
    return {shared_, part_};
  }
  // Lets go of the bytes (the shared buffer's last user frees it).
  void reset() {
    owned_ = {};
    shared_.reset();
    part_ = {};
  }

 private:
  detail::Payload owned_;
  std::shared_ptr<const detail::Payload> shared_;
  std::span<const char> part_;  // in *shared_
};

// The calls of a run (serialization::kTaskRun): consecutive calls of one function from a batch,
// without options of their own, that travel as one task whose payload holds all their
// arguments, and are answered call by call (call i's replies carry the task's id + i). One task
// in the queue and in a worker's in_flight, and one entry in a Batch frame, instead of one per
// call: the pool's bookkeeping per call, the entry and the worker's decoding of it were most of
// what a batched call cost. Changed only under the pool's mutex.
struct RunCalls {
  // Each call's future; the run's task has a state of its own, whose failure fails them all.
  std::vector<std::shared_ptr<detail::FutureState>> states;
  // Let go (cancelled) calls: their replies are dropped. A vector<bool> is fine: runs are short.
  std::vector<bool> gone;
  std::uint32_t answered = 0;  // calls answered so far, in order
  std::size_t size() const { return states.size(); }
};

// A task that has been submitted and not yet settled.
struct PendingTask {
  std::uint64_t id = 0;               // this attempt's; a retry gets a new one
  const std::string* name = nullptr;  // the registry's copy; lives as long as the program
  // The Task frame's payload; dropped once it runs, unless a retry may need it again.
  TaskBytes payload;
  // Null in a worker's in_flight once the task was cancelled or timed out there: the entry
  // stays, in its place, until the worker answers for it or dies.
  std::shared_ptr<detail::FutureState> state;
  std::chrono::milliseconds timeout{0};  // 0: none
  int retries_left = 0;
  std::vector<std::string> attempts;  // why each earlier attempt failed
  std::uint8_t flags = 0;             // the Task frame's flags (serialization::kTaskChunk)
  // Tasks of one Pool::batch() share a nonzero id and stand together in the queue, so that
  // dispatch sends them to one worker in one Batch frame.
  std::uint64_t batch = 0;
  // Sent in a Batch frame that lets the worker hold its reply to send with the next ones
  // (serialization::kBatchHoldReplies). If the worker dies, the pool cannot tell which of its
  // unanswered calls ran: they run again, each alone (outcomes.cc).
  bool replies_held = false;
  // Set for a run: `state` is then the run's own, which no caller sees; an error settled on it
  // reaches every call (orchestrator/batch.cc), and a value never is.
  std::shared_ptr<RunCalls> run;

  // False once the task, or every call of a run not yet answered, has been let go.
  bool live() const { return live_calls() != 0; }
  // The calls it still answers for: 1 or 0 for a task alone, those of a run not yet answered
  // nor let go.
  std::size_t live_calls() const {
    if (!state) return 0;
    if (!run) return 1;
    std::size_t live = 0;
    for (std::size_t i = run->answered; i < run->size(); ++i) live += run->gone[i] ? 0 : 1;
    return live;
  }
};

// A call on its way into the queue: what submit() and a batch's send() hand over.
struct Call {
  detail::TaskId function = 0;
  const std::string* name = nullptr;
  TaskBytes task;
  TaskOptions options;
  std::shared_ptr<detail::FutureState> state;
  bool chunk = false;             // the arguments are a map chunk (detail/chunk.h)
  std::shared_ptr<RunCalls> run;  // `task` is a run of these calls (serialization::kTaskRun)
};

}  // namespace forkpool::orchestrator
