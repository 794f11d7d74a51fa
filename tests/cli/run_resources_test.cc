// `forkpool run`'s resource options end to end: --nice, --termseq, and the job gate of
// --memfree, --load and --limit. Each test runs the forkpool binary as a child and synchronizes
// on real events (files the jobs write, lines forkpool logs, its exit); deadlines only detect
// hangs.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "cli/run_support.h"
#include "support/leak_check.h"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kDeadline = 60s;  // only detects hangs

bool parallel_tmpdir_or_log_setting(const std::string& name) {
  return parallel_or_tmpdir_setting(name) || name == "FORKPOOL_LOG";
}

// forkpool run with `args`, in `dir`, its temporary files there too; `global` goes before
// `run` (-v).
Launch forkpool_launch(const TempDir& dir, const std::vector<std::string>& args,
                       const std::vector<std::string>& global = {}) {
  Launch l;
  l.argv = {FORKPOOL_BINARY};
  l.argv.insert(l.argv.end(), global.begin(), global.end());
  l.argv.push_back("run");
  l.argv.insert(l.argv.end(), args.begin(), args.end());
  l.dir = dir.path();
  l.stdout_path = dir / ".stdout";
  l.stderr_path = dir / ".stderr";
  l.env =
      environment_with(parallel_tmpdir_or_log_setting,
                       {"TMPDIR=" + dir.path(), "HOME=" + dir.path(), "PARALLEL_SHELL=/bin/sh"});
  return l;
}

// ---- Bad values ------------------------------------------------------------------------------

struct BadValue {
  const char* name;
  std::vector<std::string> option;  // the option and its value
};

// What ctest's listing shows for a case: the words, not the struct's bytes.
void PrintTo(const BadValue& b, std::ostream* out) {
  for (const std::string& word : b.option) *out << (&word == &b.option.front() ? "" : " ") << word;
}

const std::vector<BadValue>& bad_values() {
  static const std::vector<BadValue> all = {
      {"NiceNotANumber", {"--nice", "x"}},
      {"NiceFraction", {"--nice", "1.5"}},
      {"TermseqUnknownSignal", {"--termseq", "FOO"}},
      {"TermseqGraceNotANumber", {"--termseq", "TERM,x"}},
      {"TermseqEmpty", {"--termseq", ""}},
      {"MemfreeUnknownUnit", {"--memfree", "12Q"}},
      {"MemfreeNegative", {"--memfree", "-1G"}},
      {"LoadNotANumber", {"--load", "x"}},
      {"LoadPercentOfNothing", {"--load", "%"}},
      {"LimitEmpty", {"--limit", " "}},
      {"LimitMemWithoutSize", {"--limit", "mem"}},
      {"LimitMemBadSize", {"--limit", "mem 12Q"}},
      {"LimitLoadBadValue", {"--limit", "load x"}},
      {"LimitIoWithoutALimit", {"--limit", "io"}},
      {"LimitIoNotANumber", {"--limit", "io 10%"}},
      // Measured here: not on the hosts of -S.
      {"MemfreeWithSshlogin", {"--memfree", "1k", "-S", "somehost"}},
      // --csv with a separator Text::CSV refuses; --parens without its two halves.
      {"CsvColsepHoldingAQuote", {"--csv", "--colsep", "a\""}},
      {"ParensOfOneCharacter", {"--parens", "{"}},
      // -j names neither a value nor a file.
      {"JobsNeitherValueNorFile", {"-j", "no-such-file"}},
      {"LoadNeitherValueNorFile", {"--load", "no-such-file"}},
      {"TermseqTooLong",
       {"--termseq",
        "TERM,1,TERM,1,TERM,1,TERM,1,TERM,1,TERM,1,TERM,1,TERM,1,"
        "TERM,1,TERM,1,TERM,1,TERM,1,TERM,1,TERM,1,TERM,1,TERM,1,"
        "KILL"}},
  };
  return all;
}

class RunResourcesBadValue : public ::testing::TestWithParam<BadValue> {};

TEST_P(RunResourcesBadValue, OneLineOnStderrExit255AndNoJobStarted) {
  TempDir dir;
  std::vector<std::string> args = GetParam().option;
  args.insert(args.end(), {"touch started-{}", ":::", "a"});
  Outcome o = run_to_end(forkpool_launch(dir, args), kDeadline);
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 255) << o.err;
  EXPECT_EQ(o.err.rfind("forkpool run: ", 0), 0u) << o.err;
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
  EXPECT_FALSE(exists(dir / "started-a"));
}

