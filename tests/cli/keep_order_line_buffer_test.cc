// `forkpool run -k --line-buffer` end to end: the oldest running job's lines reach stdout
// while it runs, the other jobs' output waits for its turn, and the bytes come out as -k's.
// The jobs block on named pipes that the test writes to only after it has seen what must
// already be on forkpool's stdout, so every step waits on a real event; the deadlines only
// detect hangs.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/run_support.h"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kDeadline = 60s;  // only detects hangs

// Opens the named pipe `path` for writing once its reader (a job) has opened it, and writes
// a line: the job goes on.
bool release(const std::string& path) {
  int fd = -1;
  const bool opened = eventually(
      [&] {
        fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        return fd >= 0;  // ENXIO until the job has opened its end
      },
      kDeadline);
  if (!opened) return false;
  const bool written = ::write(fd, "go\n", 3) == 3;
  ::close(fd);
  return written;
}

class KeepOrderLineBuffer : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* fifo : {"gate1", "gate2"}) ASSERT_EQ(::mkfifo((dir_ / fifo).c_str(), 0600), 0);
  }

  Launch launch(std::vector<std::string> args) {
    Launch l;
    l.argv = {FORKPOOL_BINARY, "run"};
    l.argv.insert(l.argv.end(), args.begin(), args.end());
    l.dir = dir_.path();
    l.stdout_path = dir_ / "stdout";
    l.stderr_path = dir_ / "stderr";
    l.env = environment_with(parallel_or_tmpdir_setting,
                             {"TMPDIR=" + dir_.path(), "HOME=" + dir_.path()});
    return l;
  }

  // Waits until forkpool's stdout is exactly `want`.
  bool stdout_becomes(const std::string& want) {
    return eventually([&] { return read_file(dir_ / "stdout") == want; }, kDeadline);
  }

  TempDir dir_;
};

// Job 1 prints a line and waits at gate1; job 2 prints a line, says so, and waits at gate2.
constexpr const char* kGatedJobs =
    "if [ {} = 1 ]; then echo one-a; read x < gate1; echo one-b; "
    "else echo two-a; echo >two-printed; read x < gate2; printf two-b; fi";

TEST_F(KeepOrderLineBuffer, StreamsTheOldestJobAndHoldsTheOthersUntilTheirTurn) {
  Launched forkpool(launch({"-k", "--line-buffer", "-j2", kGatedJobs, ":::", "1", "2"}));
  // Job 1's first line arrives while it still runs (it waits at gate1).
  ASSERT_TRUE(stdout_becomes("one-a\n")) << read_file(dir_ / "stdout");
  ASSERT_TRUE(eventually([&] { return exists(dir_ / "two-printed"); }, kDeadline));
  // Job 2 has printed, but job 1 is older: job 2's line waits.
  EXPECT_EQ(read_file(dir_ / "stdout"), "one-a\n");
  ASSERT_TRUE(release(dir_ / "gate1"));
  // Job 1 is done; job 2, now the oldest and still waiting at gate2, streams.
  ASSERT_TRUE(stdout_becomes("one-a\none-b\ntwo-a\n")) << read_file(dir_ / "stdout");
  ASSERT_TRUE(release(dir_ / "gate2"));
  const std::optional<int> status = forkpool.wait_for(kDeadline);
  ASSERT_TRUE(status.has_value()) << "hung";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << read_file(dir_ / "stderr");
  // An unfinished last line comes out when its job ends: the bytes are -k's.
  EXPECT_EQ(read_file(dir_ / "stdout"), "one-a\none-b\ntwo-a\ntwo-b");
  EXPECT_EQ(read_file(dir_ / "stderr"), "");
  // The spooled output went with the run's private directory.
  for (const auto& e : std::filesystem::directory_iterator(dir_.path()))
    EXPECT_NE(e.path().filename().string().rfind("forkpool-run-", 0), 0u) << e.path();
}

TEST_F(KeepOrderLineBuffer, TagsStreamedLinesAndStreamsStderrToo) {
  Launched forkpool(
      launch({"-k", "--lb", "--tag", "-j1",
              "echo out-{}; echo err-{} >&2; read x < gate1; echo {}-end", ":::", "1"}));
  ASSERT_TRUE(stdout_becomes("1\tout-1\n")) << read_file(dir_ / "stdout");
  ASSERT_TRUE(eventually([&] { return read_file(dir_ / "stderr") == "1\terr-1\n"; }, kDeadline))
      << read_file(dir_ / "stderr");
  ASSERT_TRUE(release(dir_ / "gate1"));
  const std::optional<int> status = forkpool.wait_for(kDeadline);
  ASSERT_TRUE(status.has_value()) << "hung";
  EXPECT_EQ(read_file(dir_ / "stdout"), "1\tout-1\n1\t1-end\n");
  EXPECT_EQ(read_file(dir_ / "stderr"), "1\terr-1\n");
}

// --lb --tag without -k: the parent prints the lines (as GNU parallel tags them) from the
// job's spooled output while the job runs, and frees what it printed, so that a job that
// prints for ever does not fill the disk.
TEST_F(KeepOrderLineBuffer, TaggedLinesStreamWithoutKeepOrderAndLeaveTheDisk) {
  Launched forkpool(
      launch({"--lb", "--tag", "-j1", "seq 300000; read x < gate1; echo end", ":::", "1"}));
  constexpr std::uintmax_t kSeqBytes = 1988895;  // `seq 300000 | wc -c`
  const std::string out = dir_ / "stdout";
  ASSERT_TRUE(eventually(
      [&] { return exists(out) && std::filesystem::file_size(out) == kSeqBytes + 2 * 300000; },
      kDeadline))
      << "stdout: " << (exists(out) ? std::filesystem::file_size(out) : 0) << " bytes";
  std::string spooled;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_.path()))
    if (e.path().filename() == "follow-0.out") spooled = e.path();
  ASSERT_FALSE(spooled.empty()) << "no spooled output";
  struct stat st {};
  ASSERT_EQ(::stat(spooled.c_str(), &st), 0);
  EXPECT_EQ(static_cast<std::uintmax_t>(st.st_size), kSeqBytes);
  EXPECT_LT(st.st_blocks * 512, 256 * 1024) << "printed output still on disk";
  ASSERT_TRUE(release(dir_ / "gate1"));
  const std::optional<int> status = forkpool.wait_for(kDeadline);
  ASSERT_TRUE(status.has_value()) << "hung";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << read_file(dir_ / "stderr");
  const std::string all = read_file(out);
  EXPECT_EQ(all.substr(0, 11), "1\t1\n1\t2\n1\t3");
  EXPECT_EQ(all.substr(all.size() - 17), "1\t300000\n1\tend 1\n");  // {} appended
}

}  // namespace
}  // namespace forkpool::testing
