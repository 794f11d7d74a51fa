// caller_shell(): the shell GNU parallel 20221122 would run jobs in, and the pieces of its
// parent_shell() it is made of.
#include "cli/caller_shell.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "cli/run_options.h"
#include "support/scoped_env.h"

namespace forkpool::cli {
namespace {

using forkpool::testing::ScopedEnv;

TEST(ShellInArgv0, RecognizesTheFormsParentShellRecognizes) {
  struct Case {
    const char* argv0;
    const char* name;  // nullptr: not a shell
    bool login_dash;
  };
  for (const Case& c : std::initializer_list<Case>{{"bash", "bash", false},
                                                   {"/bin/bash", "bash", false},
                                                   {"/usr/local/bin/zsh", "zsh", false},
                                                   {"-bash", "bash", true},
                                                   {"-sh", "sh", true},
                                                   {"[sh]", "sh", false},
                                                   {"busybox sh", "sh", false},
                                                   {"dash", "dash", false},
                                                   {"/bin/sh -c x", "sh", false},
                                                   {"sshd", nullptr, false},
                                                   {"foo.sh", nullptr, false},
                                                   {"/usr/bin/perl", nullptr, false},
                                                   {"crash", nullptr, false},
                                                   {"", nullptr, false}}) {
    const std::optional<ShellName> s = shell_in_argv0(c.argv0);
    if (c.name == nullptr) {
      EXPECT_FALSE(s) << c.argv0 << " -> " << (s ? s->name : "");
      continue;
    }
    ASSERT_TRUE(s) << c.argv0;
    EXPECT_EQ(s->name, c.name) << c.argv0;
    EXPECT_EQ(s->login_dash, c.login_dash) << c.argv0;
  }
}

TEST(CallerShell, ParallelShellWinsAndANameIsLookedUpInPath) {
  ScopedEnv shell("PARALLEL_SHELL", "sh");
  const std::string found = caller_shell();
  EXPECT_EQ(found.substr(found.rfind('/') + 1), "sh") << found;
  EXPECT_EQ(found[0], '/') << found;
}

TEST(CallerShell, AShellThatIsNotThereIsAUsageError) {
  ScopedEnv shell("PARALLEL_SHELL", "no-such-shell-anywhere");
  try {
    caller_shell();
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), "shell 'no-such-shell-anywhere' not found");
  }
}

TEST(CallerShell, WithoutParallelShellItIsAnAncestorsOrShellOrBinSh) {
  ScopedEnv shell("PARALLEL_SHELL", nullptr);
  const std::string found = caller_shell();
  EXPECT_EQ(found[0], '/') << found;
  const std::string name = found.substr(found.rfind('/') + 1);
  EXPECT_TRUE(shell_in_argv0(name)) << found;
}

TEST(ShellCanBeSkipped, OnlyForPlainShellsWithoutWhatBashWouldRunFirst) {
  ScopedEnv env("BASH_ENV", nullptr);
  EXPECT_TRUE(shell_can_be_skipped("/bin/sh"));
  EXPECT_TRUE(shell_can_be_skipped("/usr/bin/bash"));
  EXPECT_FALSE(shell_can_be_skipped("/usr/bin/zsh"));
  EXPECT_FALSE(shell_can_be_skipped("/bin/csh"));
  {
    ScopedEnv function("BASH_FUNC_f%%", "() {  echo; }");
    EXPECT_FALSE(shell_can_be_skipped("/usr/bin/bash"));
  }
  ScopedEnv bash_env("BASH_ENV", "/dev/null");
  EXPECT_FALSE(shell_can_be_skipped("/bin/sh"));
}

TEST(CheckQuotingFor, RefusesRcAndCshForOtherHosts) {
  auto refused = [](const char* shell, bool remote) {
    try {
      check_quoting_for(shell, remote);
      return false;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("PARALLEL_SHELL=/bin/sh"), std::string::npos)
          << e.what();
      return true;
    }
  };
  for (const char* shell : {"/usr/bin/rc", "rc"}) {
    EXPECT_TRUE(refused(shell, false)) << shell;
    EXPECT_TRUE(refused(shell, true)) << shell;
  }
  for (const char* shell : {"/bin/csh", "/usr/bin/tcsh", "/bin/bsd-csh", "./tcsh"}) {
    EXPECT_TRUE(is_csh(shell)) << shell;
    EXPECT_FALSE(refused(shell, false)) << shell;
    EXPECT_TRUE(refused(shell, true)) << shell;
  }
  for (const char* shell : {"/bin/sh", "/usr/bin/bash", "/usr/bin/zsh", "/bin/dash", "/opt/arc"}) {
    EXPECT_FALSE(is_csh(shell)) << shell;
    EXPECT_FALSE(refused(shell, true)) << shell;
  }
}

TEST(Which, FindsExecutablesInPathOrder) {
  ScopedEnv path("PATH", "/nonexistent:/bin:/usr/bin");
  const std::vector<std::string> found = which("sh");
  ASSERT_FALSE(found.empty());
  EXPECT_EQ(found.front(), "/bin/sh");
  EXPECT_TRUE(which("no-such-program-anywhere").empty());
  EXPECT_TRUE(which("/").empty());  // a directory is not a program
}

}  // namespace
}  // namespace forkpool::cli
