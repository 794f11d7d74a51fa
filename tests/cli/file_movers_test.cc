// GNU parallel's paths for the file movers (cli/file_movers.h): where a file goes on the job's
// side, where a returned one lands here, and what --workdir names.
#include "cli/file_movers.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "cli/job_source.h"
#include "cli/run_options.h"
#include "forkpool/exec.h"
#include "support/files.h"

namespace forkpool::cli {
namespace {

TEST(FileMoverPaths, RelativeUnderTheWorkdirFromTheLastDotSlash) {
  EXPECT_EQ(remote_path("a.txt"), "a.txt");
  EXPECT_EQ(remote_path("./sub/a.txt"), "sub/a.txt");
  EXPECT_EQ(remote_path("in/./deep/a.txt"), "deep/a.txt");
  EXPECT_EQ(remote_path("/abs/x/./y/./z"), "z");
  EXPECT_EQ(remote_path("/abs/path"), "/abs/path");
}

TEST(FileMoverPaths, AReturnedFileLandsAtItsPathWithoutTheDots) {
  EXPECT_EQ(local_path("a.txt.out"), "a.txt.out");
  EXPECT_EQ(local_path("./a.out"), "a.out");
  EXPECT_EQ(local_path("res/./r/x.out"), "res/r/x.out");
  EXPECT_EQ(local_path("/abs/./r/x"), "/abs/r/x");
}

TEST(FileMoverPaths, WorkdirAsGnuParallelNamesIt) {
  EXPECT_EQ(workdir_for("/tmp/a/./b/", 3), "/tmp/a/b");
  EXPECT_EQ(workdir_for("./rel/dir", 3), "rel/dir");
  EXPECT_EQ(workdir_for("/", 3), "/");
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  EXPECT_EQ(workdir_for("...", 7),
            "~/.parallel/tmp/" + std::string(host) + "-" + std::to_string(::getpid()) + "-7");
  const std::string here = workdir_for(".", 1);
  EXPECT_TRUE(here[0] == '/' || here[0] == '~') << here;
}

FileMovers movers_for(const std::vector<std::string>& words, std::size_t max_bytes) {
  return FileMovers(parse_run_options(words), /*remote=*/true, max_bytes);
}

JobInput job_with(const std::string& value) {
  JobInput job;
  job.seq = 4;
  job.args = {{value}};
  return job;
}

// What a job's request carries: the files read here with the paths they take there, the
// returns, the rendered working directory, and the pool's host for the worker to compare.
TEST(FileMoverRequests, PrepareFillsTheRequestFromTheTemplates) {
  testing::TempDir dir;
  const std::string input = dir.file("in.txt", "bytes");
  const FileMovers movers = movers_for(
      {"--tf", dir.path() + "/./{/}", "--return", "{/}.out", "--wd", "w/{#}", "--cleanup", "cat"},
      1 << 20);
  ExecRequest request;
  movers.prepare(job_with(input), 1, request);
  ASSERT_EQ(request.transfer.size(), 1u);
  EXPECT_EQ(request.transfer[0].path, "in.txt");
  EXPECT_EQ(request.transfer[0].bytes, "bytes");
  EXPECT_EQ(request.returns, std::vector<std::string>{"in.txt.out"});
  EXPECT_EQ(request.workdir, "w/4");
  EXPECT_TRUE(request.cleanup);
  EXPECT_FALSE(request.pool_host.empty());
}

// A file that cannot go is one error naming it: missing, a directory, or past what one task
// may carry.
TEST(FileMoverRequests, AFileThatCannotGoIsAnErrorNamingIt) {
  testing::TempDir dir;
  const std::string big = dir.file("big.bin", std::string(64, 'x'));
  const FileMovers movers = movers_for({"--transfer", "cat"}, 32);
  ExecRequest request;
  try {
    movers.prepare(job_with(big), 1, request);
    ADD_FAILURE() << "no error";
  } catch (const MoveError& e) {
    EXPECT_EQ(std::string(e.what()), "cannot transfer '" + big +
                                         "': the job's files pass the 32 bytes one task may carry");
  }
  for (const std::string& path : {dir / "none", dir.path()}) {
    try {
      movers.prepare(job_with(path), 1, request);
      ADD_FAILURE() << "no error for " << path;
    } catch (const MoveError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("cannot transfer '" + path + "': ", 0), 0u) << e.what();
    }
  }
}

}  // namespace
}  // namespace forkpool::cli
