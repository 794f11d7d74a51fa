// The crash-loop policy: when deaths, or failed starts, in a row stop the pool respawning.
#include "orchestrator/crash_loop.h"

#include <gtest/gtest.h>

namespace forkpool::orchestrator {
namespace {

using namespace std::chrono_literals;
using Verdict = CrashLoop::Verdict;
const CrashLoop::Clock::time_point t0{};

TEST(CrashLoop, DeathsInARowWithinTheWindowStopRespawning) {
  CrashLoop loop({.deaths = 3, .window = 1s, .start_failures = 0});
  EXPECT_EQ(loop.worker_died(t0, false), Verdict::kRespawn);
  EXPECT_EQ(loop.worker_died(t0 + 100ms, false), Verdict::kRespawn);
  EXPECT_EQ(loop.worker_died(t0 + 200ms, false), Verdict::kDeaths);
  EXPECT_EQ(loop.recent_deaths(), 3u);
}

TEST(CrashLoop, DeathsOutsideTheWindowAreForgotten) {
  CrashLoop loop({.deaths = 3, .window = 1s, .start_failures = 0});
  EXPECT_EQ(loop.worker_died(t0, false), Verdict::kRespawn);
  EXPECT_EQ(loop.worker_died(t0 + 100ms, false), Verdict::kRespawn);
  EXPECT_EQ(loop.worker_died(t0 + 1500ms, false), Verdict::kRespawn);
  EXPECT_EQ(loop.recent_deaths(), 1u);
}

TEST(CrashLoop, ACompletedTaskForgetsEveryDeathAndFailedStart) {
  CrashLoop loop({.deaths = 2, .window = 1s, .start_failures = 2});
  EXPECT_EQ(loop.worker_died(t0, true), Verdict::kRespawn);
  loop.task_completed();
  EXPECT_EQ(loop.recent_deaths(), 0u);
  EXPECT_EQ(loop.failed_starts(), 0);
  EXPECT_EQ(loop.worker_died(t0 + 10ms, false), Verdict::kRespawn);
}

TEST(CrashLoop, FailedStartsInARowStopStartingWorkers) {
  CrashLoop loop({.deaths = 100, .window = 1s, .start_failures = 2});
  EXPECT_EQ(loop.worker_died(t0, true), Verdict::kRespawn);
  EXPECT_EQ(loop.worker_died(t0 + 2s, true), Verdict::kFailedStarts);
  EXPECT_EQ(loop.failed_starts(), 2);
}

TEST(CrashLoop, AHandshakeBetweenFailedStartsBreaksTheRow) {
  CrashLoop loop({.deaths = 100, .window = 1s, .start_failures = 2});
  EXPECT_EQ(loop.worker_died(t0, true), Verdict::kRespawn);
  loop.worker_ready();
  EXPECT_EQ(loop.worker_died(t0 + 2s, true), Verdict::kRespawn);
  // A death after the handshake is no failed start.
  EXPECT_EQ(loop.worker_died(t0 + 4s, false), Verdict::kRespawn);
  EXPECT_EQ(loop.failed_starts(), 1);
}

TEST(CrashLoop, NoStartFailureLimitWhenItIsZero) {
  CrashLoop loop({.deaths = 100, .window = 1s, .start_failures = 0});
  for (int i = 0; i < 10; ++i) EXPECT_EQ(loop.worker_died(t0 + i * 2s, true), Verdict::kRespawn);
}

}  // namespace
}  // namespace forkpool::orchestrator
