// How `forkpool run` hears SIGINT, SIGTERM and SIGHUP: in a thread of its own, never in a
// handler.
#pragma once

#include <signal.h>

#include <atomic>
#include <functional>
#include <thread>

namespace forkpool::cli {

// Blocks SIGINT, SIGTERM and SIGHUP in this thread (so in every thread started after it,
// the pool's included) and waits for them in a thread of its own, which calls `on_signal`
// for each. Workers unblock them. The destructor restores the previous mask: signals that
// arrived after the run ended are dropped with it.
class SignalWatcher {
 public:
  explicit SignalWatcher(std::function<void(int)> on_signal);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  static constexpr int kWake = SIGUSR2;
  sigset_t set_{}, previous_{};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace forkpool::cli
