// `forkpool run` end to end, on its own (no reference tool): binary output, grouping, jobs that
// fail or hang, bad command lines, signals, the job environment and long inputs. Each test
// runs the forkpool binary as a child in its own process group and synchronizes on real
// events (files appearing, processes ending); deadlines only detect hangs. Just over 500
// lines: the bad-input cases are a table, and each other test is one behaviour.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cli/run_support.h"
#include "support/leak_check.h"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kDeadline = 60s;  // only detects hangs

bool parallel_setting(const std::string& name) {
  // The variables forkpool sets for its jobs (and GNU parallel's defaults): a test that runs
  // inside a parallel job must not hand them down.
  return name.rfind("PARALLEL", 0) == 0;
}

// forkpool's temporary directory goes in the test's own: a run the test kills with SIGKILL
// cannot remove it, and it must not be left in /tmp.
Launch forkpool_launch(const TempDir& dir, const std::vector<std::string>& args) {
  Launch l;
  l.argv = {FORKPOOL_BINARY, "run"};
  l.argv.insert(l.argv.end(), args.begin(), args.end());
  l.dir = dir.path();
  l.stdout_path = dir / ".stdout";
  l.stderr_path = dir / ".stderr";
  // A HOME of its own: GNU parallel's profiles (~/.parallel/config) must not leak in.
  l.env =
      environment_with(parallel_or_tmpdir_setting, {"TMPDIR=" + dir.path(), "HOME=" + dir.path()});
  return l;
}

// The temporary directories forkpool runs left in `dir`.
int spool_dirs_in(const TempDir& dir) {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    n += entry.path().filename().string().rfind("forkpool-run-", 0) == 0 ? 1 : 0;
  return n;
}

Outcome run_forkpool(const TempDir& dir, const std::vector<std::string>& args,
                     const std::string& stdin_path = "/dev/null") {
  Launch l = forkpool_launch(dir, args);
  l.stdin_path = stdin_path;
  return run_to_end(l, kDeadline);
}

// ---- Output -----------------------------------------------------------------------------------

