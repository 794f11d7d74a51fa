// SmallMutex: a mutex of one 32-bit word. Implementation detail; not part of the stable API.
#pragma once

#include <atomic>
#include <cstdint>

namespace forkpool::detail {

// For the locks a tiny call takes on its hot path (its future's state, its batch, the worker's
// reply channel): uncontended, lock and unlock are one atomic instruction each, where
// std::mutex goes through pthread_mutex_lock's and unlock's dispatch on the mutex's type (about
// 60 instructions a pair, measured with callgrind; two to four pairs a batched call). Contended,
// a waiter sleeps in the kernel (a futex, through std::atomic::wait), as with std::mutex. The
// word is 0 (free), 1 (held) or 2 (held, and a thread may be asleep on it): the unlock that
// finds 2 wakes one. Meets the Lockable requirements (std::lock_guard, std::unique_lock).
class SmallMutex {
 public:
  SmallMutex() = default;
  SmallMutex(const SmallMutex&) = delete;
  SmallMutex& operator=(const SmallMutex&) = delete;

  void lock() noexcept {
    std::uint32_t free = 0;
    if (word_.compare_exchange_strong(free, 1, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
      return;
    }
    // Marked 2 before each sleep: whoever unlocks then knows to wake a sleeper.
    while (word_.exchange(2, std::memory_order_acquire) != 0) {
      word_.wait(2, std::memory_order_relaxed);
    }
  }
  bool try_lock() noexcept {
    std::uint32_t free = 0;
    return word_.compare_exchange_strong(free, 1, std::memory_order_acquire,
                                         std::memory_order_relaxed);
  }
  void unlock() noexcept {
    if (word_.exchange(0, std::memory_order_release) == 2) word_.notify_one();
  }

 private:
  std::atomic<std::uint32_t> word_{0};
};

}  // namespace forkpool::detail
