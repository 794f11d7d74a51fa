// The command line's log level: FORKPOOL_LOG through spdlog's level parser, then -v.
#include "cli/logging.h"

#include <gtest/gtest.h>
#include <spdlog/cfg/helpers.h>

#include "forkpool/worker.h"

namespace forkpool::cli {
namespace {

class Logging : public ::testing::Test {
 protected:
  // spdlog's registry and the task logger are process-wide: start each test from the defaults.
  void SetUp() override { Reset(); }
  void TearDown() override { Reset(); }
  static void Reset() {
    spdlog::cfg::helpers::load_levels("info");
    task_logger().set_level(spdlog::level::info);
  }
};

TEST_F(Logging, NothingAskedLeavesInfo) {
  EXPECT_EQ(configure_logging(nullptr, 0), "");
  EXPECT_EQ(configure_logging("", 0), "");
  EXPECT_EQ(task_logger().level(), spdlog::level::info);
}

TEST_F(Logging, TheEnvironmentSetsTheLevelOfEveryLogger) {
  EXPECT_EQ(configure_logging("debug", 0), "");
  EXPECT_EQ(task_logger().level(), spdlog::level::debug);
  EXPECT_TRUE(task_logger().should_log(spdlog::level::debug));
}

TEST_F(Logging, TheEnvironmentNamesForkpoolsLogger) {
  EXPECT_EQ(configure_logging("warn, forkpool = TRACE", 0), "");
  EXPECT_EQ(task_logger().level(), spdlog::level::trace);
  Reset();
  EXPECT_EQ(configure_logging("debug,forkpool=error", 0), "");
  EXPECT_EQ(task_logger().level(), spdlog::level::err);
}

TEST_F(Logging, AnotherLoggersLevelLeavesForkpoolsAlone) {
  EXPECT_EQ(configure_logging("someone-else=trace", 0), "");
  EXPECT_EQ(task_logger().level(), spdlog::level::info);
}

TEST_F(Logging, VerboseLowersTheLevelWhateverTheEnvironmentSaid) {
  configure_logging("error", 1);
  EXPECT_EQ(task_logger().level(), spdlog::level::debug);
  configure_logging("off", 2);
  EXPECT_EQ(task_logger().level(), spdlog::level::trace);
  configure_logging(nullptr, 5);
  EXPECT_EQ(task_logger().level(), spdlog::level::trace);
}

TEST_F(Logging, AnUnknownLevelIsNamedAndIgnored) {
  EXPECT_EQ(configure_logging("loud,forkpool=Shouty", 0),
            "FORKPOOL_LOG: unknown log level 'loud', 'shouty' ignored (trace, debug, info, "
            "warn, error, critical or off)");
  EXPECT_EQ(task_logger().level(), spdlog::level::info);
  // "off" is a level, not an unknown name.
  EXPECT_EQ(configure_logging("off", 0), "");
  EXPECT_EQ(task_logger().level(), spdlog::level::off);
}

}  // namespace
}  // namespace forkpool::cli
