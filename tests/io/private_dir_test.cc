// Tests for io/private_dir.h: a private directory under $TMPDIR, made and removed.
#include "io/private_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <system_error>

#include "support/files.h"
#include "support/scoped_env.h"

namespace forkpool::io {
namespace {

namespace fs = std::filesystem;
using forkpool::testing::ScopedEnv;
using forkpool::testing::TempDir;
using forkpool::testing::write_file;

TEST(PrivateDirTest, TempRootIsTmpdirElseTmp) {
  {
    ScopedEnv tmp("TMPDIR", "/some/where");
    EXPECT_EQ(temp_root(), "/some/where");
  }
  {
    ScopedEnv tmp("TMPDIR", "");
    EXPECT_EQ(temp_root(), "/tmp");
  }
  ScopedEnv tmp("TMPDIR", nullptr);
  EXPECT_EQ(temp_root(), "/tmp");
}

TEST(PrivateDirTest, MakesA0700DirectoryUnderTmpdirAndRemovesItWithItsContents) {
  TempDir root;
  ScopedEnv tmp("TMPDIR", root.path().c_str());
  std::string path;
  {
    const PrivateDir dir("forkpool-test-");
    path = dir.path();
    EXPECT_EQ(fs::path(path).parent_path(), root.path());
    const std::string name = fs::path(path).filename();
    EXPECT_EQ(name.rfind("forkpool-test-", 0), 0u) << name;
    EXPECT_EQ(name.size(), std::string("forkpool-test-XXXXXX").size()) << name;
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    EXPECT_EQ(dir.file("a"), path + "/a");
    // Contents of every kind go with it: a file, a directory with a file, a named pipe.
    write_file(dir.file("a"), "bytes");
    fs::create_directory(dir.file("sub"));
    write_file(dir.file("sub/b"), "more");
    ASSERT_EQ(::mkfifo(dir.file("fifo").c_str(), 0600), 0);
    const PrivateDir other("forkpool-test-");
    EXPECT_NE(other.path(), path);
  }
  EXPECT_FALSE(fs::exists(path)) << path;
  EXPECT_TRUE(fs::is_empty(root.path()));
}

// What the user reads: one line naming $TMPDIR (not mkdtemp's random name) and the reason.
void expect_error_naming(const std::string& tmpdir, int error, const std::string& reason) {
  ScopedEnv tmp("TMPDIR", tmpdir.c_str());
  try {
    const PrivateDir dir("forkpool-test-");
    ADD_FAILURE() << "made " << dir.path();
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), error) << e.what();
    EXPECT_EQ(std::string(e.what()),
              "cannot create a temporary directory in " + tmpdir + ": " + reason);
  }
}

TEST(PrivateDirTest, AMissingOrUnusableTmpdirIsAnErrorNamingIt) {
  TempDir root;
  expect_error_naming(root / "missing", ENOENT, "No such file or directory");
  write_file(root / "a-file", "");
  expect_error_naming(root / "a-file", ENOTDIR, "Not a directory");
  fs::create_directory(root / "read-only");
  fs::permissions(root / "read-only", fs::perms::owner_read | fs::perms::owner_exec);
  // Root writes into a read-only directory regardless: the two cases above stand for it then.
  if (::access((root / "read-only").c_str(), W_OK) != 0)
    expect_error_naming(root / "read-only", EACCES, "Permission denied");
  EXPECT_TRUE(fs::is_empty(root / "read-only"));
}

}  // namespace
}  // namespace forkpool::io
