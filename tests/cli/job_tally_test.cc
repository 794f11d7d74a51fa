// JobTally: --halt's decisions and the exit status, as GNU parallel 20221122's
// should_we_halt() makes them (checked against it by the compat suite; here case by case).
#include "cli/job_tally.h"

#include <gtest/gtest.h>

namespace forkpool::cli {
namespace {

HaltPolicy halt(HaltPolicy::When when, HaltPolicy::Condition condition, double threshold,
                bool percent = false) {
  return HaltPolicy{
      .when = when, .condition = condition, .threshold = threshold, .percent = percent};
}

TEST(JobTally, WithoutHaltTheStatusIsTheNumberOfFailuresUpTo101) {
  JobTally tally(HaltPolicy{});
  EXPECT_EQ(tally.exit_status(), 0);
  for (int i = 0; i < 3; ++i) {
    const JobTally::Verdict v = tally.count(/*failed=*/true, 1, 0);
    EXPECT_EQ(v.announcement, nullptr);
    EXPECT_FALSE(v.halt_status);
  }
  tally.count(false, 0, 0);
  EXPECT_EQ(tally.exit_status(), 3);
  EXPECT_EQ(tally.completed(), 4u);
  EXPECT_EQ(tally.failed(), 3u);
  for (int i = 0; i < 200; ++i) tally.count(true, 1, 0);
  EXPECT_EQ(tally.exit_status(), 101);
}

TEST(JobTally, FailOneHaltsWithTheJobsExitCodeOrBashsStatusForASignal) {
  JobTally by_code(halt(HaltPolicy::When::kSoon, HaltPolicy::Condition::kFail, 1));
  EXPECT_FALSE(by_code.count(false, 0, 0).halt_status);
  const JobTally::Verdict v = by_code.count(true, 7, 0);
  EXPECT_STREQ(v.announcement, "This job failed: ");
  EXPECT_EQ(v.halt_status, 7);
  EXPECT_FALSE(by_code.count(true, 9, 0).halt_status);  // only the first time
  EXPECT_EQ(by_code.exit_status(), 7);

  JobTally by_signal(halt(HaltPolicy::When::kNow, HaltPolicy::Condition::kFail, 1));
  EXPECT_EQ(by_signal.count(true, 0, 9).halt_status, 137);
}

TEST(JobTally, ThresholdsCountJobsOrPercentOfTheTotal) {
  JobTally three(halt(HaltPolicy::When::kSoon, HaltPolicy::Condition::kFail, 3));
  EXPECT_FALSE(three.count(true, 1, 0).halt_status);
  EXPECT_FALSE(three.count(true, 1, 0).halt_status);
  EXPECT_EQ(three.count(true, 1, 0).halt_status, 3);

  JobTally percent(halt(HaltPolicy::When::kSoon, HaltPolicy::Condition::kFail, 50, true));
  percent.set_total_jobs(4);
  EXPECT_FALSE(percent.count(true, 1, 0).halt_status);
  EXPECT_EQ(percent.count(true, 1, 0).halt_status, 50);  // ceil(2/4*100)
}

TEST(JobTally, SuccessAndDoneConditions) {
  JobTally success(halt(HaltPolicy::When::kNow, HaltPolicy::Condition::kSuccess, 1));
  EXPECT_EQ(success.count(true, 1, 0).announcement, nullptr);
  const JobTally::Verdict v = success.count(false, 0, 0);
  EXPECT_STREQ(v.announcement, "This job succeeded: ");
  EXPECT_EQ(v.halt_status, 0);

  JobTally done(halt(HaltPolicy::When::kSoon, HaltPolicy::Condition::kDone, 2));
  EXPECT_STREQ(done.count(true, 1, 0).announcement, "This job finished: ");
  EXPECT_EQ(done.count(false, 0, 0).halt_status, 1);  // min(failed, 101)
}

TEST(JobTally, AHaltPercentRunThatNeverHaltsExitsWithThePercentOfStartedJobsFailed) {
  JobTally tally(halt(HaltPolicy::When::kSoon, HaltPolicy::Condition::kFail, 90, true));
  tally.set_total_jobs(3);
  for (int i = 0; i < 3; ++i) tally.count_started();
  tally.count(true, 1, 0);
  tally.count(false, 0, 0);
  tally.count(false, 0, 0);
  EXPECT_EQ(tally.exit_status(), 34);  // ceil(1/3*100)
}

}  // namespace
}  // namespace forkpool::cli
