// `forkpool run` used as a hostile user would: a reader that goes away, standard descriptors
// that are closed or unwritable, a worker killed with SIGKILL while its job has children, job
// output far larger than memory should hold, absurd option values, an unusable --results
// directory. Real processes and real descriptors; deadlines only detect hangs.
//
// To watch them catch an older build: FORKPOOL_TEST_SUBJECT=/path/to/old/forkpool
//   cli_compat_tests --gtest_filter='RunHostile.*'
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "cli/run_support.h"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kDeadline = 60s;      // only detects hangs
constexpr auto kBigDeadline = 240s;  // the same, for hundreds of megabytes on a busy machine

bool parallel_setting(const std::string& name) { return name.rfind("PARALLEL", 0) == 0; }

// The forkpool binary under test.
std::string subject() {
  const char* other = std::getenv("FORKPOOL_TEST_SUBJECT");
  return other != nullptr && *other != '\0' ? other : FORKPOOL_BINARY;
}

// Runs `script` with /bin/bash -c in `dir`, where "$F" is the forkpool binary: for the
// pipelines and descriptor games a Launch cannot express.
Outcome run_script(const TempDir& dir, const std::string& script,
                   const std::vector<std::string>& env = {},
                   std::chrono::milliseconds deadline = kDeadline) {
  Launch l;
  l.argv = {"/bin/bash", "-c", script};
  l.dir = dir.path();
  std::vector<std::string> add = {"F=" + subject()};
  add.insert(add.end(), env.begin(), env.end());
  l.env = environment_with(parallel_setting, add);
  return run_to_end(l, deadline);
}

// ---- Item 1: a reader that goes away ------------------------------------------------------

// GNU parallel exits 141 (SIGPIPE's status) when its stdout's reader is gone; forkpool with
// --line-buffer spun for ever on EPIPE, or exited 0 having lost the output.
TEST(RunHostile, LineBufferExits141WhenItsReaderGoesAway) {
  TempDir dir;
  const std::string token = unique_token();
  KillLeftovers cleanup{token};
  for (const std::string job : {"yes {} | head -c 10000000 #", "seq 100000 # {}"}) {
    Outcome o = run_script(dir, "\"$F\" run --line-buffer '" + job + " " + token +
                                    "' ::: 1 2 | head -1; "
                                    "echo \"status=${PIPESTATUS[0]}\"");
    ASSERT_FALSE(o.hung) << job << ": forkpool never ended";
    // Either job's first line may come first: they run at the same time.
    EXPECT_TRUE(full_match("[12]\nstatus=141\n", o.out)) << job << ": " << o.out << o.err;
  }
  EXPECT_TRUE(eventually([&] { return processes_with(token).empty(); }, 30s))
      << processes_with(token);
}

// Grouped and -k output meets the gone reader in forkpool itself: it stops, removes its
// temporary files (a job's output past 1 MiB goes through one) and exits 141.
//
// The listing leaves out tsan.rodata.PID: ThreadSanitizer's runtime creates that file in
// $TMPDIR as a worker starts and unlinks it a moment later, so a worker that forkpool kills
// in that moment (the second one, still starting when the reader goes) leaves it behind.
TEST(RunHostile, GroupedOutputExits141AndCleansUpWhenItsReaderGoesAway) {
  TempDir dir;
  for (const std::string options : {"", "-k"}) {
    Outcome o = run_script(dir,
                           "mkdir -p tmp; \"$F\" run " + options +
                               " 'seq 1000000 # {}' ::: 1 2 | head -1; "
                               "echo \"status=${PIPESTATUS[0]}\"; "
                               "ls -A tmp | grep -v '^tsan[.]rodata[.][0-9]*$'",
                           {"TMPDIR=" + dir.path() + "/tmp"});
    ASSERT_FALSE(o.hung) << options;
    EXPECT_EQ(o.out, "1\nstatus=141\n") << options << "\n" << o.err;
  }
}

// ---- Item 2: a worker killed with SIGKILL -------------------------------------------------

pid_t parent_of(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  if (close == std::string::npos) return 0;
  char state = 0;
  pid_t ppid = 0;
  std::sscanf(line.c_str() + close + 2, "%c %d", &state, &ppid);
  return ppid;
}

