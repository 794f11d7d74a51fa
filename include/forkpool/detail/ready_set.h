// ReadySet: where futures report that they settled, so that one thread can wait on many of them
// (forkpool::wait_any, forkpool::as_completed). Implementation detail; not part of the stable
// API.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

namespace forkpool::detail {

class ReadySet {
 public:
  // Called by a watched FutureState when it settles, under that state's own mutex: so this
  // takes only its own mutex, and the lock order is always the state's, then the set's.
  void push(std::size_t index) {
    {
      std::lock_guard lock(mutex_);
      ready_.push_back(index);
    }
    arrived_.notify_one();
  }

  // The index of the next future that settled, in the order they did; waits until there is
  // one, or until `deadline` (nullopt then).
  std::optional<std::size_t> pop_until(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    if (!arrived_.wait_until(lock, deadline, [&] { return !ready_.empty(); })) return std::nullopt;
    const std::size_t index = ready_.front();
    ready_.pop_front();
    return index;
  }
  std::size_t pop() {
    std::unique_lock lock(mutex_);
    arrived_.wait(lock, [&] { return !ready_.empty(); });
    const std::size_t index = ready_.front();
    ready_.pop_front();
    return index;
  }

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<std::size_t> ready_;
};

}  // namespace forkpool::detail
