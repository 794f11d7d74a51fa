#include "cli/signal_watcher.h"

#include <pthread.h>

namespace forkpool::cli {

SignalWatcher::SignalWatcher(std::function<void(int)> on_signal) {
  sigemptyset(&set_);
  for (int s : {SIGINT, SIGTERM, SIGHUP, kWake}) sigaddset(&set_, s);
  pthread_sigmask(SIG_BLOCK, &set_, &previous_);
  thread_ = std::thread([this, on_signal = std::move(on_signal)] {
    for (;;) {
      int signal = 0;
      if (sigwait(&set_, &signal) != 0) continue;
      if (signal == kWake) {
        if (done_.load()) return;
        continue;
      }
      on_signal(signal);
    }
  });
}

SignalWatcher::~SignalWatcher() {
  done_ = true;
  pthread_kill(thread_.native_handle(), kWake);
  thread_.join();
  pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

}  // namespace forkpool::cli
