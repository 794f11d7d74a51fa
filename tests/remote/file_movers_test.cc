// forkpool run's file movers on a real sshd and a real Slurm: --trc against GNU parallel with
// the same -S (the bytes returned, where they land, stdout, exit status), --workdir ...,
// --cleanup, a missing file, and the srun launcher.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "remote/remote_support.h"
#include "support/files.h"

namespace forkpool::testing {
namespace {

namespace fs = std::filesystem;

const std::string kForkpool = FORKPOOL_BINARY;

struct Finished {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// A command started in `dir` through the shell, its stdout and stderr read when it ends, so
// that two runs (forkpool's and GNU parallel's) can go at once.
class Started {
 public:
  Started(const std::string& dir, const std::string& command, const TempDir& scratch)
      : err_path_(scratch / ("stderr-" + std::to_string(++count_))) {
    pipe_ = ::popen(("cd " + dir + " && " + command + " 2>" + err_path_).c_str(), "r");
  }
  Finished finish() {
    Finished run;
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe_)) run.out.append(buffer, n);
    const int status = ::pclose(pipe_);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.err = read_file(err_path_);
    return run;
  }

 private:
  static inline int count_ = 0;
  std::string err_path_;
  FILE* pipe_;
};

// Every file under `dir`, by its path there: its bytes, then its permission bits.
std::map<std::string, std::string> files_under(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const auto mode = static_cast<unsigned>(entry.status().permissions() & fs::perms::mask);
    files[fs::relative(entry.path(), dir).string()] =
        read_file(entry.path().string()) + " mode " + std::to_string(mode);
  }
  return files;
}

// Every byte value, NULs and newlines among them.
std::string binary_bytes() {
  std::string bytes;
  for (int round = 0; round < 4; ++round)
    for (int b = 0; b < 256; ++b) bytes += static_cast<char>(b);
  return bytes;
}

// The inputs, the same in each directory a run starts in.
void lay_out_inputs(const std::string& dir) {
  fs::create_directories(dir + "/sub");
  write_file(dir + "/a.txt", "alpha\n");
  write_file(dir + "/sub/b.txt", "beta\nno newline");
  write_file(dir + "/bin.dat", binary_bytes());
  ::chmod((dir + "/sub/b.txt").c_str(), 0750);
}

std::string home() { return std::getenv("HOME"); }

// $HOME in a session on the test host, where `--wd ...` makes its directories: the test sshd
// sets it apart from the home its sessions start in (scripts/start-sshd says why).
std::string remote_home() {
  std::string out;
  if (FILE* p = ::popen("ssh fp-loopback 'printf %s \"$HOME\"'", "r")) {
    char buffer[512];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, p)) out.append(buffer, n);
    ::pclose(p);
  }
  return out;
}

std::string host_name() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

// The jobs print what arrived and leave a result that differs from it (its bytes twice).
const std::string kTrcJobs =
    "--trc {}.out -k 'wc -c < {}; cat {} {} > {}.out' ::: a.txt sub/b.txt bin.dat";

TEST(FileMovers, TrcMatchesGnuParallel) {
  if (std::string why = ssh_unavailable(); !why.empty()) GTEST_SKIP() << why;
  TempDir dir;
  const std::string tag = unique_tag();
  lay_out_inputs(dir / "fp");
  lay_out_inputs(dir / "gnu");
  // A working directory of each run's own under the home, so that the two can run at once;
  // a slot per job, as GNU parallel costs about 2.5 s a job here (two rsyncs, two ssh).
  Started ours(dir / "fp", kForkpool + " run -S 3/fp-loopback --wd " + tag + "-fp " + kTrcJobs,
               dir);
  Started gnu(dir / "gnu", "parallel -S 3/fp-loopback --wd " + tag + "-gnu " + kTrcJobs, dir);
  const Finished fp_run = ours.finish();
  const Finished gnu_run = gnu.finish();
  EXPECT_EQ(fp_run.out, "6\n15\n1024\n");
  EXPECT_EQ(fp_run.out, gnu_run.out);
  EXPECT_EQ(fp_run.exit_code, 0) << fp_run.err;
  EXPECT_EQ(fp_run.exit_code, gnu_run.exit_code);
  EXPECT_EQ(fp_run.err, "");
  const auto returned = files_under(dir / "fp");
  EXPECT_EQ(returned.at("bin.dat.out"), binary_bytes() + binary_bytes() + " mode 420");
  EXPECT_EQ(returned, files_under(dir / "gnu"));
  // --cleanup took the files, their directories and the emptied working directory.
  EXPECT_FALSE(fs::exists(home() + "/" + tag + "-fp"));
  EXPECT_FALSE(fs::exists(home() + "/" + tag + "-gnu"));
}

