// The worker's side of a job's files (workers/job_files.h), and the exec messages' new fields
// against the layout an earlier version reads and writes.
#include "workers/job_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "forkpool/detail/archive.h"
#include "forkpool/errors.h"
#include "forkpool/exec.h"
#include "support/files.h"

namespace forkpool::workers {
namespace {

namespace fs = std::filesystem;

// ExecRequest as a worker of the previous version has it.
struct EarlierRequest {
  std::string command;
  std::vector<std::string> argv;
  std::string shell = "/bin/sh";
  std::vector<std::string> env;
  int output = 0;
  std::string line_prefix;
  double timeout = 0;
  std::size_t spool_over = 0;
  std::string spool_dir;
  std::string stdin_path;
  template <typename Archive>
  void serialize(Archive& ar, unsigned) {
    ar& command& argv& shell& env& output& line_prefix& timeout& spool_over& spool_dir& stdin_path;
  }
};

TEST(ExecRequestFields, WithoutFilesTheBytesAreTheEarlierLayout) {
  ExecRequest request;
  request.command = "echo hi";
  EarlierRequest earlier;
  earlier.command = "echo hi";
  detail::Payload now, before;
  detail::encode_values(now, request);
  detail::encode_values(before, earlier);
  EXPECT_EQ(now, before);  // an earlier worker decodes it
  ExecRequest decoded;
  detail::decode_values(before, "request", decoded);  // an earlier pool's request decodes here
  EXPECT_EQ(decoded.command, "echo hi");
  EXPECT_FALSE(decoded.moves_files());
}

TEST(ExecRequestFields, FilesTravelBothWays) {
  ExecRequest request;
  request.workdir = "~/w";
  request.transfer = {
      {.path = "a/b", .bytes = std::string("\0\xff", 2), .mode = 0750, .mtime_ns = 7}};
  request.returns = {"r.out"};
  request.cleanup = true;
  request.pool_host = "boot 1";
  detail::Payload bytes;
  detail::encode_values(bytes, request);
  ExecRequest decoded;
  detail::decode_values(bytes, "request", decoded);
  EXPECT_EQ(decoded.workdir, "~/w");
  ASSERT_EQ(decoded.transfer.size(), 1u);
  EXPECT_EQ(decoded.transfer[0].bytes, std::string("\0\xff", 2));
  EXPECT_EQ(decoded.transfer[0].mode, 0750u);
  EXPECT_EQ(decoded.transfer[0].mtime_ns, 7);
  EXPECT_EQ(decoded.returns, std::vector<std::string>{"r.out"});
  EXPECT_TRUE(decoded.cleanup);
  // An earlier worker refuses it (bytes left over) rather than running it without its files.
  EarlierRequest earlier;
  EXPECT_THROW(detail::decode_values(bytes, "request", earlier), ProtocolError);

  ExecResult result;
  result.returned = {{.path = "r.out", .bytes = "x"}};
  result.move_errors = {"cannot return 'y'"};
  detail::Payload reply;
  detail::encode_values(reply, result);
  ExecResult back;
  detail::decode_values(reply, "result", back);
  ASSERT_EQ(back.returned.size(), 1u);
  EXPECT_EQ(back.returned[0].bytes, "x");
  EXPECT_EQ(back.move_errors, result.move_errors);
}

// --pipe's block in the request: a second tail after the first, which must still be written
// (at its defaults) when only the block is used; a request without it keeps the layout before.
TEST(ExecRequestFields, StdinBytesTravelInASecondTail) {
  ExecRequest request;
  request.command = "wc -c < NAME";
  request.stdin_bytes = std::string("\0a\nb\xff", 5);
  request.stdin_name = "NAME";
  request.stdin_fifo = true;
  detail::Payload bytes;
  detail::encode_values(bytes, request);
  ExecRequest decoded;
  detail::decode_values(bytes, "request", decoded);
  EXPECT_EQ(decoded.stdin_bytes, request.stdin_bytes);
  EXPECT_EQ(decoded.stdin_name, "NAME");
  EXPECT_TRUE(decoded.stdin_fifo);
  EXPECT_EQ(decoded.nice, 0);
  EarlierRequest earlier;
  EXPECT_THROW(detail::decode_values(bytes, "request", earlier), ProtocolError);

  ExecRequest without;  // the first tail only: the second is not read
  without.nice = 5;
  detail::Payload first_tail;
  detail::encode_values(first_tail, without);
  ExecRequest back;
  detail::decode_values(first_tail, "request", back);
  EXPECT_EQ(back.nice, 5);
  EXPECT_FALSE(back.carries_stdin());
  request.stdin_bytes.clear();  // --cat of an empty block still travels
  request.stdin_fifo = false;
  detail::Payload empty_block;
  detail::encode_values(empty_block, request);
  detail::decode_values(empty_block, "request", back);
  EXPECT_EQ(back.stdin_name, "NAME");
  EXPECT_FALSE(back.stdin_streamed);

  // --round-robin's streamed stdin: a third tail, and a request without it keeps the layout.
  request.stdin_streamed = true;
  detail::Payload streamed;
  detail::encode_values(streamed, request);
  EXPECT_GT(streamed.size(), empty_block.size());
  detail::decode_values(streamed, "request", back);
  EXPECT_TRUE(back.stdin_streamed);
}

TEST(JobFiles, AMovedFileKeepsItsBytesModeLessUmaskAndTime) {
  testing::TempDir dir;
  const mode_t old_mask = ::umask(022);
  const MovedFile file{.path = "", .bytes = "data", .mode = 0777, .mtime_ns = 1500000000123456789};
  write_moved_file(dir / "new/deep/f", file);
  ::umask(old_mask);
  MovedFile read;
  ASSERT_EQ(read_moved_file(dir / "new/deep/f", read), "");
  EXPECT_EQ(read.bytes, "data");
  EXPECT_EQ(read.mode, 0755u);
  EXPECT_EQ(read.mtime_ns, 1500000000123456789);
  EXPECT_EQ(read_moved_file(dir / "new", read), "not a regular file");
  EXPECT_EQ(read_moved_file(dir / "none", read), "No such file or directory");
  EXPECT_THROW(write_moved_file(dir / "new/deep/f/under-a-file", file), std::runtime_error);
}

TEST(JobFiles, ThePoolsHostIsItsBootAndThisParent) {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string boot;
  std::getline(in, boot);
  EXPECT_TRUE(on_pool_host(""));
  EXPECT_TRUE(on_pool_host(boot + " " + std::to_string(::getppid())));
  EXPECT_FALSE(on_pool_host(boot + " " + std::to_string(::getpid())));
  EXPECT_FALSE(on_pool_host("another-boot " + std::to_string(::getppid())));
}

// On another host: the files under the working directory, the job's returns read, then the
// cleanup of what moved and of the directories it emptied, and nothing else.
TEST(JobFiles, AnotherHostsWorkdirFilesReturnsAndCleanup) {
  testing::TempDir dir;
  fs::create_directories(dir / "wd");
  testing::write_file(dir / "wd/keep", "k");
  ExecRequest request;
  request.workdir = dir / "wd";
  request.pool_host = "not-this-boot 1";
  request.transfer = {{.path = "in/a", .bytes = "A"}};
  request.returns = {"out/r", "missing"};
  request.cleanup = true;
  ExecResult result;
  {
    JobFiles files(request);
    EXPECT_EQ(files.directory(), dir / "wd");
    EXPECT_EQ(testing::read_file(dir / "wd/in/a"), "A");
    fs::create_directories(dir / "wd/out");
    testing::write_file(dir / "wd/out/r", "R");
    files.finish(result);
  }
  ASSERT_EQ(result.returned.size(), 1u);
  EXPECT_EQ(result.returned[0].path, "out/r");
  EXPECT_EQ(result.returned[0].bytes, "R");
  ASSERT_EQ(result.move_errors.size(), 1u);
  EXPECT_EQ(result.move_errors[0].rfind("cannot return 'missing' from host '", 0), 0u);
  EXPECT_FALSE(fs::exists(dir / "wd/in"));
  EXPECT_FALSE(fs::exists(dir / "wd/out"));
  EXPECT_EQ(testing::read_file(dir / "wd/keep"), "k");
}

// --workdir ... on this host: made, used, and removed with what the job left in it.
TEST(JobFiles, AUniqueWorkdirGoesWithEverythingInIt) {
  testing::TempDir dir;
  ExecRequest request;
  request.command = "mkdir d && echo x > d/f && pwd";
  request.workdir = dir / "unique/1";
  request.remove_workdir = true;
  const ExecResult result = run_exec(request);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, dir / "unique/1\n");
  EXPECT_FALSE(fs::exists(dir / "unique/1"));
}

}  // namespace
}  // namespace forkpool::workers