INSTANTIATE_TEST_SUITE_P(RunResources, RunResourcesBadValue, ::testing::ValuesIn(bad_values()),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- --nice -----------------------------------------------------------------------------------

// The job's own niceness, as the kernel reports it (field 19 of /proc/self/stat, read by the
// job's own `cut`), whatever forkpool's own.
TEST(RunResources, NiceSetsTheJobsNiceness) {
  TempDir dir;
  Outcome o = run_to_end(
      forkpool_launch(
          dir, {"-k", "--nice", "7", "cut -d' ' -f19 /proc/self/stat # {}", ":::", "a", "b"}),
      kDeadline);
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "7\n7\n");
  // forkpool itself (and so its workers) keeps its own niceness: only the jobs change.
  Outcome plain = run_to_end(
      forkpool_launch(dir, {"cut -d' ' -f19 /proc/self/stat # {}", ":::", "a"}), kDeadline);
  EXPECT_EQ(plain.out, std::to_string(::getpriority(PRIO_PROCESS, 0)) + "\n");
}

// ---- --termseq ----------------------------------------------------------------------------------

// A job that records each signal its shell traps, in order, in ./signals: USR1 and USR2 are
// noted and survived, TERM is noted and ends the job. It writes ./ready once the traps are set.
constexpr const char* kTrappingJob =
    "trap 'echo USR1 >> signals' USR1; trap 'echo USR2 >> signals' USR2; "
    "trap 'echo TERM >> signals; exit 0' TERM; touch ready; "
    "while :; do sleep 0.05; done # {}";

// Stopped by a signal to forkpool, the job gets the user's sequence, in order, and nothing of
// the default one (TERM first).
TEST(RunResources, TermseqIsTheSequenceThatStopsAJob) {
  LeakCheck leaks;
  {
    TempDir dir;
    const std::string token = unique_token();
    KillLeftovers cleanup{token};
    Launched forkpool(
        forkpool_launch(dir, {"--termseq", "USR1,100,SIGUSR2,100,TERM,5000,KILL,25",
                              std::string(kTrappingJob) + " # " + token, ":::", "a"}));
    ASSERT_TRUE(eventually([&] { return exists(dir / "ready"); }, kDeadline))
        << read_file(dir / ".stderr");
    ASSERT_EQ(::kill(forkpool.pid(), SIGTERM), 0);
    const std::optional<int> status = forkpool.wait_for(kDeadline);
    ASSERT_TRUE(status.has_value()) << "still running after SIGTERM";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 255) << *status;
    EXPECT_EQ(read_file(dir / "signals"), "USR1\nUSR2\nTERM\n");
    EXPECT_TRUE(eventually([&] { return processes_with(token).empty(); }, 20s))
        << processes_with(token);
  }
  leaks.check();
}

// A --timeout stops the job with the same sequence; the job's own exit status after its trap
// is not a success: the run counts it failed.
TEST(RunResources, TermseqAlsoStopsATimedOutJob) {
  TempDir dir;
  // The timeout is long enough for the shell to set its traps first, however loaded the
  // machine; the job waits for no event, so this is the one test that takes a second.
  Outcome o = run_to_end(forkpool_launch(dir, {"--termseq", "USR2,100,TERM,5000", "--timeout", "1",
                                               kTrappingJob, ":::", "a"}),
                         kDeadline);
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 1) << o.err;
  EXPECT_EQ(read_file(dir / "signals"), "USR2\nTERM\n");
}

// ---- The job gate: --memfree, --load, --limit ------------------------------------------------

// The line `forkpool -v run` logs when the gate first holds a job back.
constexpr const char* kGateWaits = "not starting a job yet: ";

// As GNU parallel: with less memory free than --memfree, no job starts, for as long as that
// lasts; a signal ends the run as usual.
TEST(RunResources, MemfreeAboveAnyMachinesMemoryStartsNothing) {
  LeakCheck leaks;
  {
    TempDir dir;
    Launched forkpool(
        forkpool_launch(dir, {"--memfree", "1000P", "touch started-{}", ":::", "a"}, {"-v"}));
    ASSERT_TRUE(
        eventually([&] { return read_file(dir / ".stderr").find(kGateWaits) != std::string::npos; },
                   kDeadline))
        << read_file(dir / ".stderr");
    EXPECT_NE(read_file(dir / ".stderr").find("of memory free"), std::string::npos);
    ASSERT_EQ(::kill(forkpool.pid(), SIGTERM), 0);
    const std::optional<int> status = forkpool.wait_for(kDeadline);
    ASSERT_TRUE(status.has_value()) << "still running after SIGTERM";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 255) << *status;
    EXPECT_FALSE(exists(dir / "started-a"));
  }
  leaks.check();
}