TEST(FileMovers, UniqueWorkdirLeavesNothingBehind) {
  if (std::string why = ssh_unavailable(); !why.empty()) GTEST_SKIP() << why;
  TempDir dir;
  lay_out_inputs(dir.path());
  Started run(dir.path(),
              kForkpool + " run -S 1/fp-loopback --wd ... --tf {} " +
                  "'pwd; mkdir made; echo x > made/file; cat {}' ::: a.txt",
              dir);
  const Finished done = run.finish();
  ASSERT_EQ(done.exit_code, 0) << done.err;
  const std::string workdir = done.out.substr(0, done.out.find('\n'));
  const std::string there = remote_home();
  ASSERT_FALSE(there.empty());
  EXPECT_EQ(workdir.rfind(there + "/.parallel/tmp/", 0), 0u) << done.out;
  EXPECT_EQ(done.out.substr(workdir.size()), "\nalpha\n");
  EXPECT_FALSE(fs::exists(workdir));
}

TEST(FileMovers, CleanupRemovesWhatMovedAndOnlyThat) {
  if (std::string why = ssh_unavailable(); !why.empty()) GTEST_SKIP() << why;
  TempDir dir;
  lay_out_inputs(dir / "here");
  const std::string there = dir / "there";
  fs::create_directories(there);
  write_file(there + "/keep.txt", "was there before");
  Started run(dir / "here",
              kForkpool + " run -S 1/fp-loopback --wd " + there +
                  " --tf sub/b.txt --return out/./r/{}.ret --return missing.txt --cleanup " +
                  "'mkdir -p r; cat sub/b.txt > r/{}.ret; echo made > extra.txt' ::: x",
              dir);
  const Finished done = run.finish();
  EXPECT_EQ(done.exit_code, 0) << done.err;
  // The returned file lands where its path says here, "/./" marking its part over there.
  EXPECT_EQ(read_file(dir / "here/out/r/x.ret"), "beta\nno newline");
  // A return that is not there is said, and changes nothing else (as GNU parallel's rsync).
  EXPECT_EQ(done.err, "forkpool run: cannot return 'missing.txt' from host '" + host_name() +
                          "': No such file or directory\n");
  // What the job made stays, as does what was there; what moved, and the directories it
  // left empty, are gone.
  std::map<std::string, std::string> left = files_under(there);
  EXPECT_EQ(left.size(), 2u);
  EXPECT_EQ(left.count("keep.txt"), 1u);
  EXPECT_EQ(left.count("extra.txt"), 1u);
  EXPECT_FALSE(fs::exists(there + "/sub"));
  EXPECT_FALSE(fs::exists(there + "/r"));
  EXPECT_TRUE(fs::exists(dir / "here/sub/b.txt"));  // the original, here
}

TEST(FileMovers, MissingTransferFileIsOneErrorAndTheOtherJobsRun) {
  if (std::string why = ssh_unavailable(); !why.empty()) GTEST_SKIP() << why;
  TempDir dir;
  lay_out_inputs(dir.path());
  const std::string wd = unique_tag();
  Started run(dir.path(),
              kForkpool + " run -S 1/fp-loopback --wd " + wd +
                  " --trc {}.out -k 'cat {} > {}.out; echo ran {}' ::: a.txt nope.txt",
              dir);
  const Finished done = run.finish();
  EXPECT_EQ(done.exit_code, 1);  // one failed job
  EXPECT_EQ(done.out, "ran a.txt\n");
  EXPECT_EQ(done.err,
            "forkpool run: cannot transfer 'nope.txt': No such file or directory; job 2 "
            "(cat nope.txt > nope.txt.out; echo ran nope.txt) not run\n");
  EXPECT_EQ(read_file(dir / "a.txt.out"), "alpha\n");
  EXPECT_FALSE(fs::exists(dir / "nope.txt.out"));
  EXPECT_FALSE(fs::exists(home() + "/" + wd));
}

