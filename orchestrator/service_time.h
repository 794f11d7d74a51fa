// ServiceTime: how long tasks take to run, on average, and whether that is short enough to
// queue more than one in a worker's pipe (pipelining). Pure: it only does arithmetic.
#pragma once

#include <chrono>
#include <cstddef>

namespace forkpool::orchestrator {

class ServiceTime {
 public:
  // One task ran for `time` (from its start in the worker to its reply).
  void record(std::chrono::steady_clock::duration time) {
    const double us = std::chrono::duration<double, std::micro>(time).count();
    mean_us_ = mean_us_ < 0 ? us : mean_us_ + (us - mean_us_) / 8;  // a moving average
  }
  bool measured() const { return mean_us_ >= 0; }
  double mean_us() const { return mean_us_; }

  // Whether a busy worker should get more tasks queued in its pipe: pipelining is on
  // (`depth` > 1), tasks are measured to take less than `below`, and every worker is ready.
  // While workers are missing (retired when idle, dead, or still starting), tasks wait in the
  // queue for them: queued in a busy worker's pipe, they would keep the pool from growing and
  // wait behind that worker's task (a task that waits for another would never start).
  bool pipelining_pays(std::size_t depth, std::chrono::microseconds below, unsigned ready,
                       unsigned workers) const {
    return depth > 1 && measured() && mean_us_ < static_cast<double>(below.count()) &&
           ready >= workers;
  }

 private:
  double mean_us_ = -1;  // < 0 until measured
};

}  // namespace forkpool::orchestrator