// --limit's command answers through a file the test writes: 1 holds every job back, 0 lets
// them start.
TEST(RunResources, LimitWaitsWhileTheCommandSaysOne) {
  TempDir dir;
  write_file(dir / "answer", "1\n");
  Launched forkpool(forkpool_launch(
      dir, {"--limit", "exit $(cat answer)", "touch started-{}", ":::", "a", "b"}, {"-v"}));
  ASSERT_TRUE(eventually(
      [&] { return read_file(dir / ".stderr").find(kGateWaits) != std::string::npos; }, kDeadline))
      << read_file(dir / ".stderr");
  EXPECT_NE(read_file(dir / ".stderr").find("--limit command exited with 1"), std::string::npos);
  EXPECT_FALSE(exists(dir / "started-a"));
  write_file(dir / "answer", "0\n");
  const std::optional<int> status = forkpool.wait_for(kDeadline);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << read_file(dir / ".stderr");
  EXPECT_TRUE(exists(dir / "started-a"));
  EXPECT_TRUE(exists(dir / "started-b"));
}

// 2 from --limit's command stops the youngest running job with --termseq, and --retries runs
// it again later, as GNU parallel does. The stopped job's trap answers 0 again, before it
// exits, so no other job is stopped.
TEST(RunResources, LimitTwoStopsTheYoungestJobAndARetryRunsItAgain) {
  LeakCheck leaks;
  {
    TempDir dir;
    const std::string token = unique_token();
    KillLeftovers cleanup{token};
    write_file(dir / "answer", "0\n");
    const std::string job =
        "trap 'echo 0 > answer; echo {} >> stopped; exit 0' TERM; echo {} >> ran; "
        "touch ready-{}; while [ ! -e done ]; do sleep 0.05; done # " +
        token;
    Launched forkpool(forkpool_launch(
        dir, {"-j2", "--retries", "2", "--limit", "exit $(cat answer)", job, ":::", "1", "2"},
        {"-v"}));
    ASSERT_TRUE(
        eventually([&] { return exists(dir / "ready-1") && exists(dir / "ready-2"); }, kDeadline))
        << read_file(dir / ".stderr");
    std::filesystem::remove(dir / "ready-2");
    write_file(dir / "answer", "2\n");
    // Job 2 goes, and comes back.
    ASSERT_TRUE(eventually([&] { return exists(dir / "ready-2"); }, kDeadline))
        << read_file(dir / ".stderr");
    write_file(dir / "done", "");
    const std::optional<int> status = forkpool.wait_for(kDeadline);
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << read_file(dir / ".stderr");
    EXPECT_EQ(read_file(dir / "stopped"), "2\n");
    // Jobs 1 and 2 start together: in either order.
    std::vector<std::string> ran = split_lines(read_file(dir / "ran"));
    std::sort(ran.begin(), ran.end());
    EXPECT_EQ(ran, (std::vector<std::string>{"1", "2", "2"}));
    // Said in the debug log only: GNU parallel says nothing of it.
    EXPECT_NE(read_file(dir / ".stderr").find("was stopped: --limit command exited with 2"),
              std::string::npos)
        << read_file(dir / ".stderr");
  }
  leaks.check();
}