TEST(RunE2e, BinaryOutputArrivesWholeAndInOrderWithKeepOrder) {
  TempDir dir;
  // Every byte value, no line structure: nothing may be translated, split or reordered.
  std::mt19937_64 rng(20221122);
  std::string expected;
  std::vector<std::string> args = {"-k", "-j4", "cat", ":::"};
  for (int i = 1; i <= 4; ++i) {
    std::string bytes(3'000'000, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    const std::string name = "f" + std::to_string(i);
    write_file(dir / name, bytes);
    expected += bytes;
    args.push_back(name);
  }
  Outcome o = run_forkpool(dir, args);
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(o.out == expected) << describe_difference(expected, o.out);
  EXPECT_EQ(o.err, "");
}

// A job that writes 2000 numbered lines, pausing now and then so that its neighbours run
// in between: any interleaving a runner allows would show.
constexpr int kLinesPerJob = 2000;
const char* const kChattyJob =
    "i=0; while [ $i -lt 2000 ]; do echo \"job{} line$i\"; i=$((i+1)); "
    "if [ $((i % 250)) -eq 0 ]; then sleep 0.01; fi; done";

struct ParsedLine {
  int job;
  int line;
};

std::vector<ParsedLine> parse_chatty_output(const std::string& out) {
  std::vector<ParsedLine> parsed;
  for (const std::string& l : split_lines(out)) {
    std::vector<std::string> m;
    if (!full_match("job([0-9]+) line([0-9]+)", l, &m)) {
      ADD_FAILURE() << "a broken or foreign line: '" << l << "'";
      continue;
    }
    parsed.push_back({std::stoi(m[0]), std::stoi(m[1])});
  }
  return parsed;
}

TEST(RunE2e, GroupedOutputNeverInterleaves) {
  TempDir dir;
  Outcome o = run_forkpool(dir, {"-j4", kChattyJob, ":::", "1", "2", "3", "4", "5", "6", "7", "8"});
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  const std::vector<ParsedLine> lines = parse_chatty_output(o.out);
  ASSERT_EQ(lines.size(), 8u * kLinesPerJob);
  // Eight blocks, one per job, each the job's lines 0..1999 in order, in whatever job order.
  std::set<int> jobs_seen;
  for (std::size_t block = 0; block < 8; ++block) {
    const int job = lines[block * kLinesPerJob].job;
    EXPECT_TRUE(jobs_seen.insert(job).second) << "job " << job << " appears in two blocks";
    for (int i = 0; i < kLinesPerJob; ++i) {
      const ParsedLine& l = lines[block * kLinesPerJob + static_cast<std::size_t>(i)];
      ASSERT_TRUE(l.job == job && l.line == i) << "block " << block << " (job " << job << "), line "
                                               << i << ": got job" << l.job << " line" << l.line;
    }
  }
  EXPECT_EQ(jobs_seen, (std::set<int>{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(RunE2e, LineBufferNeverSplitsALine) {
  TempDir dir;
  Outcome o = run_forkpool(
      dir, {"-j4", "--line-buffer", kChattyJob, ":::", "1", "2", "3", "4", "5", "6", "7", "8"});
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  // Lines of different jobs may alternate, but every line is whole and each job's lines keep
  // their order.
  std::map<int, int> next_line;
  for (const ParsedLine& l : parse_chatty_output(o.out)) {
    EXPECT_EQ(l.line, next_line[l.job]) << "job" << l.job;
    next_line[l.job] = l.line + 1;
  }
  for (int job = 1; job <= 8; ++job) EXPECT_EQ(next_line[job], kLinesPerJob) << "job" << job;
}

TEST(RunE2e, WillCiteIsAcceptedAndIgnored) {
  TempDir dir;
  // Scripts written for GNU parallel pass it; forkpool has no citation notice to silence.
  Outcome o = run_forkpool(dir, {"--will-cite", "-k", "echo", ":::", "a", "b"});
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "a\nb\n");
  EXPECT_EQ(o.err, "");
}

// ---- Failing, timed-out and killed jobs -------------------------------------------------------

TEST(RunE2e, NothingIsLostWhenJobsFailTimeOutOrAreKilled) {
  TempDir dir;
  const std::string token = unique_token();
  KillLeftovers cleanup{token};
  // Each job prints its name first; then it succeeds, fails, SIGKILLs its own shell, or
  // hangs far longer than --timeout (and its `sleep` must be killed with it, or the job's
  // output pipe would stay open for 30 s).
  const std::string job =
      "case {} in ok*) echo {};; fail*) echo {}; exit 1;; "
      "kill*) echo {}; kill -9 $$;; "
      "hang*) echo {}; sleep 30." +
      token + "; echo never;; esac";
  Outcome o = run_forkpool(dir, {"-k", "-j4", "--timeout", "2", job, ":::", "ok1", "fail1", "kill1",
                                 "hang1", "ok2", "ok3", "fail2", "ok4"});
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.out, "ok1\nfail1\nkill1\nhang1\nok2\nok3\nfail2\nok4\n");
  EXPECT_EQ(o.exit_code, 4) << "two failures, one kill, one timeout; stderr:\n" << o.err;
  EXPECT_LT(o.elapsed, 20s) << "the timed-out job's sleep was waited for";
  EXPECT_TRUE(eventually([&] { return processes_with(token).empty(); }, 20s))
      << processes_with(token);
}

// ---- Bad command lines ------------------------------------------------------------------------

struct BadInput {
  const char* name;
  std::vector<std::string> args;      // after `run`; each job would create a file "started*"
  std::vector<std::string> env = {};  // NAME=VALUE added to forkpool's environment
};

void PrintTo(const BadInput& b, std::ostream* out) { *out << b.name; }

const std::vector<BadInput>& bad_inputs() {
  static const std::vector<BadInput> all = {
      {"UnknownOption", {"--no-such-option", "touch started", ":::", "a"}},
      // An empty replacement string hung the expansion (found by run_args_fuzz).
      {"EmptyReplacementString", {"-I", "", "touch started", ":::", "a"}},
      {"EmptyRplString", {"--rpl", " s/a/b/", "touch started", ":::", "a"}},
      {"MissingArgumentFile", {"touch started-{}", "::::", "missing.txt"}},
      // A good source before the bad one: still nothing may run.
      {"MissingFileAfterAGoodSource", {"touch started-{}", ":::", "a", "::::", "missing.txt"}},
      {"MissingArgFileOption", {"-a", "missing.txt", "touch started-{}"}},
      // A directory cannot be read as input, even by root.
      {"DirectoryAsArgumentFile", {"touch started-{}", "::::", "a-directory"}},
      {"UnreadableArgumentFile", {"touch started-{}", "::::", "unreadable.txt"}},
      // A {= perl =} that perl cannot compile: refused before any job.
      {"PerlReplacementStringSyntaxError", {"touch started-{= s/a/ =}", ":::", "a"}},
      {"PerlReplacementStringInTagstring", {"--tagstring", "{= ( =}", "touch started", ":::", "a"}},
      {"RplBadGroupRegex", {"--rpl", "{x(()} s/a/b/", "touch started", ":::", "a"}},
      {"HaltNonsense", {"--halt", "nonsense", "touch started", ":::", "a"}},
      {"JobsNonsense", {"-j", "nonsense", "touch started", ":::", "a"}},
      {"TimeoutNonsense", {"--timeout", "soon", "touch started", ":::", "a"}},
      {"BadColsepRegex", {"--colsep", "a(", "touch started", ":::", "a"}},
      // A --results table that cannot be written (even by root): refused before any job.
      {"ResultsCsvUnwritable", {"--results", "missing/out.csv", "touch started", ":::", "a"}},
      {"ResultsTsvIntoAFile", {"--results", "a-file/out.tsv", "touch started", ":::", "a"}},
      {"ResultsJsonIsADirectory", {"--results", "a-directory.json", "touch started", ":::", "a"}},
      {"ResultsEmptyName", {"--results", "", "touch started", ":::", "a"}},
      {"JoblogPlusWithoutName", {"--joblog", "+", "touch started", ":::", "a"}},
      {"AmbiguousAbbreviation", {"--ta", "touch started", ":::", "a"}},
      {"AbbreviationOfAnUnsupportedOption", {"--sqlm", "x", "touch started", ":::", "a"}},
      {"UnsupportedGnuOption", {"--sql-master", "x", "touch started", ":::", "a"}},
      {"UnsupportedGnuShortOption", {"-Y", "touch started", ":::", "a"}},
      {"EnvUnderscoreWithoutRecordEnv", {"--env", "_", "touch started", ":::", "a"}},
      {"MissingProfile", {"-J", "no-such-profile", "touch started", ":::", "a"}},
      {"ParallelShellNotFound", {"touch started", ":::", "a"}, {"PARALLEL_SHELL=no-such-shell"}},
      // Quoting for csh is not done for other hosts (./tcsh is an executable the test makes),
      // nor for rc.
      {"ParallelShellIsCshWithRemoteJobs",
       {"-S", "somehost", "touch started", ":::", "a"},
       {"PARALLEL_SHELL=./tcsh"}},
      {"ParallelShellIsRc", {"touch started", ":::", "a"}, {"PARALLEL_SHELL=./rc"}},
      {"BadOptionInParallelEnv", {"touch started", ":::", "a"}, {"PARALLEL=--no-such-option"}},
      {"ParensTooShort", {"--parens", "x", "touch started", ":::", "a"}},
      {"CsvEmptyColsep", {"--csv", "--colsep", "", "touch started", ":::", "a"}},
      {"CsvQuoteAsColsep", {"--csv", "--colsep", "\"", "touch started", ":::", "a"}},
      {"CsvBadFirstRecord", {"--csv", "touch started-{}", ":::", "a\"b"}},
  };
  return all;
}

class RunBadInputTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(RunBadInputTest, OneLineOnStderrExit255AndNoJobStarted) {
  TempDir dir;
  std::filesystem::create_directory(dir / "a-directory");
  std::filesystem::create_directory(dir / "a-directory.json");
  write_file(dir / "a-file", "");
  for (const char* shell : {"tcsh", "rc"}) {
    write_file(dir / shell, "#!/bin/sh\nexec /bin/sh \"$@\"\n");
    ::chmod((dir / shell).c_str(), 0755);
  }
  write_file(dir / "unreadable.txt", "a\n");
  ::chmod((dir / "unreadable.txt").c_str(), 0);
  if (std::string(GetParam().name) == "UnreadableArgumentFile" &&
      ::access((dir / "unreadable.txt").c_str(), R_OK) == 0) {
    GTEST_SKIP() << "chmod 000 does not stop this user (root) from reading; "
                    "DirectoryAsArgumentFile covers unreadable input";
  }
  Launch l = forkpool_launch(dir, GetParam().args);
  l.env->insert(l.env->end(), GetParam().env.begin(), GetParam().env.end());
  Outcome o = run_to_end(l, kDeadline);
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 255) << o.err;
  EXPECT_EQ(o.err.rfind("forkpool run: ", 0), 0u) << o.err;
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
  EXPECT_EQ(o.err.back(), '\n') << o.err;
  EXPECT_EQ(o.out, "");
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_NE(e.path().filename().string().rfind("started", 0), 0u)
        << "a job ran: " << e.path().filename();
  }
}

INSTANTIATE_TEST_SUITE_P(RunE2e, RunBadInputTest, ::testing::ValuesIn(bad_inputs()),
                         [](const auto& info) { return std::string(info.param.name); });

// A $TMPDIR that cannot hold the run's temporary directory (the spool directory, and --pipe's
// own): one line naming it and why, before any job.
TEST(RunE2e, AMissingOrUnusableTmpdirIsOneLineNamingItAndNoJobStarts) {
  TempDir dir;
  write_file(dir / "a-file", "");
  write_file(dir / "input", "x\n");
  const std::vector<std::pair<std::string, std::string>> tmpdirs = {
      {dir / "missing", "No such file or directory"}, {dir / "a-file", "Not a directory"}};
  const std::vector<std::vector<std::string>> runs = {{"touch started", ":::", "a"},
                                                      {"--pipe", "touch started"},
                                                      {"--pipe", "--cat", "touch started"}};
  for (const auto& [tmpdir, reason] : tmpdirs) {
    for (const std::vector<std::string>& args : runs) {
      Launch l = forkpool_launch(dir, args);
      l.stdin_path = dir / "input";
      std::replace(l.env->begin(), l.env->end(), "TMPDIR=" + dir.path(), "TMPDIR=" + tmpdir);
      Outcome o = run_to_end(l, kDeadline);
      ASSERT_FALSE(o.hung) << args[0];
      EXPECT_EQ(o.exit_code, 255) << args[0];
      EXPECT_EQ(o.err, "forkpool run: cannot create a temporary directory in " + tmpdir + ": " +
                           reason + "\n")
          << args[0];
      EXPECT_FALSE(std::filesystem::exists(dir / "started")) << args[0];
    }
  }
}

// Those of `processes` still running, as "PID: cmdline" lines; "" when none is.
std::string running(const std::vector<ProcessId>& processes) {
  std::string found;
  for (const ProcessId& p : processes) {
    if (!still_running(p)) continue;
    std::string cmdline = read_file("/proc/" + std::to_string(p.pid) + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    found += std::to_string(p.pid) + ": " + cmdline + "\n";
  }
  return found;
}

// ---- Signals ----------------------------------------------------------------------------------

// forkpool runs four jobs two at a time; each writes started_<arg> and then sleeps for five
// minutes. Returns once the first two have started.
struct SleepingRun {
  TempDir dir;
  std::string token = unique_token();
  KillLeftovers cleanup{token};
  std::optional<Launched> forkpool;

  SleepingRun() {
    const std::string job = "echo started > started_{}; sleep 300." + token + "; echo never";
    forkpool.emplace(forkpool_launch(dir, {"-j2", job, ":::", "1", "2", "3", "4"}));
  }
  bool first_two_started() {
    return eventually([&] { return exists(dir / "started_1") && exists(dir / "started_2"); }, 30s);
  }
};

class RunSignalTest : public ::testing::TestWithParam<int> {};

TEST_P(RunSignalTest, StopsItsJobsAndExits255) {
  LeakCheck leaks;
  {
    SleepingRun run;
    ASSERT_TRUE(run.first_two_started()) << read_file(run.dir / ".stderr");
    const std::vector<ProcessId> descendants = descendants_of(run.forkpool->pid());
    ASSERT_FALSE(descendants.empty());
    // To forkpool alone, as `kill PID` would: not to its process group, which would signal
    // the jobs directly and hide a runner that forgets them.
    ASSERT_EQ(::kill(run.forkpool->pid(), GetParam()), 0);
    const std::optional<int> status = run.forkpool->wait_for(20s);
    ASSERT_TRUE(status.has_value()) << "still running 20 s after the signal";
    // As GNU parallel 20221122: 255 after SIGINT or SIGTERM, not the shell's 128 + N.
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 255)
        << "wait status " << *status << " (exit code "
        << (WIFEXITED(*status) ? WEXITSTATUS(*status) : -1) << ")";
    EXPECT_TRUE(eventually([&] { return processes_with(run.token).empty(); }, 20s))
        << "jobs left running:\n"
        << processes_with(run.token);
    EXPECT_TRUE(eventually([&] { return running(descendants).empty(); }, 20s))
        << "processes forkpool started are still running:\n"
        << running(descendants);
    // Interrupted means no new jobs either.
    EXPECT_FALSE(exists(run.dir / "started_3"));
    EXPECT_FALSE(exists(run.dir / "started_4"));
    EXPECT_EQ(spool_dirs_in(run.dir), 0) << "the temporary directory outlived the run";
  }
  leaks.check();
}

INSTANTIATE_TEST_SUITE_P(RunE2e, RunSignalTest, ::testing::Values(SIGINT, SIGTERM),
                         [](const auto& info) {
                           return std::string(info.param == SIGINT ? "SIGINT" : "SIGTERM");
                         });

// SIGHUP, as GNU parallel 20221122 takes it: no new job starts, the running ones finish and
// are printed, and the run exits as it would have (0 here), saying what it waits for.
TEST(RunE2e, SighupStartsNoNewJobsAndLetsTheRunningOnesFinish) {
  LeakCheck leaks;
  {
    TempDir dir;
    // Each job holds until the test creates `release`.
    const std::string job =
        "echo started > started_{}; while [ ! -e release ]; do sleep 0.01; done; echo done{}";
    Launched forkpool(forkpool_launch(dir, {"-j2", "-k", job, ":::", "1", "2", "3", "4"}));
    ASSERT_TRUE(
        eventually([&] { return exists(dir / "started_1") && exists(dir / "started_2"); }, 30s))
        << read_file(dir / ".stderr");
    ASSERT_EQ(::kill(forkpool.pid(), SIGHUP), 0);
    ASSERT_TRUE(eventually(
        [&] {
          return read_file(dir / ".stderr").find("Send SIGTERM to stop now.") != std::string::npos;
        },
        30s))
        << read_file(dir / ".stderr");
    write_file(dir / "release", "");
    const std::optional<int> status = forkpool.wait_for(30s);
    ASSERT_TRUE(status.has_value()) << "still running after its jobs were released";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
    EXPECT_EQ(read_file(dir / ".stdout"), "done1\ndone2\n");
    const std::string err = read_file(dir / ".stderr");
    EXPECT_NE(err.find("forkpool run: SIGHUP received. No new jobs will be started.\n"),
              std::string::npos)
        << err;
    EXPECT_NE(err.find("forkpool run: Waiting for these 2 jobs to finish."), std::string::npos)
        << err;
    EXPECT_FALSE(exists(dir / "started_3"));
    EXPECT_FALSE(exists(dir / "started_4"));
  }
  leaks.check();
}

// A second SIGHUP says GNU parallel's messages again and changes nothing else; a SIGTERM after
// them stops the running jobs now, and the run exits 255, as GNU parallel 20221122 does.
TEST(RunE2e, SighupTwiceThenSigtermStopsTheJobsAndExits255) {
  LeakCheck leaks;
  {
    SleepingRun run;
    ASSERT_TRUE(run.first_two_started()) << read_file(run.dir / ".stderr");
    auto said = [&](std::size_t times) {
      return eventually(
          [&] {
            const std::string err = read_file(run.dir / ".stderr");
            std::size_t n = 0;
            for (auto at = err.find("Send SIGTERM to stop now."); at != std::string::npos;
                 at = err.find("Send SIGTERM to stop now.", at + 1))
              ++n;
            return n == times;
          },
          30s);
    };
    ASSERT_EQ(::kill(run.forkpool->pid(), SIGHUP), 0);
    ASSERT_TRUE(said(1)) << read_file(run.dir / ".stderr");
    ASSERT_EQ(::kill(run.forkpool->pid(), SIGHUP), 0);
    ASSERT_TRUE(said(2)) << read_file(run.dir / ".stderr");
    ASSERT_EQ(::kill(run.forkpool->pid(), SIGTERM), 0);
    const std::optional<int> status = run.forkpool->wait_for(20s);
    ASSERT_TRUE(status.has_value()) << "still running 20 s after SIGTERM";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 255) << *status;
    EXPECT_TRUE(eventually([&] { return processes_with(run.token).empty(); }, 20s))
        << processes_with(run.token);
    EXPECT_EQ(read_file(run.dir / ".stdout"), "");  // a stopped job's output is not printed
    EXPECT_FALSE(exists(run.dir / "started_3"));
  }
  leaks.check();
}

