// StopPlan: how a process is asked to stop, and how that request escalates when it does not.
//
// A plan is a short list of steps, each a signal (or kAsk, the owner's polite request: a
// Cancel or Shutdown frame, for a worker) and the grace the process has to exit (or answer)
// before the next step. The last step's grace is ignored: nothing follows it. The pool's
// supervision and the exec task both stop processes this way, with their own plans:
//
//   pool, a cancelled task:    {kAsk (Cancel), cancel_grace}, {SIGTERM, kill_grace}, {SIGKILL}
//   pool, a timed-out task:    {SIGTERM, kill_grace}, {SIGKILL}
//   pool, retiring a worker:   {kAsk (Shutdown), shutdown_grace}, {SIGKILL}
//   exec task (GNU parallel):  {SIGTERM, 200ms}, {SIGTERM, 100ms}, {SIGTERM, 50ms}, {SIGKILL}
//                              or the caller's sequence (ExecRequest::stop_sequence, --termseq)
//
// StopPlan only keeps time: it sends nothing, so it is pure and unit-tested. Its owner takes
// each step it hands out and wakes itself at deadline().
#pragma once

#include <signal.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>

namespace forkpool::workers {

// A step's "signal" that is no signal: the owner's own request to stop (a frame).
inline constexpr int kAsk = 0;

struct StopStep {
  int signal = SIGKILL;                // a signal number, or kAsk
  std::chrono::milliseconds grace{0};  // how long to wait before the next step
};

class StopPlan {
 public:
  using Clock = std::chrono::steady_clock;
  // Room for a user's --termseq as well as the built-in plans, without an allocation.
  static constexpr std::size_t kMaxSteps = 16;

  // No plan: nothing under way.
  StopPlan() = default;
  // REQUIRES: 1 to kMaxSteps steps.
  StopPlan(std::initializer_list<StopStep> steps)
      : StopPlan(std::span(steps.begin(), steps.size())) {}
  // REQUIRES: 1 to kMaxSteps steps (the ones past kMaxSteps are dropped).
  explicit StopPlan(std::span<const StopStep> steps) {
    count_ = std::min(steps.size(), kMaxSteps);
    std::copy_n(steps.begin(), count_, steps_.begin());
  }

  // Starts the plan at `now`: returns its first step, to be taken at once.
  StopStep start(Clock::time_point now) {
    next_ = 0;
    return advance(now);
  }

  // The step due at `now`, if the deadline of the one taken before has passed (then the plan
  // moves on to it); nothing if it is not yet time, or the plan is over or never started.
  std::optional<StopStep> due(Clock::time_point now) {
    if (!pending() || now < deadline_) return std::nullopt;
    return advance(now);
  }

  // Whether a step is still to come (so deadline() means something).
  bool pending() const { return started_ && next_ < count_; }
  // When the next step is due. REQUIRES: pending().
  Clock::time_point deadline() const { return deadline_; }
  // The step taken last. REQUIRES: started.
  const StopStep& current() const { return steps_[next_ - 1]; }
  bool started() const { return started_; }

  // now + grace, saturating: a grace too long for the clock is never, not an overflow.
  static Clock::time_point after(Clock::time_point now, std::chrono::milliseconds grace) {
    const auto room =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::time_point::max() - now);
    return grace >= room ? Clock::time_point::max() : now + grace;
  }

 private:
  StopStep advance(Clock::time_point now) {
    started_ = true;
    const StopStep step = steps_[next_++];
    deadline_ = after(now, step.grace);
    return step;
  }

  std::array<StopStep, kMaxSteps> steps_{};
  std::size_t count_ = 0;
  std::size_t next_ = 0;
  bool started_ = false;
  Clock::time_point deadline_{};
};

}  // namespace forkpool::workers
