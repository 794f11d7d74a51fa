// `forkpool run` on other hosts: -S through a real sshd, --sshloginfile, --launcher srun on a
// real Slurm; output byte-identical to the local run and to GNU parallel with the same -S.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "remote/remote_support.h"
#include "support/files.h"

namespace forkpool::testing {
namespace {

struct ShellRun {
  int exit_code = -1;
  std::string out;
};

// Runs `command` through the shell; stdout only (stderr goes to the test's log).
ShellRun shell(const std::string& command) {
  ShellRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) run.out.append(buffer, n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

const std::string kForkpool = FORKPOOL_BINARY;
// Jobs whose output shows both the order and the bytes: several lines each, one without a
// final newline, one to stderr, exit codes that differ.
const std::string kJobs =
    "-k 'printf \"%s\\n%s\" {} {}{}; echo; echo err{} >&2; exit $(( {} % 3 ))' ::: " +
    std::string("1 2 3 4 5 6 7 8 9 10 11 12");

TEST(RunRemote, SshloginOutputIsByteIdenticalToLocalAndToGnuParallel) {
  if (std::string why = ssh_unavailable(); !why.empty()) GTEST_SKIP() << why;
  const ShellRun local = shell(kForkpool + " run " + kJobs);
  const ShellRun remote = shell(kForkpool + " run -S 2/fp-loopback,1/: " + kJobs);
  const ShellRun gnu = shell("parallel -S 2/fp-loopback,1/: " + kJobs);
  ASSERT_NE(local.out, "");
  EXPECT_EQ(remote.out, local.out);
  EXPECT_EQ(remote.exit_code, local.exit_code);
  EXPECT_EQ(remote.out, gnu.out);
  EXPECT_EQ(remote.exit_code, gnu.exit_code);
}

TEST(RunRemote, SshloginfileReadsOneLoginALine) {
  if (std::string why = ssh_unavailable(); !why.empty()) GTEST_SKIP() << why;
  TempDir dir;
  const std::string file = dir.file("logins", "# the test host\n2/fp-loopback\n\n  :  \n");
  const ShellRun remote =
      shell(kForkpool + " run --sshloginfile " + file + " -k echo {} ::: a b c");
  EXPECT_EQ(remote.exit_code, 0);
  EXPECT_EQ(remote.out, "a\nb\nc\n");
}

TEST(RunRemote, LauncherSrunMatchesTheLocalRun) {
  if (std::string why = srun_unavailable(); !why.empty()) GTEST_SKIP() << why;
  const ShellRun local = shell(kForkpool + " run " + kJobs);
  const ShellRun srun = shell(kForkpool + " run --launcher srun " + kJobs);
  EXPECT_EQ(srun.out, local.out);
  EXPECT_EQ(srun.exit_code, local.exit_code);
}

// The caller's shell is a path on this machine (and bash's exported functions would not
// travel): jobs on other hosts run in /bin/sh.
TEST(RunRemote, RemoteJobsRunInBinShWhateverTheCallersShell) {
  if (std::string why = ssh_unavailable(); !why.empty()) GTEST_SKIP() << why;
  const ShellRun local = shell("bash -c \"" + kForkpool + " run 'echo \\$0' ::: a\"");
  const ShellRun remote =
      shell("bash -c \"" + kForkpool + " run -S 1/fp-loopback 'echo \\$0' ::: a\"");
  EXPECT_NE(local.out, "/bin/sh a\n");  // bash, found as the caller's shell
  EXPECT_EQ(remote.out, "/bin/sh a\n");
  EXPECT_EQ(remote.exit_code, 0);
}

TEST(RunRemote, BadLoginsAndLaunchersAreOneLineUsageErrors) {
  for (const char* bad : {"-S 0/host", "--launcher bogus",
                          "--data-channel fast -S :", "--sshloginfile /nonexistent/logins",
                          "--launcher srun -S host", "--pipe -S :", "--env HOME -S :"}) {
    const ShellRun run = shell(kForkpool + " run " + bad + " echo ::: a 2>&1");
    EXPECT_EQ(run.exit_code, 255) << bad;
    EXPECT_EQ(run.out.rfind("forkpool run: ", 0), 0u) << bad << ": " << run.out;
    EXPECT_EQ(run.out.find('\n'), run.out.size() - 1) << bad << ": " << run.out;
  }
}

}  // namespace
}  // namespace forkpool::testing
