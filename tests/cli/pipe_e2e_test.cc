// `forkpool run --pipe` / `--pipepart` end to end, on its own: memory that stays bounded on a
// large input, a job that does not read its stdin stalling nobody else, jobs that die, --halt,
// bad command lines, and -a FILE as the input. Deadlines only detect hangs.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "cli/run_support.h"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kDeadline = 120s;  // only detects hangs

// `script` through /bin/sh in `dir`, where "$FORKPOOL" is the binary; TMPDIR is `dir`.
Outcome run_script(const TempDir& dir, const std::string& script,
                   const std::string& stdin_path = "/dev/null") {
  Launch l;
  l.argv = {"/bin/sh", "-c", script};
  l.dir = dir.path();
  l.stdin_path = stdin_path;
  l.env = environment_with(parallel_or_tmpdir_setting,
                           {"TMPDIR=" + dir.path(), "FORKPOOL=" FORKPOOL_BINARY});
  return run_to_end(l, kDeadline);
}

// The forkpool-pipe-* directories runs left behind in `dir`.
int pipe_dirs_in(const TempDir& dir) {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    n += entry.path().filename().string().rfind("forkpool-pipe-", 0) == 0 ? 1 : 0;
  return n;
}

// The largest resident set, in KiB, of any process this test has waited for (and they for
// theirs): forkpool, its workers, the jobs, the generators. Each test runs as a process of its
// own under ctest, so earlier tests do not count. 0 in an ASan build, whose quarantine keeps
// freed memory resident for a while, so that its peak says nothing about what was held.
long largest_child_rss_kib() {
#if defined(__SANITIZE_ADDRESS__)
  return 0;
#else
  rusage usage{};
  if (::getrusage(RUSAGE_CHILDREN, &usage) != 0) return std::numeric_limits<long>::max();
  return usage.ru_maxrss;
#endif
}

TEST(PipeE2e, MemoryStaysBoundedOnAnInputFarLargerThanABlock) {
  TempDir dir;
  // 400 MB through a pipe in 1 MB blocks, two jobs at a time: the parent may hold the blocks
  // of the running jobs and one read ahead, never the input.
  const Outcome o =
      run_script(dir,
                 "yes 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ | "
                 "head -c 400000000 | \"$FORKPOOL\" run --pipe --block 1M -j2 wc -c | "
                 "awk '{ s += $1 } END { print s }'");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "400000000\n");
  EXPECT_LT(largest_child_rss_kib(), 100 * 1024);
  EXPECT_EQ(pipe_dirs_in(dir), 0);
}

// --pipepart, and --pipe from a regular file, splice each range from the page cache.
TEST(PipeE2e, PipepartAndPipeFromAFileHoldNoBlockInMemory) {
  TempDir dir;
  const Outcome o = run_script(dir,
                               "yes 0123456789abcdef | head -c 300000000 > big && "
                               "\"$FORKPOOL\" run --pipepart -a big --block 50M -j2 wc -l | "
                               "awk '{ s += $1 } END { print s }' && "
                               "\"$FORKPOOL\" run --pipe --block 50M -j2 wc -l < big | "
                               "awk '{ s += $1 } END { print s }' && rm big");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const std::string lines = std::to_string(300000000 / 17) + "\n";
  EXPECT_EQ(o.out, lines + lines);
  EXPECT_LT(largest_child_rss_kib(), 60 * 1024);  // the blocks are 50 MB each
}

TEST(PipeE2e, AJobThatDoesNotReadStallsNoOtherJob) {
  TempDir dir;
  // Job 1's block (4 MB) is larger than its pipe, and job 1 reads nothing until job 5 opens
  // the gate: if feeding job 1 blocked the others, jobs 2..5 would never get their blocks.
  const Outcome o =
      run_script(dir,
                 "mkfifo gate && "
                 "{ head -c 4000000 /dev/zero | tr '\\0' x; printf '\\na\\nb\\nc\\nLAST\\n'; } | "
                 "\"$FORKPOOL\" run -k -j2 --pipe -N1 "
                 "'if [ $PARALLEL_SEQ = 1 ]; then cat gate; wc -c; else wc -c; "
                 "if [ $PARALLEL_SEQ = 5 ]; then echo open > gate; fi; fi'");
  ASSERT_FALSE(o.hung);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "open\n4000001\n2\n2\n2\n5\n");
}

TEST(PipeE2e, JobsThatDieAreCountedAndTheOthersDelivered) {
  TempDir dir;
  write_file(dir / "in", "1\n2\n3\n4\n5\n6\n");
  const Outcome o =
      run_script(dir,
                 "\"$FORKPOOL\" run -k --pipe -N1 'read x; if [ $x = 2 ] || [ $x = 5 ]; "
                 "then kill -9 $$; fi; echo $x'",
                 dir / "in");
  EXPECT_EQ(o.exit_code, 2) << o.err;
  EXPECT_EQ(o.out, "1\n3\n4\n6\n");
  EXPECT_EQ(pipe_dirs_in(dir), 0);
}

