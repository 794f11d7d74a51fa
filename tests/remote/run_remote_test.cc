// `forkpool run` on other hosts: -S through a real sshd, --sshloginfile, --launcher srun on a
// real Slurm; output byte-identical to the local run and to GNU parallel with the same -S.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

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

// Commands run at once (each its own shell), then read in turn: ssh's start-up, paid by every
// run on another host, overlaps instead of adding up.
std::vector<ShellRun> shells_at_once(const std::vector<std::string>& commands) {
  std::vector<FILE*> pipes;
  pipes.reserve(commands.size());
  for (const std::string& command : commands) pipes.push_back(::popen(command.c_str(), "r"));
  std::vector<ShellRun> runs;
  runs.reserve(pipes.size());
  for (FILE* pipe : pipes) {
    ShellRun& run = runs.emplace_back();
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) run.out.append(buffer, n);
    const int status = ::pclose(pipe);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  return runs;
}

// --pipe's input: lines of every byte value but the newline, one line longer than the block.
std::string pipe_input() {
  std::string bytes;
  for (int line = 0; line < 300; ++line) {
    const int length = line == 150 ? 40000 : 1 + line % 97;
    for (int i = 0; i < length; ++i) {
      const char c = static_cast<char>((line * 31 + i) % 256);
      bytes += c == '\n' ? 'n' : c;
    }
    bytes += '\n';
  }
  return bytes;
}

// --pipe and --pipepart on another host: each block in its job's request, fed to the job by
// its worker (a file or named pipe there with --cat and --fifo). The same bytes as the local
// run and as GNU parallel's --pipe -S, in -k order: binary data, a record longer than the
// block, --header, -N, empty input.
TEST(RunRemote, PipeOutputIsByteIdenticalToLocalAndToGnuParallel) {
  if (std::string why = ssh_unavailable(); !why.empty()) GTEST_SKIP() << why;
  TempDir dir;
  const std::string input = dir.file("in", pipe_input());
  const std::string lines = dir.file("lines", "head\na\nb\nc\nd\ne\nf\ng\n");
  struct Case {
    std::string options;
    bool gnu;  // GNU parallel -S runs a new ssh per job: its time is spent where it tells most
  };
  const std::vector<Case> cases = {
      {"--pipe -k --block 16k 'md5sum; wc -c' < " + input, true},
      {"--pipe -k --cat --block 16k 'wc -c < {}; md5sum < {}' < " + input, false},
      {"--pipe -k --fifo --block 30k 'md5sum < {}' < " + input, false},
      {"--pipepart -a " + input + " -k --block 20k md5sum", false},
      {"--pipe -k --header : -N 3 'cat; echo .' < " + lines, true},
      {"--pipe -k 'echo job; cat' < /dev/null", true},
  };
  std::vector<std::string> commands;
  for (const Case& c : cases) {
    commands.push_back(kForkpool + " run " + c.options);
    commands.push_back(kForkpool + " run -S 2/fp-loopback " + c.options);
    commands.push_back(c.gnu ? "parallel -S 2/fp-loopback " + c.options + " 2>/dev/null" : "true");
  }
  const std::vector<ShellRun> runs = shells_at_once(commands);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const ShellRun& local = runs[3 * i];
    const ShellRun& ours = runs[3 * i + 1];
    const ShellRun& gnu = runs[3 * i + 2];
    const std::string& options = cases[i].options;
    EXPECT_EQ(local.exit_code, 0) << options;
    EXPECT_EQ(ours.out, local.out) << options;
    EXPECT_EQ(ours.exit_code, local.exit_code) << options;
    if (!cases[i].gnu) continue;
    EXPECT_EQ(ours.out, gnu.out) << options;
    EXPECT_EQ(ours.exit_code, gnu.exit_code) << options;
  }
  EXPECT_NE(runs[0].out.find('\n'), runs[0].out.rfind('\n'));  // several blocks
  EXPECT_EQ(runs[runs.size() - 2].out, "");                    // no job for no input
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
  TempDir dir;
  const std::string pipe =
      " --pipe -k --block 16k 'md5sum; wc -c' < " + dir.file("in", pipe_input());
  // --round-robin: every block reaches a job (the later ones streamed to its srun step),
  // however many slots the allocation gives.
  std::string numbers;
  for (int i = 1; i <= 20000; ++i) numbers += std::to_string(i) + "\n";
  const std::string dealt = " --pipe --round-robin --block 2k 'wc -l' < " +
                            dir.file("numbers", numbers) + " | awk '{ s += $1 } END { print s }'";
  // At once: each srun run's steps take seconds to end under load, and overlap.
  const std::vector<ShellRun> runs =
      shells_at_once({kForkpool + " run " + kJobs, kForkpool + " run --launcher srun " + kJobs,
                      kForkpool + " run" + pipe, kForkpool + " run --launcher srun" + pipe,
                      kForkpool + " run" + dealt, kForkpool + " run --launcher srun" + dealt});
  EXPECT_EQ(runs[5].out, "20000\n");
  for (std::size_t i = 0; i < runs.size(); i += 2) {
    EXPECT_NE(runs[i].out, "");
    EXPECT_EQ(runs[i + 1].out, runs[i].out);
    EXPECT_EQ(runs[i + 1].exit_code, runs[i].exit_code);
  }
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
  for (const char* bad : {"-S 0/host", "--launcher bogus", "--data-channel fast -S :",
                          "--sshloginfile /nonexistent/logins", "--launcher srun -S host",
                          "--pipe --round-robin --cat -S :", "--env HOME -S :"}) {
    const ShellRun run = shell(kForkpool + " run " + bad + " echo ::: a 2>&1");
    EXPECT_EQ(run.exit_code, 255) << bad;
    EXPECT_EQ(run.out.rfind("forkpool run: ", 0), 0u) << bad << ": " << run.out;
    EXPECT_EQ(run.out.find('\n'), run.out.size() - 1) << bad << ": " << run.out;
  }
  // A job on another host gets --round-robin's later blocks on its stdin, not in a file.
  const ShellRun dealt =
      shell(kForkpool + " run --pipe --round-robin --fifo -S : cat {} </dev/null 2>&1");
  EXPECT_EQ(dealt.exit_code, 255);
  EXPECT_NE(dealt.out.find("--round-robin with --cat or --fifo is not supported with -S"),
            std::string::npos)
      << dealt.out;
}

