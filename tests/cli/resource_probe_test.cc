// What the job gate measures: free memory and busy threads as GNU parallel counts them, the
// --limit command's answer, and which worker runs a job (found by its environment).
#include "cli/resource_probe.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>

#include "workers/child.h"

namespace forkpool::cli {
namespace {

double mem_total() {
  std::ifstream in("/proc/meminfo");
  std::string name;
  double kib = 0;
  in >> name >> kib;
  EXPECT_EQ(name, "MemTotal:");
  return kib * 1024;
}

TEST(ResourceProbe, MemoryFreeIsSomeOfTheMachinesMemory) {
  const double free = memory_free();
  EXPECT_GT(free, 0);
  EXPECT_LE(free, mem_total() * 1.01 + (1 << 30)) << "SwapCached may add a little";
}

// A thread that spins is running or runnable (state R) for as long as it spins.
TEST(ResourceProbe, ASpinningThreadIsBusy) {
  std::atomic<bool> spin{true};
  std::atomic<bool> spinning{false};
  std::thread spinner([&] {
    spinning = true;
    while (spin) {
    }
  });
  while (!spinning) std::this_thread::yield();
  EXPECT_GE(busy_threads(), 1u);
  spin = false;
  spinner.join();
}

TEST(ResourceProbe, TheLimitCommandsExitCodeAndNotItsSignal) {
  EXPECT_EQ(run_limit_command("/bin/sh", "exit 0"), 0);
  EXPECT_EQ(run_limit_command("/bin/sh", "exit 7"), 7);
  // GNU parallel reads `$? >> 8`: a command killed by a signal answers 0.
  EXPECT_EQ(run_limit_command("/bin/sh", "kill -9 $$"), 0);
  // Its stdin is not ours.
  EXPECT_EQ(run_limit_command("/bin/sh", "test \"$(cat)\" = ''"), 0);
}

TEST(ResourceProbe, FindsTheWorkerWhoseChildHasTheJobsEnvironment) {
  char entry[] = "PARALLEL_SEQ=424242";
  char* envp[] = {entry, nullptr};
  const char* argv[] = {"sleep", "300", nullptr};
  pid_t pid = 0;
  ASSERT_EQ(::posix_spawnp(&pid, "sleep", nullptr, nullptr, const_cast<char* const*>(argv), envp),
            0);
  workers::Child child(pid);  // killed and reaped at the end
  EXPECT_EQ(worker_running_job({::getpid()}, "PARALLEL_SEQ=424242"), ::getpid());
  // A whole entry, not a prefix of one.
  EXPECT_EQ(worker_running_job({::getpid()}, "PARALLEL_SEQ=4242"), std::nullopt);
  EXPECT_EQ(worker_running_job({::getpid()}, "SEQ=424242"), std::nullopt);
  EXPECT_EQ(worker_running_job({}, "PARALLEL_SEQ=424242"), std::nullopt);
}

}  // namespace
}  // namespace forkpool::cli