TEST(RunE2e, JobsAndWorkersDieWhenForkpoolIsKilled) {
  LeakCheck leaks;
  {
    SleepingRun run;
    ASSERT_TRUE(run.first_two_started()) << read_file(run.dir / ".stderr");
    // Everything forkpool started, jobs and any worker processes between it and them.
    const std::vector<ProcessId> descendants = descendants_of(run.forkpool->pid());
    ASSERT_FALSE(descendants.empty());
    ASSERT_EQ(::kill(run.forkpool->pid(), SIGKILL), 0);
    const std::optional<int> status = run.forkpool->wait_for(20s);
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL) << *status;
    // Nothing can clean up after a SIGKILL but the children themselves (a parent-death
    // signal, or EOF on a pipe from forkpool): give them time, but not five minutes.
    EXPECT_TRUE(eventually([&] { return processes_with(run.token).empty(); }, 30s))
        << "jobs left running:\n"
        << processes_with(run.token);
    EXPECT_TRUE(eventually([&] { return running(descendants).empty(); }, 30s))
        << "processes forkpool started are still running:\n"
        << running(descendants);
  }
  leaks.check();
}

// ---- The job environment ----------------------------------------------------------------------

// -j FILE, as GNU parallel: the slot count is read from the file, and again as it changes (here
// at each job's end). Grown from 1 to 3, it runs three jobs at once, in slots of their own;
// shrunk to 1, it starts no job until every running one has ended. Each job logs its start
// (with its slot) and end, and holds until the test creates its release file.
TEST(RunE2e, JobsFileGrowsAndShrinksTheSlotsDuringTheRun) {
  LeakCheck leaks;
  {
    TempDir dir;
    const std::string slots = dir.file("slots", "1\n");
    dir.file("release-5", "");
    dir.file("release-6", "");
    const std::string job =
        "echo s{} $PARALLEL_JOBSLOT >> log; touch started-{}; "
        "while [ ! -e release-{} ]; do sleep 0.01; done; echo e{} >> log";
    Launched forkpool(
        forkpool_launch(dir, {"-j", slots, job, ":::", "1", "2", "3", "4", "5", "6"}));
    ASSERT_TRUE(eventually([&] { return exists(dir / "started-1"); }, 30s))
        << read_file(dir / ".stderr");
    EXPECT_FALSE(exists(dir / "started-2"));  // one slot, taken by job 1
    write_file(slots, "3\n");
    dir.file("release-1", "");
    ASSERT_TRUE(eventually(
        [&] {
          return exists(dir / "started-2") && exists(dir / "started-3") &&
                 exists(dir / "started-4");
        },
        30s))
        << read_file(dir / ".stderr");
    write_file(slots, "1\n");
    // Job 2 holds slot 1 (the one job 1 freed): its end frees a slot within the new count
    // while jobs 3 and 4 still run.
    dir.file("release-2", "");
    ASSERT_TRUE(
        eventually([&] { return read_file(dir / "log").find("e2") != std::string::npos; }, 30s));
    dir.file("release-3", "");
    dir.file("release-4", "");
    const std::optional<int> status = forkpool.wait_for(30s);
    ASSERT_TRUE(status.has_value()) << "still running after every job was released";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << read_file(dir / ".stderr");
    const std::vector<std::string> log = split_lines(read_file(dir / "log"));
    auto at = [&](const std::string& prefix) {
      for (std::size_t i = 0; i < log.size(); ++i)
        if (log[i].rfind(prefix, 0) == 0) return i;
      ADD_FAILURE() << prefix << " not in the log:\n" << read_file(dir / "log");
      return log.size();
    };
    // Grown: jobs 2, 3 and 4 all started before any of them ended, each in a slot of its own.
    for (const char* start : {"s2", "s3", "s4"})
      for (const char* end : {"e2", "e3", "e4"}) EXPECT_LT(at(start), at(end));
    const std::set<std::string> slots_used = {log[at("s2")].substr(3), log[at("s3")].substr(3),
                                              log[at("s4")].substr(3)};
    EXPECT_EQ(slots_used.size(), 3u) << read_file(dir / "log");
    // Shrunk: job 5 waited for all three, and job 6 for job 5.
    for (const char* end : {"e2", "e3", "e4"}) EXPECT_GT(at("s5"), at(end));
    EXPECT_GT(at("s6"), at("e5"));
  }
  leaks.check();
}