// --pipe --round-robin on another host: one job per slot, each reading block after block from
// one stdin, the blocks after its first streamed through the pool's connection to its worker.
// Which job gets which block is a race, so the comparison is of what does not depend on it:
// every line comes out once (sorted), and one count per job whose sum is the input's.
TEST(RunRemote, PipeRoundRobinDealsEveryBlockAsGnuParallelDoes) {
  if (std::string why = ssh_unavailable(); !why.empty()) GTEST_SKIP() << why;
  TempDir dir;
  std::string numbers;
  for (int i = 1; i <= 20000; ++i) numbers += std::to_string(i) + "\n";
  const std::string input = dir.file("in", numbers);
  const std::string sorted = " | sort -n | md5sum";
  const std::string counts = " | sort -n | awk '{ n++; sum += $1 } END { print n, sum }'";
  const std::string rr = " run --pipe --round-robin --block 2k ";
  const std::vector<std::string> commands = {
      "sort -n " + input + " | md5sum",
      kForkpool + rr + "cat < " + input + sorted,
      kForkpool + rr + "-S 2/fp-loopback cat < " + input + sorted,
      "parallel --pipe --round-robin --block 2k -S 2/fp-loopback cat < " + input + sorted,
      kForkpool + " run --pipepart -a " + input + " --round-robin --block 2k -S 2/fp-loopback cat" +
          sorted,
      kForkpool + rr + "-j 2 'wc -l' < " + input + counts,
      kForkpool + rr + "-S 2/fp-loopback,1/: 'wc -l' < " + input + counts,
      "parallel --pipe --round-robin --block 2k -S 2/fp-loopback,1/: 'wc -l' < " + input + counts,
  };
  const std::vector<ShellRun> runs = shells_at_once(commands);
  for (std::size_t i = 1; i < 5; ++i) {
    EXPECT_EQ(runs[i].out, runs[0].out) << commands[i];
    EXPECT_EQ(runs[i].exit_code, 0) << commands[i];
  }
  EXPECT_EQ(runs[5].out, "2 20000\n");  // -j 2: two jobs
  EXPECT_EQ(runs[6].out, "3 20000\n") << commands[6];
  EXPECT_EQ(runs[7].out, runs[6].out);
  EXPECT_EQ(runs[6].exit_code, 0);
}

// Jobs that stop reading (or never start) end the run as locally; a worker killed mid-stream
// loses its own job, as any worker's death does, and the other job takes the rest. Nothing of
// the jobs is left on the host.
TEST(RunRemote, PipeRoundRobinSurvivesJobsThatStopReadingAndAWorkerKilled) {
  if (std::string why = ssh_unavailable(); !why.empty()) GTEST_SKIP() << why;
  TempDir dir;
  std::string numbers;
  for (int i = 1; i <= 20000; ++i) numbers += std::to_string(i) + "\n";
  const std::string input = " < " + dir.file("in", numbers) + " 2>&1";
  const std::string tag = unique_tag();
  const std::string rr = kForkpool + " run --pipe --round-robin -k --block 1k ";
  const std::vector<ShellRun> runs = shells_at_once({
      rr + "'head -c 5; echo'" + input,
      rr + "-S 2/fp-loopback 'head -c 5; echo'" + input,
      rr + "-S 2/fp-loopback true" + input,
      // Job 1 kills its own worker (the job's parent) after reading a byte.
      rr + "-S 2/fp-loopback 'if [ {%} = 1 ]; then head -c 1 >/dev/null; kill -9 $PPID; " +
          "cat >/dev/null; else wc -l; fi # " + tag + "'" + input,
  });
  EXPECT_EQ(runs[0].out, "1\n2\n3\n278\n2\n");  // the first 5 bytes of each job's first block
  EXPECT_EQ(runs[1].out, runs[0].out);
  EXPECT_EQ(runs[1].exit_code, 0);
  EXPECT_EQ(runs[2].out, "");
  EXPECT_EQ(runs[2].exit_code, 0);
  const ShellRun& killed = runs[3];
  EXPECT_EQ(killed.exit_code, 1) << killed.out;
  EXPECT_NE(killed.out.find("job 1 ("), std::string::npos) << killed.out;
  // (ssh reports its remote side's death as its own exit code 255, or is killed first)
  EXPECT_NE(killed.out.find(") was lost: worker pid "), std::string::npos) << killed.out;
  // Job 2's count, the one line of digits (the error line may come before or after it).
  int count = -1;
  std::istringstream lines(killed.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.find_first_not_of("0123456789") == std::string::npos)
      count = std::stoi(line);
  }
  EXPECT_GT(count, 1000) << killed.out;   // job 2 took more than its first block
  EXPECT_LT(count, 20000) << killed.out;  // job 1's blocks were lost
  EXPECT_EQ(wait_gone(tag), "");
}

}  // namespace
}  // namespace forkpool::testing
