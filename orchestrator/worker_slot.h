// WorkerSlot: the pool's view of one worker process: its pipes, where it is in its life (one
// State), the tasks sent to it, and the stop escalation under way, if any.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <string>
#include <vector>

#include "forkpool/options.h"
#include "io/blocking_reader.h"
#include "io/fd.h"
#include "io/frame_writer.h"
#include "orchestrator/pending_task.h"
#include "workers/start_method.h"
#include "workers/stop_plan.h"

namespace forkpool::orchestrator {

struct WorkerSlot {
  using Clock = std::chrono::steady_clock;

  // Where the worker is in its life. Only forward, except kCancelling -> kReady (the worker
  // answered for its cancelled task in time).
  enum class State {
    kStarting,      // started; waiting for its Hello until handshake_deadline
    kInitializing,  // Hello answered, Options::initializer sent; its reply not yet in
    kReady,         // takes tasks: idle (in the pool's idle stack) or busy
    kCancelling,    // its running task was cancelled: `stop` gives it cancel_grace to answer
    kLeaving,       // the pool asked it to go (`stop`: Shutdown or SIGTERM, then SIGKILL)
    kKilled,        // SIGKILLed for a fault (`failure`); its death counts as a crash
  };

  WorkerSlot(std::uint32_t id, workers::StartedWorker started, const Options& options);

  // Whether it is serving tasks: its in_flight advance and it answers replies.
  bool serving() const { return state == State::kReady || state == State::kCancelling; }
  // Whether a thread may claim it to write a frame now (see `writing`).
  bool claimable() const { return state == State::kReady && !writing; }

  const std::uint32_t id;
  workers::Child child;
  io::Fd to_worker;
  io::Fd from_worker;
  // A launcher's worker whose frames moved to a data connection: its stdin and stdout, kept
  // open as the control channel (their EOF tells the worker the pool is gone).
  io::Fd control_in;
  io::Fd control_out;
  // Where it runs ("" here); named by its death, and by a refused Hello.
  std::string host;
  // The token its data connection must present; cleared once used.
  std::string data_token;
  io::BlockingReader reader;  // the collector's alone: it reads without the mutex
  io::FrameWriter writer;

  // Everything below is guarded by the pool's mutex.
  State state = State::kStarting;
  // A fact, not a state: it finished its handshake once, so its death is no failed start.
  bool became_ready = false;
  Clock::time_point handshake_deadline = Clock::time_point::max();
  // Sent to this worker, in order; the first is running, the others wait in its pipe.
  std::deque<PendingTask> in_flight;
  Clock::time_point head_since;  // when in_flight.front() started
  Clock::time_point idle_since;
  std::uint64_t tasks_done = 0;
  std::uint64_t tasks_sent = 0;
  // The escalation under way in kCancelling and kLeaving (workers/stop_plan.h).
  workers::StopPlan stop;
  std::exception_ptr failure;  // what went wrong with it, if anything

  // The write token: a thread has claimed this worker to write a task frame to it without the
  // pool's mutex, so that a big frame stalls nobody else. While it is held, nobody else
  // writes to the worker: Cancel frames for it wait in owed_cancels for the holder to send,
  // and its death waits (exit_deferred) until the holder knows whether the frame got through.
  bool writing = false;
  std::vector<std::uint64_t> owed_cancels;
  bool exit_deferred = false;  // its pidfd fired while `writing`; removed from the epoll set

  bool reading = true;  // the collector's: from_worker is still in the epoll set
};

}  // namespace forkpool::orchestrator