TEST(PipeE2e, HaltNowStopsEveryJobAndLeavesNothingBehind) {
  TempDir dir;
  const std::string token = unique_token();
  KillLeftovers cleanup{token};
  write_file(dir / "in", "fail\nslow1\nslow2\nslow3\n");
  // The slow jobs wait for their own end: only --halt now can end them before the deadline.
  const Outcome o = run_script(
      dir,
      "\"$FORKPOOL\" run -j4 --pipe -N1 --halt now,fail=1 'read x; if [ $x = fail ]; then "
      "until [ $(ls started.* 2>/dev/null | wc -l) = 3 ]; do sleep 0.01; done; exit 4; fi; "
      "touch started.$x; sleep 300." +
          token + "'",
      dir / "in");
  EXPECT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 4) << o.err;
  EXPECT_TRUE(eventually([&] { return processes_with(token).empty(); }, 10s))
      << processes_with(token);
  EXPECT_EQ(pipe_dirs_in(dir), 0);
}

TEST(PipeE2e, ArgFileIsTheInputOfPipe) {
  TempDir dir;
  write_file(dir / "a", "1\n2\n3\n");
  write_file(dir / "b", "4\n5\n");
  const Outcome o = run_script(dir, "\"$FORKPOOL\" run -k --pipe -N2 -a a -a b 'echo ---; cat'");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "---\n1\n2\n---\n3\n4\n---\n5\n");
  const Outcome quad = run_script(dir, "\"$FORKPOOL\" run -k --pipe -N3 cat :::: a b");
  EXPECT_EQ(quad.out, "1\n2\n3\n4\n5\n");
}

TEST(PipeE2e, FifoJobThatNeverOpensItsFifoDoesNotHang) {
  TempDir dir;
  write_file(dir / "in", "1\n2\n3\n");
  const Outcome o =
      run_script(dir, "\"$FORKPOOL\" run -k --pipe --fifo -N1 'echo {#}'", dir / "in");
  EXPECT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "1\n2\n3\n");
  EXPECT_EQ(pipe_dirs_in(dir), 0);
}

TEST(PipeE2e, SigtermWhileWaitingForInputStopsTheRun) {
  TempDir dir;
  const std::string fifo = dir / "input";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // The writer end stays open and silent: forkpool waits for its first block.
  const int writer = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(writer, 0);
  Launch l;
  l.argv = {FORKPOOL_BINARY, "run", "--pipe", "cat"};
  l.dir = dir.path();
  l.stdin_path = fifo;
  l.stdout_path = dir / ".stdout";
  l.stderr_path = dir / ".stderr";
  l.env = environment_with(parallel_or_tmpdir_setting, {"TMPDIR=" + dir.path()});
  Launched run(l);
  // Its workers exist once it handles signals itself (the pool starts after that).
  ASSERT_TRUE(eventually([&] { return !descendants_of(run.pid()).empty(); }, 30s));
  ASSERT_EQ(::kill(run.pid(), SIGTERM), 0);
  const std::optional<int> status = run.wait_for(30s);
  ::close(writer);
  ASSERT_TRUE(status.has_value()) << "still waiting for input after SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 255);  // as GNU parallel after SIGTERM
  EXPECT_EQ(pipe_dirs_in(dir), 0);
}

// Bad command lines: one "forkpool run:" line, exit 255, and no job started (the job would
// leave a file).
TEST(PipeE2e, BadCommandLinesStartNoJob) {
  TempDir dir;
  write_file(dir / "in", "1\n2\n");
  const std::vector<std::string> bad = {
      "--pipe --block 0",      "--pipe --block abc",
      "--pipe --block 1q",     "--pipepart",
      "--pipepart -a -",       "--pipe --cat --fifo",
      "--pipe --block -2",     "--pipe -a missing",
      "--pipepart -a missing", "--pipe --regexp --recend '('",
      "--pipe --header '('",   "--pipe --round-robin --retries 1",
      "--pipe --results res",  "--pipe --joblog log --resume",
      "--pipe --shuf",         "--pipe --halt soon,fail=50%",
      "--pipe ::: a b",        "--pipe --csv --colsep '\"'",
      "--pipe --dry-run",
  };
  for (const std::string& options : bad) {
    const Outcome o =
        run_script(dir, "\"$FORKPOOL\" run " + options + " 'touch ran' < in", dir / "in");
    EXPECT_EQ(o.exit_code, 255) << options << ": " << o.err;
    EXPECT_TRUE(o.err.rfind("forkpool run: ", 0) == 0) << options << ": " << o.err;
    EXPECT_EQ(split_lines(o.err).size(), 1u) << options << ": " << o.err;
    EXPECT_FALSE(exists(dir / "ran")) << options;
  }
  // --pipepart on a pipe, however it is named.
  const Outcome piped =
      run_script(dir, "cat in | \"$FORKPOOL\" run --pipepart -a /dev/stdin 'touch ran'");
  EXPECT_EQ(piped.exit_code, 255) << piped.err;
  EXPECT_FALSE(exists(dir / "ran"));
  EXPECT_EQ(pipe_dirs_in(dir), 0);
}

}  // namespace
}  // namespace forkpool::testing
