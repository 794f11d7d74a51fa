// PendingTask and Call: a task as the pool holds it, and a call on its way into the pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "forkpool/detail/future_state.h"
#include "forkpool/detail/payload.h"
#include "forkpool/detail/task_registry.h"
#include "forkpool/options.h"

namespace forkpool::orchestrator {

// A task that has been submitted and not yet settled.
struct PendingTask {
  std::uint64_t id = 0;               // this attempt's; a retry gets a new one
  const std::string* name = nullptr;  // the registry's copy; lives as long as the program
  // The Task frame's payload; dropped once it runs, unless a retry may need it again.
  detail::Payload payload;
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
};

// A call on its way into the queue: what submit() and a batch's send() hand over.
struct Call {
  detail::TaskId function = 0;
  const std::string* name = nullptr;
  detail::Payload args;
  TaskOptions options;
  std::shared_ptr<detail::FutureState> state;
  bool chunk = false;  // the arguments are a map chunk (detail/chunk.h)
};

}  // namespace forkpool::orchestrator
