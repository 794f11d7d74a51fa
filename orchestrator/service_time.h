// ServiceTime: how long tasks take to run, on average, and whether that is short enough to
// queue more than one in a worker's pipe (pipelining). Pure: it only does arithmetic.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace forkpool::orchestrator {

class ServiceTime {
 public:
  // One task ran for `time` (from its start in the worker to its reply).
  // In integer nanoseconds: it is asked once a call, a batched call's included.
  void record(std::chrono::steady_clock::duration time) {
    const std::int64_t ns = std::chrono::nanoseconds(time).count();
    mean_ns_ = mean_ns_ < 0 ? ns : mean_ns_ + (ns - mean_ns_) / 8;  // a moving average
  }
  bool measured() const { return mean_ns_ >= 0; }
  double mean_us() const { return static_cast<double>(mean_ns_) / 1000; }

  // Whether a busy worker should get more tasks queued in its pipe: pipelining is on
  // (`depth` > 1), tasks are measured to take less than `below`, and every worker is ready.
  // While workers are missing (retired when idle, dead, or still starting), tasks wait in the
  // queue for them: queued in a busy worker's pipe, they would keep the pool from growing and
  // wait behind that worker's task (a task that waits for another would never start).
  bool pipelining_pays(std::size_t depth, std::chrono::microseconds below, unsigned ready,
                       unsigned workers) const {
    return depth > 1 && measured() && mean_ns_ < std::chrono::nanoseconds(below).count() &&
           ready >= workers;
  }

 private:
  std::int64_t mean_ns_ = -1;  // < 0 until measured
};

}  // namespace forkpool::orchestrator
