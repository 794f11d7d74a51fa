// StopPlan: each step at its time, the grace of one step before the next.
#include "workers/stop_plan.h"

#include <gtest/gtest.h>

#include <span>
#include <vector>

namespace forkpool::workers {
namespace {

using namespace std::chrono_literals;
const StopPlan::Clock::time_point t0{};

TEST(StopPlan, AnEmptyPlanHasNothingDue) {
  StopPlan plan;
  EXPECT_FALSE(plan.started());
  EXPECT_FALSE(plan.pending());
  EXPECT_FALSE(plan.due(t0 + 1h));
}

TEST(StopPlan, StepsComeAfterTheGraceOfTheOneBefore) {
  StopPlan plan{{kAsk, 200ms}, {SIGTERM, 1s}, {SIGKILL, {}}};
  EXPECT_EQ(plan.start(t0).signal, kAsk);
  EXPECT_TRUE(plan.pending());
  EXPECT_EQ(plan.deadline(), t0 + 200ms);
  EXPECT_FALSE(plan.due(t0 + 199ms));
  auto term = plan.due(t0 + 200ms);
  ASSERT_TRUE(term);
  EXPECT_EQ(term->signal, SIGTERM);
  EXPECT_EQ(plan.deadline(), t0 + 1200ms);
  EXPECT_FALSE(plan.due(t0 + 1s));
  auto kill = plan.due(t0 + 1300ms);
  ASSERT_TRUE(kill);
  EXPECT_EQ(kill->signal, SIGKILL);
  EXPECT_EQ(plan.current().signal, SIGKILL);
  EXPECT_FALSE(plan.pending()) << "nothing follows the last step";
  EXPECT_FALSE(plan.due(t0 + 1h));
}

TEST(StopPlan, ALateLookTakesOneStepAtATime) {
  StopPlan plan{{SIGTERM, 200ms}, {SIGTERM, 100ms}, {SIGTERM, 50ms}, {SIGKILL, {}}};
  plan.start(t0);
  // Looked at long after: the next step only, with its full grace from now.
  auto step = plan.due(t0 + 10s);
  ASSERT_TRUE(step);
  EXPECT_EQ(plan.deadline(), t0 + 10s + 100ms);
}

TEST(StopPlan, AGraceTooLongForTheClockIsNever) {
  StopPlan plan{{kAsk, std::chrono::milliseconds::max()}, {SIGKILL, {}}};
  plan.start(StopPlan::Clock::now());
  EXPECT_EQ(plan.deadline(), StopPlan::Clock::time_point::max());
  EXPECT_FALSE(plan.due(StopPlan::Clock::time_point::max() - 1h));
}

// A user's --termseq: as many steps as it has, up to kMaxSteps, each one in turn.
TEST(StopPlan, ALongUserSequenceIsTakenWholeUpToTheLimit) {
  std::vector<StopStep> steps;
  for (std::size_t i = 0; i < StopPlan::kMaxSteps + 2; ++i)
    steps.push_back({static_cast<int>(1 + i), std::chrono::milliseconds(10)});
  StopPlan plan{std::span<const StopStep>(steps)};
  EXPECT_EQ(plan.start(t0).signal, 1);
  auto now = t0;
  for (std::size_t i = 1; i < StopPlan::kMaxSteps; ++i) {
    now += 10ms;
    auto step = plan.due(now);
    ASSERT_TRUE(step) << i;
    EXPECT_EQ(step->signal, static_cast<int>(1 + i));
  }
  EXPECT_FALSE(plan.pending()) << "the steps past kMaxSteps are dropped";
}

}  // namespace
}  // namespace forkpool::workers
