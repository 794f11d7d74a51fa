// JobGate: each rule's answer, with values no machine is near (so that the answers do not
// depend on this machine's memory or load), and --limit commands whose exit status is known.
#include "cli/job_gate.h"

#include <gtest/gtest.h>

namespace forkpool::cli {
namespace {

using Answer = JobGate::Answer;

JobGate gate(const ResourceLimits& limits) { return JobGate(limits, 2, "/bin/sh"); }

TEST(JobGate, WithoutRulesEveryJobStarts) {
  JobGate g = gate({});
  EXPECT_FALSE(g.active());
  EXPECT_EQ(g.check(), Answer::kStart);
}

TEST(JobGate, MemfreeWaitsBelowItsSizeAndStopsTheYoungestBelowHalf) {
  EXPECT_EQ(gate({.memfree = 1024}).check(), Answer::kStart);
  JobGate huge = gate({.memfree = 1e18});
  EXPECT_TRUE(huge.active());
  EXPECT_EQ(huge.check(), Answer::kStopYoungest);
  EXPECT_NE(huge.reason().find("of memory free"), std::string::npos) << huge.reason();
}

TEST(JobGate, LoadCountsBusyThreadsAgainstItsMaximum) {
  EXPECT_EQ(gate({.load = "100000"}).check(), Answer::kStart);
  EXPECT_EQ(gate({.load = "+100000"}).check(), Answer::kStart);
  EXPECT_EQ(gate({.load = "5000000%"}).check(), Answer::kStart);
}

TEST(JobGate, TheLimitCommandsExitStatusIsTheAnswer) {
  EXPECT_EQ(gate({.limit = "exit 0"}).check(), Answer::kStart);
  JobGate one = gate({.limit = "exit 1"});
  EXPECT_EQ(one.check(), Answer::kWait);
  EXPECT_EQ(one.reason(), "--limit command exited with 1");
  EXPECT_EQ(gate({.limit = "exit 2"}).check(), Answer::kStopYoungest);
  // Anything but 0 and 2 holds jobs back, as in GNU parallel: a missing command too.
  EXPECT_EQ(gate({.limit = "exit 3"}).check(), Answer::kWait);
  EXPECT_EQ(gate({.limit = "no-such-command-forkpool-test 2>/dev/null"}).check(), Answer::kWait);
  // The command runs for this machine, as GNU parallel's does for ":".
  EXPECT_EQ(gate({.limit = "test \"$SSHLOGIN\" = :"}).check(), Answer::kStart);
}

TEST(JobGate, TheBuiltInMemAndLoadLimits) {
  EXPECT_EQ(gate({.limit = "mem 1k"}).check(), Answer::kStart);
  EXPECT_EQ(gate({.limit = "mem 1000P"}).check(), Answer::kStopYoungest);
  EXPECT_EQ(gate({.limit = "load 100000"}).check(), Answer::kStart);
  EXPECT_THROW(gate({.limit = "mem"}), UsageError);
  EXPECT_THROW(gate({.limit = "mem 1Q"}), UsageError);
  EXPECT_THROW(gate({.limit = "load x"}), UsageError);
  EXPECT_THROW(gate({.limit = "io"}), UsageError);
  EXPECT_THROW(gate({.limit = "io x"}), UsageError);
  EXPECT_THROW(gate({.limit = "io 10 20"}), UsageError);
  EXPECT_NO_THROW(gate({.limit = "io 10"}));
}

TEST(JobGate, SaysOnceWhenItBeginsToWait) {
  JobGate g = gate({.limit = "exit 1"});
  g.check();
  EXPECT_TRUE(g.began_waiting());
  EXPECT_FALSE(g.began_waiting());
  g.check();
  EXPECT_FALSE(g.began_waiting()) << "still waiting: nothing new to say";
}

TEST(JobGate, LooksAgainSoonerAfterAJobEnds) {
  JobGate g = gate({.limit = "exit 0"});
  const auto first = g.next_check_in();
  EXPECT_GT(g.next_check_in(), first);
  for (int i = 0; i < 100; ++i) g.next_check_in();
  EXPECT_EQ(g.next_check_in(), std::chrono::seconds(1));
  g.job_ended();
  EXPECT_EQ(g.next_check_in(), first);
}

}  // namespace
}  // namespace forkpool::cli
