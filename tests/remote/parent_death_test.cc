// A pool's process killed with SIGKILL, or `forkpool run -S` interrupted with Ctrl-C, leaves
// nothing running on any host: a remote worker exits when its control channel (the launcher's
// stdin) reaches EOF, even inside a task that never returns, and srun ends its step.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "forkpool/forkpool.h"
#include "remote/remote_support.h"
#include "remote/remote_tasks.h"
#include "support/child_process.h"
#include "support/files.h"
#include "support/gate.h"
#include "support/leak_check.h"

namespace forkpool::testing {
namespace {

// Forks a child that starts a pool with `launcher` (two workers) and has both hold a task at
// `gate`; once both have entered, SIGKILLs the child. Then every process of `tag` must end.
void kill_pool_holding_tasks(const Launcher& launcher, const std::string& tag) {
  LeakCheck leaks;
  {
    Gate gate;
    ForkedChild child = fork_child([&] {
      Pool pool({.workers = 2, .launcher = launcher});
      auto a = pool.submit(remote_hold_task, gate.dir());
      auto b = pool.submit(remote_hold_task, gate.dir());
      a.wait();  // for ever: the test kills this process
      return 0;
    });
    gate.wait_entered();
    gate.wait_entered();
    ::kill(child.pid(), SIGKILL);
    EXPECT_EQ(child.wait(), ExitStatus::signaled(SIGKILL, false));
    EXPECT_EQ(wait_gone(tag), "");
  }
  leaks.check();
}

TEST(ParentDeath, KillingThePoolEndsItsSshWorkersInsideTheirTasks) {
  if (std::string why = ssh_unavailable(); !why.empty()) GTEST_SKIP() << why;
  const std::string tag = unique_tag();
  kill_pool_holding_tasks(tagged_launcher(Launcher::ssh_hosts({"2/fp-loopback"}), tag), tag);
}

TEST(ParentDeath, KillingThePoolEndsItsSshWorkersOnTheStdioChannelToo) {
  if (std::string why = ssh_unavailable(); !why.empty()) GTEST_SKIP() << why;
  const std::string tag = unique_tag();
  Launcher launcher = Launcher::ssh_hosts({"2/fp-loopback"});
  launcher.data_channel = DataChannel::kStdio;
  kill_pool_holding_tasks(tagged_launcher(launcher, tag), tag);
}

TEST(ParentDeath, KillingThePoolEndsItsSrunSteps) {
  if (std::string why = srun_unavailable(); !why.empty()) GTEST_SKIP() << why;
  const std::string tag = unique_tag();
  kill_pool_holding_tasks(tagged_launcher(Launcher::srun_slots(2), tag), tag);
}

TEST(ParentDeath, CtrlCOfForkpoolRunEndsTheRemoteJob) {
  if (std::string why = ssh_unavailable(); !why.empty()) GTEST_SKIP() << why;
  LeakCheck leaks;
  TempDir dir;
  const std::string fifo = dir / "started";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // A duration no other process uses, so the job's `sleep` is found by its command line.
  const std::string unique = "1000." + std::to_string(::getpid()) + "1";
  const std::string command = std::string(FORKPOOL_BINARY) +
                              " run -S 1/fp-loopback 'echo started > " + fifo +
                              "; exec sleep {}' ::: " + unique;
  ForkedChild run = fork_child([&] {
    ::execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(), nullptr);
    return 127;
  });
  // The job has started on the host once it opens the FIFO and writes.
  FILE* started = std::fopen(fifo.c_str(), "r");
  ASSERT_NE(started, nullptr);
  char line[64] = {};
  ASSERT_NE(std::fgets(line, sizeof line, started), nullptr);
  std::fclose(started);
  ::kill(run.pid(), SIGINT);
  EXPECT_EQ(run.wait(), ExitStatus::exited(255));
  EXPECT_EQ(wait_gone("sleep " + unique), "");
  leaks.check();
}

}  // namespace
}  // namespace forkpool::testing
