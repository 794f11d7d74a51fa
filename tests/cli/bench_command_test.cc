// `forkpool bench` end to end: each test runs the forkpool binary as a child in its own process
// group and reads what it printed and wrote. Nothing here depends on how fast the machine is:
// the tests check the shape and consistency of the reports, never a time.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "cli/run_support.h"
#include "forkpool/sweep.h"
#include "support/leak_check.h"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kDeadline = 120s;  // only detects hangs

bool parallel_setting(const std::string& name) { return name.rfind("PARALLEL", 0) == 0; }

Launch bench_launch(const TempDir& dir, const std::vector<std::string>& args) {
  Launch l;
  l.argv = {FORKPOOL_BINARY, "bench"};
  l.argv.insert(l.argv.end(), args.begin(), args.end());
  l.dir = dir.path();
  l.stdout_path = dir / ".stdout";
  l.stderr_path = dir / ".stderr";
  l.env = environment_with(parallel_setting, {});
  return l;
}

Outcome run_bench(const TempDir& dir, const std::vector<std::string>& args) {
  return run_to_end(bench_launch(dir, args), kDeadline);
}

// The rows' worker counts as the JSON report gives them.
std::vector<unsigned> json_workers(const boost::json::value& report) {
  std::vector<unsigned> workers;
  for (const boost::json::value& row : report.at("results").as_array())
    workers.push_back(row.at("workers").to_number<unsigned>());
  return workers;
}

// Whether Python's XML parser accepts the file.
bool well_formed_xml(const TempDir& dir, const std::string& path) {
  Launch l;
  l.argv = {"/usr/bin/python3", "-c",
            "import sys, xml.etree.ElementTree as ET; ET.parse(sys.argv[1])", path};
  l.dir = dir.path();
  const Outcome o = run_to_end(l, kDeadline);
  return o.exit_code == 0;
}

TEST(BenchE2e, WritesReportsThatAgreeWithTheTable) {
  LeakCheck leaks;
  {
    TempDir dir;
    const Outcome o =
        run_bench(dir, {"--workers", "1,2", "--runs", "2", "--json", "j.json", "--csv", "c.csv",
                        "--plot", "p.svg", "--", "echo", "job-output", ":::", "1", "2", "3", "4"});
    ASSERT_FALSE(o.hung);
    ASSERT_EQ(o.exit_code, 0) << o.err;

    const boost::json::value json = boost::json::parse(read_file(dir / "j.json"));
    EXPECT_EQ(json.at("label").as_string(), "echo job-output");
    EXPECT_EQ(json.at("jobs").to_number<int>(), 4);
    EXPECT_EQ(json_workers(json), (std::vector<unsigned>{1, 2}));
    for (const boost::json::value& row : json.at("results").as_array()) {
      const boost::json::array& seconds = row.at("seconds").as_array();
      ASSERT_EQ(seconds.size(), 2u);
      for (const boost::json::value& s : seconds) EXPECT_GT(s.to_number<double>(), 0);
      EXPECT_GT(row.at("jobs_per_second").to_number<double>(), 0);
    }
    const unsigned recommended = json.at("recommended_workers").to_number<unsigned>();
    EXPECT_TRUE(recommended == 1 || recommended == 2) << recommended;

    const std::vector<std::string> csv = split_lines(read_file(dir / "c.csv"));
    ASSERT_EQ(csv.size(), 3u);
    EXPECT_EQ(csv[0].rfind("workers,", 0), 0u) << csv[0];
    EXPECT_EQ(csv[1].rfind("1,2,", 0), 0u) << csv[1];  // workers, then runs
    EXPECT_EQ(csv[2].rfind("2,2,", 0), 0u) << csv[2];

    EXPECT_TRUE(well_formed_xml(dir, dir / "p.svg")) << read_file(dir / "p.svg");
    EXPECT_NE(read_file(dir / "p.svg").find("forkpool bench: echo job-output"), std::string::npos);

    // The table, then the recommendation; never the jobs' own output.
    const std::vector<std::string> out = split_lines(o.out);
    ASSERT_EQ(out.size(), 4u) << o.out;
    EXPECT_NE(out[0].find("jobs/s"), std::string::npos) << out[0];
    EXPECT_TRUE(full_match(" +1 .*%", out[1])) << out[1];
    EXPECT_TRUE(full_match(" +2 .*%", out[2])) << out[2];
    EXPECT_EQ(out[3], json.at("reason").as_string());
    EXPECT_EQ(out[3].rfind("Use " + std::to_string(recommended) + " worker", 0), 0u) << out[3];
    EXPECT_EQ(o.out.find("job-output"), std::string::npos) << o.out;

    // Progress on stderr, a line per run (stderr is not a terminal here).
    EXPECT_NE(o.err.find("forkpool bench: 1 worker (1 of 2), run 1 of 2"), std::string::npos)
        << o.err;
    EXPECT_NE(o.err.find("forkpool bench: 2 workers (2 of 2), run 2 of 2"), std::string::npos)
        << o.err;
    EXPECT_EQ(o.err.find("job-output"), std::string::npos) << o.err;
  }
  leaks.check();
}

