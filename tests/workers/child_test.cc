// Child: reaps its own pid only, kills on destruction, reports statuses as values.
#include "workers/child.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>

#include "io/pipe.h"
#include "io/syscalls.h"
#include "support/leak_check.h"

namespace forkpool::workers {
namespace {

using namespace std::chrono_literals;

pid_t fork_that(void (*body)()) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    body();
    ::_exit(0);
  }
  return pid;
}

TEST(Child, ReportsExitCode) {
  testing::LeakCheck leaks;
  {
    Child child(fork_that([] { ::_exit(7); }));
    EXPECT_EQ(child.wait(), ExitStatus::exited(7));
    EXPECT_FALSE(child.running());
    EXPECT_EQ(child.wait(), ExitStatus::exited(7));  // reaped once, remembered
  }
  leaks.check();
}

TEST(Child, ReportsSignal) {
  testing::LeakCheck leaks;
  {
    Child child(fork_that([] {
      ::signal(SIGSEGV, SIG_DFL);
      ::raise(SIGSEGV);
    }));
    ExitStatus status = child.wait();
    EXPECT_TRUE(status.is_signaled());
    EXPECT_EQ(status.signal(), SIGSEGV);
    EXPECT_NE(status.str().find("killed by signal 11 (SIGSEGV"), std::string::npos) << status.str();
  }
  leaks.check();
}

TEST(Child, PidfdBecomesReadableAtExit) {
  testing::LeakCheck leaks;
  {
    io::Pipe go = io::Pipe::create();
    const pid_t pid = ::fork();
    if (pid == 0) {
      go.write.reset();  // or the child would hold its own EOF off
      char c;
      (void)!::read(go.read.get(), &c, 1);
      ::_exit(0);
    }
    go.read.reset();
    Child child(pid);
    ASSERT_TRUE(child.pidfd().valid());
    EXPECT_EQ(io::poll_one(child.pidfd().get(), POLLIN, 0ms), 0);  // still running
    EXPECT_FALSE(child.try_reap().has_value());
    go.write.reset();  // EOF lets the child exit
    EXPECT_NE(io::poll_one(child.pidfd().get(), POLLIN, 60000ms), 0);
    EXPECT_EQ(child.try_reap(), ExitStatus::exited(0));
  }
  leaks.check();
}

TEST(Child, DestructorKillsAndReapsARunningChild) {
  testing::LeakCheck leaks;
  {
    Child child(fork_that([] {
      for (;;) ::pause();
    }));
    EXPECT_TRUE(child.running());
  }
  leaks.check();  // no child left: killed and reaped
}

TEST(Child, WaitOrKillEscalates) {
  testing::LeakCheck leaks;
  {
    io::Pipe ready = io::Pipe::create();
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::signal(SIGTERM, SIG_IGN);
      ready.write.reset();  // EOF tells the parent SIGTERM is ignored now
      for (;;) ::pause();
    }
    ready.write.reset();
    char c;
    ASSERT_EQ(::read(ready.read.get(), &c, 1), 0);
    Child child(pid);
    child.signal(SIGTERM);  // ignored
    EXPECT_EQ(child.wait_or_kill(50ms), ExitStatus::signaled(SIGKILL, false));
  }
  leaks.check();
}

TEST(Child, NeverReapsAnotherChild) {
  testing::LeakCheck leaks;
  const pid_t other = fork_that([] { ::_exit(5); });
  {
    Child child(fork_that([] { ::_exit(6); }));
    EXPECT_EQ(child.wait(), ExitStatus::exited(6));
  }
  int status = 0;
  ASSERT_EQ(::waitpid(other, &status, 0), other);  // still ours to reap
  EXPECT_EQ(WEXITSTATUS(status), 5);
  leaks.check();
}

TEST(ExitStatus, Text) {
  EXPECT_EQ(ExitStatus::exited(3).str(), "exited with code 3");
  EXPECT_EQ(ExitStatus::signaled(9, false).str(), "killed by signal 9 (SIGKILL)");
  EXPECT_EQ(ExitStatus::signaled(6, true).str(), "killed by signal 6 (SIGABRT, core dumped)");
}

}  // namespace
}  // namespace forkpool::workers