TEST(FileMovers, SrunLauncherMovesAFile) {
  if (std::string why = srun_unavailable(); !why.empty()) GTEST_SKIP() << why;
  TempDir dir;
  lay_out_inputs(dir.path());
  const std::string wd = unique_tag();
  Started run(dir.path(),
              kForkpool + " run --launcher srun --wd " + wd + " --trc {}.out " +
                  "'cat {} {} > {}.out' ::: bin.dat",
              dir);
  const Finished done = run.finish();
  EXPECT_EQ(done.exit_code, 0) << done.err;
  EXPECT_EQ(read_file(dir / "bin.dat.out"), binary_bytes() + binary_bytes());
  EXPECT_FALSE(fs::exists(home() + "/" + wd));
}

// Waits for a directory's removal (inotify), with a deadline that only detects a hang.
class RemovalWatch {
 public:
  explicit RemovalWatch(const std::string& dir)
      : dir_(dir), fd_(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) {
    ::inotify_add_watch(fd_, dir.c_str(), IN_DELETE_SELF);
  }
  ~RemovalWatch() { ::close(fd_); }
  RemovalWatch(const RemovalWatch&) = delete;
  RemovalWatch& operator=(const RemovalWatch&) = delete;

  bool wait() const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (fs::exists(dir_)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd watch{fd_, POLLIN, 0};
      ::poll(&watch, 1, static_cast<int>(left.count()));
      alignas(inotify_event) char events[4096];
      while (::read(fd_, events, sizeof events) > 0) {
      }
    }
    return true;
  }

 private:
  std::string dir_;
  int fd_;
};

// A base file goes to each worker once, before its first job (not with every job: what a job
// adds to it, the next one there sees), and --cleanup takes it away at the end.
TEST(FileMovers, BasefileGoesOnceAndCleanupTakesItAtTheEnd) {
  if (std::string why = ssh_unavailable(); !why.empty()) GTEST_SKIP() << why;
  TempDir dir;
  lay_out_inputs(dir / "here");
  const std::string there = dir / "there";
  const std::string jobs = " --bf a.txt -k 'echo {} >> a.txt; cat a.txt' ::: 1 2";
  Started kept(dir / "here", kForkpool + " run -S 1/fp-loopback --wd " + there + jobs, dir);
  const Finished first = kept.finish();
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.out, "alpha\n1\nalpha\n1\n2\n");
  EXPECT_EQ(read_file(there + "/a.txt"), "alpha\n1\n2\n");  // without --cleanup it stays
  const RemovalWatch removal(there);
  Started cleaned(dir / "here", kForkpool + " run -S 1/fp-loopback --cleanup --wd " + there + jobs,
                  dir);
  const Finished second = cleaned.finish();
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.out, first.out);
  // The file, and the directory it left empty, go as the worker ends: by the time forkpool
  // run has ended, or just after.
  EXPECT_TRUE(removal.wait()) << there;
  EXPECT_EQ(read_file(dir / "here/a.txt"), "alpha\n");
}

// On ':' GNU parallel moves nothing (and says so when no host is remote), but the working
// directory applies, relative to this directory.
TEST(FileMovers, OnThisMachineOnlyTheWorkdirApplies) {
  TempDir dir;
  lay_out_inputs(dir / "fp");
  lay_out_inputs(dir / "gnu");
  const std::string jobs =
      "-S : --wd sub --trc {}.out -k 'pwd | sed s:.*/::; ls; echo {}' ::: a.txt";
  Started ours(dir / "fp", kForkpool + " run " + jobs, dir);
  Started gnu(dir / "gnu", "parallel " + jobs, dir);
  const Finished fp_run = ours.finish();
  const Finished gnu_run = gnu.finish();
  EXPECT_EQ(fp_run.out, "sub\nb.txt\na.txt\n");
  EXPECT_EQ(fp_run.out, gnu_run.out);
  EXPECT_EQ(fp_run.exit_code, gnu_run.exit_code);
  EXPECT_EQ(fp_run.err,
            "forkpool run: warning: --trc ignored as there are no remote --sshlogin.\n");
  EXPECT_EQ(files_under(dir / "fp"), files_under(dir / "gnu"));
}

}  // namespace
}  // namespace forkpool::testing
