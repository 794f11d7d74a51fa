// The fixture of the suites that run every test once per start method (all_start_cases).
#pragma once

#include <gtest/gtest.h>

#include <chrono>

#include "orchestrator/test_tasks.h"
#include "support/leak_check.h"

namespace forkpool::testing {

// Only detects hangs; nothing in these suites should take a second.
inline constexpr auto kDeadline = std::chrono::seconds(60);

class StartCaseTest : public ::testing::TestWithParam<StartCase> {
 protected:
  // The start case's options with `workers` workers.
  Options options(unsigned workers = 2) const {
    Options o = GetParam().options;
    o.workers = workers;
    return o;
  }
  LeakCheck leaks_;
};

template <typename R>
R get_within_deadline(const Future<R>& f) {
  EXPECT_TRUE(f.wait_for(kDeadline)) << "the future did not settle: hang";
  return f.get();
}

}  // namespace forkpool::testing
