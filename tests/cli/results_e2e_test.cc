// `forkpool run --results` and `--files` end to end where GNU parallel itself fails midway
// (a templated name that expands to nothing, a file that cannot be written): one clear
// message, the jobs that finished kept, nothing started after a fatal error.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/run_support.h"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kDeadline = 60s;  // only detects hangs

Outcome run_in(const TempDir& dir, std::vector<std::string> args) {
  Launch l;
  l.argv = {FORKPOOL_BINARY, "run"};
  l.argv.insert(l.argv.end(), args.begin(), args.end());
  l.dir = dir.path();
  l.env =
      environment_with(parallel_or_tmpdir_setting, {"TMPDIR=" + dir.path(), "HOME=" + dir.path()});
  return run_to_end(l, kDeadline);
}

long lines_in(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

TEST(ResultsE2e, ATemplatedNameThatExpandsToNothingStopsTheRunWith255) {
  TempDir dir;
  // One job at a time: the second's name is empty, so the third never starts.
  const Outcome o = run_in(dir, {"-j1", "--results", "{}", "echo {}", ":::", "a", "", "c"});
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 255) << o.err;
  EXPECT_EQ(o.err.rfind("forkpool run: --results {}: ", 0), 0u) << o.err;
  EXPECT_EQ(lines_in(o.err), 1) << o.err;
  EXPECT_EQ(read_file(dir / "a"), "a\n");  // the job before it kept its results
  EXPECT_EQ(read_file(dir / "a.seq"), "1");
  EXPECT_FALSE(exists(dir / "c")) << "a job started after the fatal error";
  EXPECT_FALSE(exists(dir / ".seq"));
}

TEST(ResultsE2e, AResultsFileThatCannotBeWrittenFailsItsJobOnly) {
  TempDir dir;
  write_file(dir / "a-file", "");
  // {} = x goes under a regular file (ENOTDIR even for root); y is written.
  const Outcome o = run_in(dir, {"-k", "--results", "{= $_ = $_ eq 'x' ? 'a-file/x' : $_ =}",
                                 "echo {}", ":::", "x", "y"});
  ASSERT_FALSE(o.hung);
  EXPECT_EQ(o.exit_code, 1) << o.err;
  EXPECT_NE(o.err.find("a-file/x"), std::string::npos) << o.err;
  EXPECT_EQ(lines_in(o.err), 1) << o.err;
  EXPECT_EQ(read_file(dir / "y"), "y\n");
  EXPECT_EQ(read_file(dir / "y.err"), "");
}

TEST(ResultsE2e, FilesOutliveTheRunAndNothingElseIsLeft) {
  TempDir dir;
  const Outcome o = run_in(dir, {"-k", "--files", "printf {}", ":::", "one", "two"});
  ASSERT_FALSE(o.hung);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const std::vector<std::string> names = split_lines(o.out);
  ASSERT_EQ(names.size(), 2u) << o.out;
  EXPECT_EQ(read_file(names[0]), "one");
  EXPECT_EQ(read_file(names[1]), "two");
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    const std::string name = e.path().string();
    EXPECT_TRUE(name == names[0] || name == names[1] ||
                e.path().filename().string().rfind('.', 0) == 0)
        << "left behind: " << name;
  }
}

}  // namespace
}  // namespace forkpool::testing