// A -j FILE that does not hold a -j value: one line naming the file, exit 255, no job.
TEST(RunE2e, JobsFileWithoutAJobsValueIsRefused) {
  TempDir dir;
  const std::string slots = dir.file("slots", "many\n");
  Outcome o = run_forkpool(dir, {"-j", slots, "touch started-{}", ":::", "a"});
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 255);
  EXPECT_EQ(o.err, "forkpool run: -j " + slots + ": the file holds 'many', not N, N%, +N or -N\n");
  EXPECT_FALSE(exists(dir / "started-a"));
}

TEST(RunE2e, ParallelSeqAndJobslotAreSetAndSlotsAreNeverShared) {
  TempDir dir;
  // mkdir is atomic: a job that finds its slot's directory already there shares the slot with
  // a running job. Each job holds its slot for a moment so that the slots overlap in time.
  const std::string job =
      "echo \"$PARALLEL_SEQ $PARALLEL_JOBSLOT {#} {%}\"; "
      "mkdir slot_$PARALLEL_JOBSLOT 2>/dev/null || echo \"clash $PARALLEL_JOBSLOT\"; "
      "sleep 0.05; rmdir slot_$PARALLEL_JOBSLOT";
  std::vector<std::string> args = {"-j3", job, ":::"};
  for (int i = 1; i <= 30; ++i) args.push_back(std::to_string(i));
  Outcome o = run_forkpool(dir, args);
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  std::vector<int> seqs;
  std::set<int> slots;
  for (const std::string& l : split_lines(o.out)) {
    std::vector<std::string> m;
    ASSERT_TRUE(full_match("([0-9]+) ([0-9]+) ([0-9]+) ([0-9]+)", l, &m))
        << "unexpected line: '" << l << "'";
    EXPECT_EQ(m[0], m[2]) << "PARALLEL_SEQ differs from {#}: " << l;
    EXPECT_EQ(m[1], m[3]) << "PARALLEL_JOBSLOT differs from {%}: " << l;
    seqs.push_back(std::stoi(m[0]));
    const int slot = std::stoi(m[1]);
    EXPECT_TRUE(slot >= 1 && slot <= 3) << l;
    slots.insert(slot);
  }
  std::sort(seqs.begin(), seqs.end());
  std::vector<int> expected(30);
  for (int i = 0; i < 30; ++i) expected[static_cast<std::size_t>(i)] = i + 1;
  EXPECT_EQ(seqs, expected);
  EXPECT_EQ(slots, (std::set<int>{1, 2, 3}));
}

