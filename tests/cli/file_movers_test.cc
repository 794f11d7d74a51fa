// GNU parallel's paths for the file movers (cli/file_movers.h): where a file goes on the job's
// side, where a returned one lands here, and what --workdir names.
#include "cli/file_movers.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

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

}  // namespace
}  // namespace forkpool::cli
