// ServiceTime: the moving average of task run times, and when pipelining pays.
#include "orchestrator/service_time.h"

#include <gtest/gtest.h>

namespace forkpool::orchestrator {
namespace {

using namespace std::chrono_literals;

TEST(ServiceTime, UnmeasuredNeverPipelines) {
  ServiceTime time;
  EXPECT_FALSE(time.measured());
  EXPECT_FALSE(time.pipelining_pays(4, 1ms, 2, 2));
}

TEST(ServiceTime, TheFirstSampleIsTheMeanThenEachMovesItAnEighth) {
  ServiceTime time;
  time.record(100us);
  EXPECT_DOUBLE_EQ(time.mean_us(), 100);
  time.record(900us);
  EXPECT_DOUBLE_EQ(time.mean_us(), 200);
}

TEST(ServiceTime, ShortTasksPipelineOnlyWithEveryWorkerReadyAndADepthAboveOne) {
  ServiceTime time;
  time.record(50us);
  EXPECT_TRUE(time.pipelining_pays(4, 1ms, 2, 2));
  EXPECT_FALSE(time.pipelining_pays(1, 1ms, 2, 2)) << "depth 1: no pipelining";
  EXPECT_FALSE(time.pipelining_pays(4, 1ms, 1, 2)) << "a worker is missing";
  EXPECT_FALSE(time.pipelining_pays(4, 50us, 2, 2)) << "not below the threshold";
}

TEST(ServiceTime, LongTasksDoNotPipeline) {
  ServiceTime time;
  time.record(5ms);
  EXPECT_FALSE(time.pipelining_pays(4, 1ms, 2, 2));
}

}  // namespace
}  // namespace forkpool::orchestrator