// ---- Long inputs ------------------------------------------------------------------------------

std::string numbered_lines(int count) {
  std::string text;
  for (int i = 1; i <= count; ++i) text += "line" + std::to_string(i) + "\n";
  return text;
}

TEST(RunE2e, StreamsTwoHundredThousandLinesInOrder) {
  TempDir dir;
  // A thousand arguments per job: 200 jobs instead of 200,000 shells keeps the test to a few
  // seconds, while the whole input still goes through the reader and the ordered output.
  const std::string input = numbered_lines(200'000);
  write_file(dir / "input.txt", input);
  Outcome o = run_forkpool(dir, {"-k", "-n", "1000", "printf '%s\\n'"}, dir / "input.txt");
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(o.out == input) << describe_difference(input, o.out);
}

TEST(RunE2e, OneJobPerLineKeepsOrder) {
  TempDir dir;
  const std::string input = numbered_lines(1'000);
  write_file(dir / "input.txt", input);
  Outcome o = run_forkpool(dir, {"-k", "echo"}, dir / "input.txt");
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(o.out == input) << describe_difference(input, o.out);
}

// With -k, finished output that waits for a slow earlier job holds back new jobs once it
// passes the limit (1 byte here): job 1 waits up to 3 s for job 3 to create its file, and
// job 2's output is held meanwhile, so job 3 must not start before job 1 ends.
TEST(RunE2e, HeldOutputHoldsBackNewJobs) {
  TempDir dir;
  Launch l = forkpool_launch(dir, {"-k", "-j2",
                                   "case {} in 1) i=0; while [ $i -lt 30 ] && ! [ -e three ]; do "
                                   "sleep 0.1; i=$((i+1)); done; [ -e three ] && echo saw || echo "
                                   "alone;; 2) echo two;; 3) touch three; echo three;; esac",
                                   ":::", "1", "2", "3"});
  l.env = environment_with(parallel_setting, {"FORKPOOL_RUN_HELD_OUTPUT_LIMIT=1"});
  Outcome o = run_to_end(l, kDeadline);
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "alone\ntwo\nthree\n");
}

// A failed job's retry is the job the held output waits for: it must start even when the
// held output is over the limit, or the run waits for ever.
TEST(RunE2e, ARetryStartsWhileHeldOutputWaitsForIt) {
  TempDir dir;
  Launch l = forkpool_launch(
      dir, {"-k", "-j2", "--retries", "3",
            "if [ {} = a ] && ! [ -e tried ]; then touch tried; sleep 0.5; exit 1; fi; echo {}",
            ":::", "a", "b", "c", "d"});
  l.env = environment_with(parallel_setting, {"FORKPOOL_RUN_HELD_OUTPUT_LIMIT=1"});
  Outcome o = run_to_end(l, kDeadline);
  ASSERT_FALSE(o.hung) << "the retry never started";
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "a\nb\nc\nd\n");
}

