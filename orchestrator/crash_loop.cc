#include "orchestrator/crash_loop.h"

namespace forkpool::orchestrator {

CrashLoop::Verdict CrashLoop::worker_died(Clock::time_point now, bool before_handshake) {
  Verdict verdict = Verdict::kRespawn;
  if (before_handshake && policy_.start_failures > 0 &&
      ++failed_starts_ >= policy_.start_failures) {
    verdict = Verdict::kFailedStarts;
  }
  deaths_.push_back(now);
  while (!deaths_.empty() && now - deaths_.front() > policy_.window) deaths_.pop_front();
  if (verdict == Verdict::kRespawn && static_cast<int>(deaths_.size()) >= policy_.deaths) {
    verdict = Verdict::kDeaths;
  }
  return verdict;
}

}  // namespace forkpool::orchestrator