TEST(BenchE2e, DefaultCountsDoubleUpToTheUsableCpus) {
  LeakCheck leaks;
  {
    TempDir dir;
    const Outcome o = run_bench(dir, {"--runs", "1", "--json", "j.json", "true", ":::", "1"});
    ASSERT_FALSE(o.hung);
    ASSERT_EQ(o.exit_code, 0) << o.err;
    // The child runs with this process's affinity mask and cgroup: the same CPUs.
    EXPECT_EQ(json_workers(boost::json::parse(read_file(dir / "j.json"))), default_worker_counts());
  }
  leaks.check();
}

TEST(BenchE2e, HelpDescribesTheDefaults) {
  TempDir dir;
  const Outcome o = run_bench(dir, {"--help"});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_NE(o.out.find("--workers LIST"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("doubling"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("--runs N"), std::string::npos) << o.out;
}

// A job fails only in job slot 2, so the 1-worker runs are measured and the 2-worker run stops
// the sweep: the exit status says so, the failing command and its stderr are named, and the
// 1-worker row is still printed and written.
TEST(BenchE2e, AFailingJobStopsTheSweepButKeepsWhatWasMeasured) {
  LeakCheck leaks;
  {
    TempDir dir;
    const std::string job =
        "test \"$PARALLEL_JOBSLOT\" = 1 || { echo \"slot $PARALLEL_JOBSLOT failed\" >&2; "
        "exit 7; }; : {}";
    const Outcome o =
        run_bench(dir, {"--workers", "1,2", "--runs", "2", "--json", "j.json", "--csv", "c.csv",
                        "--plot", "p.svg", "--", job, ":::", "a", "b", "c"});
    ASSERT_FALSE(o.hung);
    EXPECT_EQ(o.exit_code, 1) << o.err;
    EXPECT_NE(o.err.find("exited with code 7"), std::string::npos) << o.err;
    EXPECT_NE(o.err.find("with 2 workers"), std::string::npos) << o.err;
    EXPECT_NE(o.err.find("slot 2 failed"), std::string::npos) << o.err;
    EXPECT_NE(o.err.find("test \"$PARALLEL_JOBSLOT\" = 1"), std::string::npos) << o.err;

    const boost::json::value json = boost::json::parse(read_file(dir / "j.json"));
    EXPECT_EQ(json_workers(json), (std::vector<unsigned>{1}));
    EXPECT_EQ(json.at("recommended_workers").to_number<unsigned>(), 1u);
    EXPECT_EQ(split_lines(read_file(dir / "c.csv")).size(), 2u);
    EXPECT_TRUE(well_formed_xml(dir, dir / "p.svg"));
    const std::vector<std::string> out = split_lines(o.out);
    ASSERT_EQ(out.size(), 3u) << o.out;
    EXPECT_TRUE(full_match(" +1 .*%", out[1])) << out[1];
  }
  leaks.check();
}

// Ctrl-C in the middle of the 2-worker run: the job it was running is stopped, nothing is left
// behind, the exit status is 130, and the 1-worker row is still written.
TEST(BenchE2e, CtrlCStopsTheSweepAndKeepsWhatWasMeasured) {
  LeakCheck leaks;
  {
    TempDir dir;
    // A number no other process has in its command line, to find leftovers by.
    const std::string token = std::to_string(::getpid()) + std::to_string(std::random_device()());
    struct KillLeftovers {
      std::string token;
      ~KillLeftovers() { kill_processes_with(token); }
    } cleanup{token};
    const std::string job =
        "if [ \"$PARALLEL_JOBSLOT\" = 2 ]; then touch started; sleep 300." + token + "; fi; : {}";
    Launched bench(bench_launch(
        dir, {"--workers", "1,2", "--runs", "1", "--json", "j.json", "--", job, ":::", "a", "b"}));
    ASSERT_TRUE(eventually([&] { return exists(dir / "started"); }, 60s))
        << read_file(dir / ".stderr");
    ASSERT_EQ(::kill(bench.pid(), SIGINT), 0);
    const std::optional<int> status = bench.wait_for(30s);
    ASSERT_TRUE(status.has_value()) << "still running 30 s after SIGINT";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 130) << *status;
    EXPECT_TRUE(eventually([&] { return processes_with(token).empty(); }, 20s))
        << "jobs left running:\n"
        << processes_with(token);
    const boost::json::value json = boost::json::parse(read_file(dir / "j.json"));
    EXPECT_EQ(json_workers(json), (std::vector<unsigned>{1}));
  }
  leaks.check();
}

// A bad command line: one line on stderr, exit 255, no job run, nothing left running.
class BenchUsageTest : public ::testing::TestWithParam<std::vector<std::string>> {};

TEST_P(BenchUsageTest, OneLineErrorAndExit255BeforeAnyJob) {
  LeakCheck leaks;
  {
    TempDir dir;
    std::vector<std::string> args = GetParam();
    for (std::string& a : args) {
      if (a == "UNWRITABLE") a = dir / "no-such-dir/j.json";
    }
    const Outcome o = run_bench(dir, args);
    ASSERT_FALSE(o.hung);
    EXPECT_EQ(o.exit_code, 255) << o.err;
    const std::vector<std::string> lines = split_lines(o.err);
    ASSERT_EQ(lines.size(), 1u) << o.err;
    EXPECT_EQ(lines[0].rfind("forkpool bench: ", 0), 0u) << lines[0];
    EXPECT_EQ(o.out, "");
    EXPECT_FALSE(exists(dir / "ran-1")) << "a job ran";
  }
  leaks.check();
}

const std::vector<std::string> kJob = {"touch ran-{}", ":::", "1"};

std::vector<std::string> with_job(std::vector<std::string> options) {
  options.push_back("--");
  options.insert(options.end(), kJob.begin(), kJob.end());
  return options;
}

INSTANTIATE_TEST_SUITE_P(
    BenchE2e, BenchUsageTest,
    ::testing::Values(with_job({"--workers", "0"}), with_job({"--workers", "x"}),
                      with_job({"--workers", "4-2"}), with_job({"--workers", "1,,2"}),
                      with_job({"--runs", "0"}), with_job({"--runs", "-1"}),
                      std::vector<std::string>{"--workers", "1"},                // no command
                      std::vector<std::string>{"--workers", "1", "--", "true"},  // no input
                      std::vector<std::string>{"--runs"},                        // no value
                      with_job({"--json", "UNWRITABLE"}), with_job({"--plot", ""}),
                      with_job({"-j", "2"}), with_job({"--joblog", "log"}),
                      std::vector<std::string>{"--workers", "1", "-k", "touch ran-{}", ":::", "1"},
                      std::vector<std::string>{"--bogus", "true", ":::", "1"}));

}  // namespace
}  // namespace forkpool::testing