// The OOM killer's way: the worker dies at once, with no handler that could run. Its job and
// the job's background children must die with it.
TEST(RunHostile, AJobAndItsChildrenDieWithAWorkerKilledBySigkill) {
  TempDir dir;
  const std::string token = unique_token();
  KillLeftovers cleanup{token};
  Launch l;
  l.argv = {subject(),
            "run",
            "-j1",
            "sleep 700." + token + " & sleep 800." + token +
                " & echo started > started; wait "
                "# {}",
            ":::",
            "1"};
  l.dir = dir.path();
  l.stdout_path = dir / ".stdout";
  l.stderr_path = dir / ".stderr";
  l.env = environment_with(parallel_setting, {});
  Launched forkpool(l);
  ASSERT_TRUE(eventually([&] { return exists(dir / "started"); }, kDeadline));
  // The job's two sleeps, and the worker between forkpool and the job's shell.
  pid_t worker = 0;
  for (const ProcessId& p : descendants_of(forkpool.pid())) {
    if (parent_of(p.pid) != forkpool.pid()) continue;
    const std::string cmdline = read_file("/proc/" + std::to_string(p.pid) + "/cmdline");
    if (cmdline.find("--forkpool-worker") != std::string::npos) worker = p.pid;
  }
  ASSERT_GT(worker, 0);
  ASSERT_EQ(::kill(worker, SIGKILL), 0);
  const std::optional<int> status = forkpool.wait_for(kDeadline);
  ASSERT_TRUE(status.has_value()) << "forkpool never ended";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << *status;
  EXPECT_NE(read_file(dir / ".stderr").find("was lost"), std::string::npos)
      << read_file(dir / ".stderr");
  EXPECT_TRUE(eventually([&] { return processes_with(token).empty(); }, 30s))
      << "the job outlived its worker:\n"
      << processes_with(token);
}

// ---- Item 3: standard descriptors closed or unwritable ------------------------------------

constexpr const char* kSideEffects =
    "\"$F\" run -j2 -k 'echo err{} >&2; touch side/{}; echo out{}' ::: $(seq 10)";

std::string numbered(const std::string& word) {
  std::string text;
  for (int i = 1; i <= 10; ++i) text += word + std::to_string(i) + "\n";
  return text;
}

int files_in(const std::string& dir) {
  int n = 0;
  for (int i = 1; i <= 10; ++i) n += exists(dir + "/" + std::to_string(i)) ? 1 : 0;
  return n;
}

// GNU parallel runs all ten jobs and exits 0 whatever happened to stderr; forkpool printed a
// line, exited 255 and never started jobs 4-10.
TEST(RunHostile, AnUnwritableOrClosedStderrLosesMessagesNotJobs) {
  for (const std::string redirect : {"2>/dev/full", "2>&-"}) {
    TempDir dir;
    Outcome o = run_script(dir, std::string("mkdir side; ") + kSideEffects + " " + redirect);
    ASSERT_FALSE(o.hung) << redirect;
    EXPECT_EQ(o.exit_code, 0) << redirect;
    EXPECT_EQ(o.out, numbered("out")) << redirect;
    EXPECT_EQ(files_in(dir / "side"), 10) << redirect;
  }
}

// With stdout closed, the job output went into whatever descriptor took number 1 (the epoll
// descriptor: "writev: Invalid argument").
TEST(RunHostile, AClosedStdoutIsDevNull) {
  TempDir dir;
  Outcome o = run_script(dir, std::string("mkdir side; ") + kSideEffects + " >&-");
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.err, numbered("err"));
  EXPECT_EQ(files_in(dir / "side"), 10);
}

// With stdin closed, jobs started with descriptor 0 closed.
TEST(RunHostile, AClosedStdinGivesJobsAnOpenStdin) {
  TempDir dir;
  Outcome o =
      run_script(dir,
                 "\"$F\" run -k 'if [ -e /proc/self/fd/0 ]; then echo open{}; else echo closed{}; "
                 "fi; cat' ::: 1 2 <&-");
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "open1\nopen2\n");
}

// ---- Item 4: output far larger than memory should hold ------------------------------------

// The peak resident set of the largest process this test has waited for (directly, or
// through forkpool, which reaps its workers): forkpool and each of its workers.
long peak_rss_of_children_kib() {
  rusage usage{};
  ::getrusage(RUSAGE_CHILDREN, &usage);
  return usage.ru_maxrss;
}

// Checks a file, a chunk at a time, against `line` repeated `count` times then `tail`.
::testing::AssertionResult is_repeated(const std::string& path, const std::string& line,
                                       std::size_t count, const std::string& tail) {
  std::ifstream in(path, std::ios::binary);
  std::string chunk(line.size() * 65536, '\0'), expected;
  for (std::size_t i = 0; i < 65536; ++i) expected += line;
  std::size_t left = count;
  while (left > 0) {
    const std::size_t lines = std::min<std::size_t>(left, 65536);
    in.read(chunk.data(), static_cast<std::streamsize>(lines * line.size()));
    if (static_cast<std::size_t>(in.gcount()) != lines * line.size() ||
        std::string_view(chunk).substr(0, lines * line.size()) !=
            std::string_view(expected).substr(0, lines * line.size()))
      return ::testing::AssertionFailure()
             << "differs within lines " << count - left << " to " << count - left + lines;
    left -= lines;
  }
  std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (rest != tail) return ::testing::AssertionFailure() << "ends with '" << rest << "'";
  return ::testing::AssertionSuccess();
}