// As GNU parallel 20221122: a job the gate stops (here, without --retries) is not lost: what it
// wrote, its trap's words included, is printed in its turn, its --joblog Exitval is -1, and it
// counts as failed. Nothing is said of it on stderr without -v.
TEST(RunResources, AJobTheLimitStopsHasItsOutputPrintedAndCountsAsFailed) {
  LeakCheck leaks;
  {
    TempDir dir;
    const std::string token = unique_token();
    KillLeftovers cleanup{token};
    write_file(dir / "answer", "0\n");
    const std::string job =
        "echo out{}; trap 'echo 0 > answer; echo trapped{}; touch stopped; exit 0' TERM; "
        "touch ready-{}; while [ ! -e done ]; do sleep 0.05; done; echo end{} # " +
        token;
    Launched forkpool(forkpool_launch(dir, {"-j2", "-k", "--joblog", "log", "--limit",
                                            "exit $(cat answer)", job, ":::", "1", "2"}));
    ASSERT_TRUE(
        eventually([&] { return exists(dir / "ready-1") && exists(dir / "ready-2"); }, kDeadline))
        << read_file(dir / ".stderr");
    write_file(dir / "answer", "2\n");
    ASSERT_TRUE(eventually([&] { return exists(dir / "stopped"); }, kDeadline))
        << read_file(dir / ".stderr");
    write_file(dir / "done", "");
    const std::optional<int> status = forkpool.wait_for(kDeadline);
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << read_file(dir / ".stderr");
    EXPECT_EQ(read_file(dir / ".stdout"), "out1\nend1\nout2\ntrapped2\n");
    EXPECT_EQ(read_file(dir / ".stderr").find("forkpool run:"), std::string::npos)
        << read_file(dir / ".stderr");
    const std::vector<std::string> log = split_lines(read_file(dir / "log"));
    ASSERT_EQ(log.size(), 3u);
    // Seq, Host, Starttime, JobRuntime, Send, Receive, Exitval, Signal, Command.
    auto field = [](const std::string& line, int n) {
      std::size_t at = 0;
      for (int i = 0; i < n; ++i) at = line.find('\t', at) + 1;
      return line.substr(at, line.find('\t', at) - at);
    };
    EXPECT_EQ(field(log[1], 0), "1");
    EXPECT_EQ(field(log[1], 6), "0");
    EXPECT_EQ(field(log[2], 0), "2");
    EXPECT_EQ(field(log[2], 6), "-1");
  }
  leaks.check();
}

// --load FILE, as GNU parallel: the limit is read from the file, and again as it changes. At
// a limit of 1, a spinning job (a thread always running) holds the next job back; a limit no
// machine reaches, written while it waits, lets it start.
TEST(RunResources, LoadFileIsReadAgainAsItChanges) {
  LeakCheck leaks;
  {
    TempDir dir;
    const std::string token = unique_token();
    KillLeftovers cleanup{token};
    write_file(dir / "load", "1000000%\n");
    // Job 1 spins (always running or runnable) until released; job 2 waits politely; job 3
    // only says it started.
    const std::string job =
        "touch started-{}; if [ {} = 1 ]; then while [ ! -e release-1 ]; do :; done; fi; "
        "if [ {} = 2 ]; then while [ ! -e release-2 ]; do sleep 0.01; done; fi # " +
        token;
    Launched forkpool(
        forkpool_launch(dir, {"-j2", "--load", "load", job, ":::", "1", "2", "3"}, {"-v"}));
    ASSERT_TRUE(eventually([&] { return exists(dir / "started-1") && exists(dir / "started-2"); },
                           kDeadline))
        << read_file(dir / ".stderr");
    write_file(dir / "load", "1\n");
    write_file(dir / "release-2", "");
    ASSERT_TRUE(eventually(
        [&] {
          return read_file(dir / ".stderr").find("the load limit is 1\n") != std::string::npos;
        },
        kDeadline))
        << read_file(dir / ".stderr");
    EXPECT_FALSE(exists(dir / "started-3"));
    write_file(dir / "load", "1000000%\n");
    ASSERT_TRUE(eventually([&] { return exists(dir / "started-3"); }, kDeadline))
        << read_file(dir / ".stderr");
    write_file(dir / "release-1", "");
    const std::optional<int> status = forkpool.wait_for(kDeadline);
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << read_file(dir / ".stderr");
  }
  leaks.check();
}

// --limit io N: the first answer comes after a second of measuring (as GNU parallel's iostat
// script); no disk is ever more than 100% busy, so then every job runs.
TEST(RunResources, LimitIoAtAHundredLetsJobsRunAfterMeasuring) {
  TempDir dir;
  Outcome o =
      run_to_end(forkpool_launch(dir, {"-k", "--limit", "io 100", "echo", ":::", "a", "b"}, {"-v"}),
                 kDeadline);
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "a\nb\n");
  EXPECT_NE(o.err.find("measuring the disks' use"), std::string::npos) << o.err;
}

// A load limit no machine reaches lets every job run.
TEST(RunResources, ALoadLimitAboveTheLoadLetsJobsRun) {
  TempDir dir;
  Outcome o = run_to_end(
      forkpool_launch(dir, {"-k", "--load", "100000%", "--memfree", "1k", "echo", ":::", "a", "b"}),
      kDeadline);
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "a\nb\n");
}

}  // namespace
}  // namespace forkpool::testing
