// LauncherStarter's pure parts: GNU parallel's --sshlogin syntax, the slots of a Slurm
// allocation, shell quoting of the remote command; and its host books, with a local command
// standing in for the remote one (the real daemons are in tests/remote/).
#include "workers/launcher.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "forkpool/errors.h"

namespace forkpool::workers {
namespace {

TEST(Sshlogin, ParsesCountsHostsUsersAndThisMachine) {
  const auto hosts = parse_sshlogins({"2/fp-loopback,1/:", "user@node7"});
  ASSERT_EQ(hosts.size(), 3u);
  EXPECT_EQ(hosts[0], (HostSlots{"fp-loopback", 2, false}));
  EXPECT_EQ(hosts[1], (HostSlots{"localhost", 1, true}));
  EXPECT_EQ(hosts[2], (HostSlots{"user@node7", 1, false}));
}

TEST(Sshlogin, RefusesMalformedEntriesNamingThem) {
  for (const char* bad : {"0/host", "x/host", "2/", "", "a b"}) {
    try {
      parse_sshlogins({bad});
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos)
          << e.what();
    }
  }
  EXPECT_THROW(parse_sshlogins({}), Error);
}

TEST(Sshlogin, SlotsAddUp) {
  EXPECT_EQ(launcher_slots(Launcher::ssh_hosts({"2/a,3/b", ":"})), 6u);
  EXPECT_EQ(launcher_slots(Launcher::srun_slots(5)), 5u);
  EXPECT_EQ(launcher_slots(Launcher{}), 0u);
}

TEST(Srun, SlotsComeFromTheAllocation) {
  ::unsetenv("SLURM_NTASKS");
  ::setenv("SLURM_JOB_CPUS_PER_NODE", "4(x2),2", 1);
  EXPECT_EQ(srun_slots_from_environment(), 10u);
  ::setenv("SLURM_NTASKS", "3", 1);
  EXPECT_EQ(srun_slots_from_environment(), 3u);
  ::unsetenv("SLURM_NTASKS");
  ::unsetenv("SLURM_JOB_CPUS_PER_NODE");
  EXPECT_EQ(srun_slots_from_environment(), 1u);
}

TEST(ShellQuote, LeavesPlainWordsAndQuotesTheRest) {
  EXPECT_EQ(shell_quote("/usr/bin/forkpool"), "/usr/bin/forkpool");
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote(""), "''");
}

// Starts a worker of `starter` on a host whose "ssh" is /bin/true: it exits at once.
StartedWorker start_and_reap(LauncherStarter& starter, std::uint32_t id) {
  StartedWorker worker = starter.start(id);
  worker.child.wait();
  return worker;
}

Launcher failing_hosts(int host_start_failures) {
  Launcher launcher = Launcher::ssh_hosts({"1/bad", "1/good"});
  launcher.ssh = {"/bin/true"};  // "ssh HOST WORKER" exits at once: no Hello, ever
  launcher.host_start_failures = host_start_failures;
  return launcher;
}

TEST(LauncherStarter, PlacesWorkersOnFreeSlotsAndBacksOffAHostThatFailed) {
  LauncherStarter starter({.launcher = failing_hosts(3)});
  EXPECT_EQ(start_and_reap(starter, 1).host, "bad");
  EXPECT_EQ(start_and_reap(starter, 2).host, "good");
  const auto now = WorkerStarter::Clock::now();
  std::optional<WorkerStarter::Clock::time_point> retry_at;
  EXPECT_FALSE(starter.can_start(now, retry_at));  // every slot is busy
  EXPECT_FALSE(retry_at.has_value());
  starter.ended(1, false);
  EXPECT_FALSE(starter.can_start(now, retry_at));  // "bad" is free but backing off
  ASSERT_TRUE(retry_at.has_value());
  EXPECT_GE(*retry_at - now, std::chrono::milliseconds(100));
  EXPECT_TRUE(starter.can_start(*retry_at, retry_at));
  starter.ended(2, true);
  EXPECT_TRUE(starter.can_start(now, retry_at));  // "good" is free
  starter.ended(7, false);                        // an id it never started: ignored
}

TEST(LauncherStarter, GivesUpAHostAfterRepeatedFailuresAndSaysWhichWhenNoneIsLeft) {
  LauncherStarter starter({.launcher = failing_hosts(1)});
  start_and_reap(starter, 1);
  start_and_reap(starter, 2);
  starter.ended(1, false);
  std::optional<WorkerStarter::Clock::time_point> retry_at;
  EXPECT_FALSE(starter.can_start(WorkerStarter::Clock::now(), retry_at));
  EXPECT_FALSE(retry_at.has_value());  // "bad" is given up, not backing off
  starter.ended(2, false);
  // Nothing is left: start() must run, to say why.
  EXPECT_TRUE(starter.can_start(WorkerStarter::Clock::now(), retry_at));
  try {
    starter.start(3);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("host 'bad'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("host 'good'"), std::string::npos) << e.what();
  }
}

TEST(LauncherStarter, GivesUpAHostThatSpeaksAnotherProtocolAtOnce) {
  LauncherStarter starter({.launcher = failing_hosts(3)});
  start_and_reap(starter, 1);
  EXPECT_TRUE(starter.give_up_host(1, "it speaks protocol 3"));
  starter.ended(1, false);
  EXPECT_EQ(start_and_reap(starter, 2).host, "good");
  EXPECT_FALSE(starter.give_up_host(9, "unknown worker"));
}

}  // namespace
}  // namespace forkpool::workers