// --bar, --eta and --progress report on stderr, and only when asked; stdout is untouched.
TEST(RunE2e, ProgressGoesToStderrOnlyWhenAsked) {
  TempDir dir;
  Outcome bar = run_forkpool(dir, {"--bar", "--eta", "-k", "echo", ":::", "a", "b", "c"});
  ASSERT_FALSE(bar.hung);
  EXPECT_EQ(bar.exit_code, 0) << bar.err;
  EXPECT_EQ(bar.out, "a\nb\nc\n");
  EXPECT_NE(bar.err.find("100% 3/3 done, 0 running, 0 failed"), std::string::npos) << bar.err;
  EXPECT_NE(bar.err.find("ETA"), std::string::npos) << bar.err;
  Outcome progress = run_forkpool(dir, {"--progress", "-k", "sh -c 'exit {}'", ":::", "0", "1"});
  EXPECT_EQ(progress.exit_code, 1);
  EXPECT_NE(progress.err.find("2 done, 0 running, 1 failed\n"), std::string::npos) << progress.err;
  Outcome quiet = run_forkpool(dir, {"-k", "echo", ":::", "a"});
  EXPECT_EQ(quiet.out, "a\n");
  EXPECT_EQ(quiet.err, "");
}

}  // namespace
}  // namespace forkpool::testing
