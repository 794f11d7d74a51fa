// CrashLoop: when the pool stops replacing workers that keep dying. Pure: it only counts.
#pragma once

#include <chrono>
#include <deque>

#include "forkpool/options.h"

namespace forkpool::orchestrator {

class CrashLoop {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Verdict {
    kRespawn,       // keep replacing workers
    kFailedStarts,  // CrashLoopPolicy::start_failures workers in a row never said Hello
    kDeaths,        // CrashLoopPolicy::deaths deaths within the window, no task completed
  };

  explicit CrashLoop(CrashLoopPolicy policy) : policy_(policy) {}

  // A task completed: the pool is doing work, and earlier deaths are no pattern.
  void task_completed() {
    if (!deaths_.empty()) deaths_.clear();  // asked once a call: a deque's clear() is not free
    failed_starts_ = 0;
  }
  // A worker finished its handshake: earlier failed starts are no pattern.
  void worker_ready() { failed_starts_ = 0; }
  // A worker the pool did not ask to go died at `now`, before its handshake or after.
  // Workers that never get as far as Hello (a launcher that fails or hangs every time) would
  // otherwise be restarted forever, one handshake timeout apart.
  Verdict worker_died(Clock::time_point now, bool before_handshake);

  int failed_starts() const { return failed_starts_; }
  std::size_t recent_deaths() const { return deaths_.size(); }

 private:
  const CrashLoopPolicy policy_;
  std::deque<Clock::time_point> deaths_;  // within the window, since the last success
  int failed_starts_ = 0;                 // in a row
};

}  // namespace forkpool::orchestrator