// What passing hundreds of megabytes through may add to the largest process's peak.
constexpr long kRssBoundKib = 64 * 1024;

// The peak of forkpool and its worker running one job of no output: what the build itself
// costs before any output. An ASan+UBSan forkpool maps about 60 MB of its own image and
// instrumented globals (a Debug one about 9 MB): the bound is on what output adds to that.
long rss_of_a_trivial_run_kib(const TempDir& dir) {
  Outcome o = run_script(dir, "\"$F\" run -j2 true ::: a b");
  EXPECT_EQ(o.exit_code, 0) << o.err;
  return peak_rss_of_children_kib();
}

// forkpool held a job's output whole, about three times, in the worker and in itself: 200 MB
// of output cost 593 MB in each. Output past a small threshold now travels as a file.
TEST(RunHostile, GroupedOutputOfHundredsOfMegabytesCostsLittleMemory) {
  TempDir dir;
  const long before = rss_of_a_trivial_run_kib(dir);
  // 75 million "big\n" lines: 300 MB.
  Outcome o =
      run_script(dir, "\"$F\" run 'yes {} | head -c 300000000' ::: big > out", {}, kBigDeadline);
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(is_repeated(dir / "out", "big\n", 75'000'000, ""));
  EXPECT_LT(peak_rss_of_children_kib(), before + kRssBoundKib) << "a trivial run: " << before;
}

// --tag over spooled output: the prefix goes before every line, across the chunks the output
// is copied out in.
TEST(RunHostile, TagsEveryLineOfSpooledOutput) {
  TempDir dir;
  // 2 million "big\n" lines: 8 MB, eight times the spool threshold.
  Outcome o = run_script(dir, "\"$F\" run --tag 'yes {} | head -c 8000000' ::: big > out");
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(is_repeated(dir / "out", "big\tbig\n", 2'000'000, ""));
}

TEST(RunHostile, KeptOrderOutputOfHundredsOfMegabytesCostsLittleMemory) {
  TempDir dir;
  const long before = rss_of_a_trivial_run_kib(dir);
  // The small job ends first, and waits (held) for the big one.
  Outcome o = run_script(dir,
                         "\"$F\" run -k -j2 'if [ {} = big ]; then yes big | head -c 300000000; "
                         "else echo tiny; fi' ::: big tiny > out",
                         {}, kBigDeadline);
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(is_repeated(dir / "out", "big\n", 75'000'000, "tiny\n"));
  EXPECT_LT(peak_rss_of_children_kib(), before + kRssBoundKib) << "a trivial run: " << before;
}

// ---- Items 5-7: absurd values, unusable paths ---------------------------------------------

// From about 9.2e9 s the timeout overflowed the clock and every job was killed at once.
TEST(RunHostile, AnEnormousTimeoutKillsNoJob) {
  TempDir dir;
  for (const std::string timeout : {"99999999999", "9999999999999999999999999"}) {
    Outcome o = run_script(dir, "\"$F\" run -k --timeout " + timeout + " echo ::: a b c");
    ASSERT_FALSE(o.hung);
    EXPECT_EQ(o.exit_code, 0) << timeout << ": " << o.err;
    EXPECT_EQ(o.out, "a\nb\nc\n") << timeout;
  }
  // An enormous percentage of the median run time is no timeout either.
  Outcome o =
      run_script(dir, "\"$F\" run -k -j1 --timeout 999999999999999999999% echo ::: a b c d e");
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "a\nb\nc\nd\ne\n");
}

// A result that cannot be saved is a failed job: forkpool warned per job and exited 0.
TEST(RunHostile, ResultsThatCannotBeSavedFailTheirJobs) {
  TempDir dir;
  write_file(dir / "res", "a regular file\n");
  Outcome o = run_script(dir, "\"$F\" run --results res echo ::: a b");
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 2) << o.err;
  EXPECT_NE(o.err.find("cannot save the output of job 1"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("cannot save the output of job 2"), std::string::npos) << o.err;
}

// A held-output limit of 0 held back the first job for ever: 0 bytes held >= 0.
TEST(RunHostile, AHeldOutputLimitOfZeroStillRunsEveryJob) {
  TempDir dir;
  Outcome o =
      run_script(dir, "\"$F\" run -k -j2 echo ::: a b c d", {"FORKPOOL_RUN_HELD_OUTPUT_LIMIT=0"});
  ASSERT_FALSE(o.hung) << "no job started";
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "a\nb\nc\nd\n");
}

}  // namespace
}  // namespace forkpool::testing
