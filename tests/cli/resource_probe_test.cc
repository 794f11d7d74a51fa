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

// /proc/diskstats: io_ticks is the tenth counter after the name; a line too short is left out.
// %util is busy milliseconds per elapsed one, at most 100, the busiest device's.
TEST(ResourceProbe, DiskUtilFromDiskstats) {
  const DiskTicks before = parse_diskstats(
      "   8       0 sda 1 2 3 4 5 6 7 8 0 1000 9 0 0 0 0\n"
      " 259       0 nvme0n1 1 2 3 4 5 6 7 8 0 500 9\n"
      "   7       0 short 1 2 3\n");
  EXPECT_EQ(before, (DiskTicks{{"sda", 1000}, {"nvme0n1", 500}}));
  const DiskTicks after = {{"sda", 1250}, {"nvme0n1", 1700}, {"new", 99999}};
  EXPECT_DOUBLE_EQ(busiest_disk_percent(before, {{"sda", 1250}}, 1000), 25);
  EXPECT_DOUBLE_EQ(busiest_disk_percent(before, after, 1000), 100);  // 120%: capped
  EXPECT_DOUBLE_EQ(busiest_disk_percent(before, before, 1000), 0);
  EXPECT_NO_THROW(disk_ticks());  // this machine's own
}

TEST(ResourceProbe, TheLimitCommandsExitCodeAndNotItsSignal) {
  EXPECT_EQ(run_limit_command("/bin/sh", "exit 0"), 0);
  EXPECT_EQ(run_limit_command("/bin/sh", "exit 7"), 7);
  // GNU parallel reads `$? >> 8`: a command killed by a signal answers 0.
  EXPECT_EQ(run_limit_command("/bin/sh", "kill -9 $$"), 0);
  // Its stdin is not ours.
  EXPECT_EQ(run_limit_command("/bin/sh", "test \"$(cat)\" = ''"), 0);
}

// The child says it runs before the probe looks: right after posix_spawn returns, the kernel
// may not have set up the new program's environment yet (/proc/PID/environ reads empty until
// the ELF loader has placed it), and the test failed that way under load.
TEST(ResourceProbe, FindsTheWorkerWhoseChildHasTheJobsEnvironment) {
  int ready[2];
  int hold[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(hold), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, hold[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, ready[1], STDOUT_FILENO);
  char entry[] = "PARALLEL_SEQ=424242";
  char* envp[] = {entry, nullptr};
  const char* argv[] = {"/bin/sh", "-c", "echo ready; read x", nullptr};
  pid_t pid = 0;
  const int spawned =
      ::posix_spawn(&pid, "/bin/sh", &actions, nullptr, const_cast<char* const*>(argv), envp);
  posix_spawn_file_actions_destroy(&actions);
  ::close(hold[0]);
  ::close(ready[1]);
  ASSERT_EQ(spawned, 0);
  workers::Child child(pid);  // killed and reaped at the end
  char said[6] = {};
  ASSERT_EQ(::read(ready[0], said, sizeof said), 6);  // "ready\n": the shell runs
  const std::optional<JobProcess> found = worker_running_job({::getpid()}, "PARALLEL_SEQ=424242");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->worker, ::getpid());
  EXPECT_EQ(found->job, pid);
  // A whole entry, not a prefix of one.
  EXPECT_FALSE(worker_running_job({::getpid()}, "PARALLEL_SEQ=4242").has_value());
  EXPECT_FALSE(worker_running_job({::getpid()}, "SEQ=424242").has_value());
  EXPECT_FALSE(worker_running_job({}, "PARALLEL_SEQ=424242").has_value());
  ::close(hold[1]);  // the shell's read ends: it exits
  ::close(ready[0]);
}

}  // namespace
}  // namespace forkpool::cli
