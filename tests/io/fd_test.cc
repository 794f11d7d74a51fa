// Tests for io/fd.h and io/pipe.h: ownership of a descriptor, and what crosses an exec.
#include "io/fd.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include "io/pipe.h"
#include "support/child_process.h"
#include "support/leak_check.h"

namespace forkpool::io {
namespace {

using forkpool::testing::fork_child;
using forkpool::testing::ForkedChild;
using forkpool::testing::is_close_on_exec;
using forkpool::testing::is_open;
using forkpool::testing::kExitedCleanly;
using forkpool::testing::LeakCheck;

// True when every write end of the pipe is closed: the read end is readable and reads EOF.
// Never blocks, so a test that is wrong fails instead of hanging.
bool reads_eof(const Fd& read_end) {
  pollfd p{read_end.get(), POLLIN, 0};
  char byte;
  return ::poll(&p, 1, 0) == 1 && ::read(read_end.get(), &byte, 1) == 0;
}

// Sends one byte through `write_end` and returns what `read_end` received.
char send_byte(const Fd& write_end, const Fd& read_end, char byte) {
  char got = 0;
  if (::write(write_end.get(), &byte, 1) != 1) return 0;
  if (::read(read_end.get(), &got, 1) != 1) return 0;
  return got;
}

TEST(FdTest, DefaultConstructedIsInvalid) {
  Fd fd;
  EXPECT_FALSE(fd.valid());
  EXPECT_FALSE(fd);
  EXPECT_EQ(fd.get(), -1);
  EXPECT_EQ(fd.release(), -1);
}

TEST(FdTest, ClosesOnDestruction) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  const int number = pipe.write.get();
  { Fd owner = std::move(pipe.write); }
  EXPECT_FALSE(is_open(number));
  EXPECT_TRUE(reads_eof(pipe.read));
  pipe.read.reset();
  leaks.check();
}

TEST(FdTest, MoveConstructionTransfersOwnership) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  const int number = pipe.write.get();
  Fd moved(std::move(pipe.write));
  EXPECT_FALSE(pipe.write.valid());  // NOLINT(bugprone-use-after-move): the moved-from state
  EXPECT_EQ(moved.get(), number);
  EXPECT_EQ(send_byte(moved, pipe.read, 'm'), 'm');
  moved.reset();
  EXPECT_TRUE(reads_eof(pipe.read));
  pipe.read.reset();
  leaks.check();
}

TEST(FdTest, MoveAssignmentClosesThePreviousDescriptor) {
  LeakCheck leaks;
  Pipe first = Pipe::create();
  Pipe second = Pipe::create();
  const int first_write = first.write.get();
  const int second_write = second.write.get();
  first.write = std::move(second.write);
  EXPECT_FALSE(is_open(first_write));
  EXPECT_TRUE(reads_eof(first.read));
  EXPECT_FALSE(second.write.valid());  // NOLINT(bugprone-use-after-move): the moved-from state
  EXPECT_EQ(first.write.get(), second_write);
  EXPECT_EQ(send_byte(first.write, second.read, 'a'), 'a');
  first = {};
  second = {};
  leaks.check();
}

TEST(FdTest, SelfMoveAssignmentKeepsTheDescriptor) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  const int number = pipe.write.get();
  Fd& alias = pipe.write;
  pipe.write = std::move(alias);
  EXPECT_EQ(pipe.write.get(), number);
  EXPECT_EQ(send_byte(pipe.write, pipe.read, 's'), 's');
  pipe = {};
  leaks.check();
}

TEST(FdTest, ReleaseGivesUpOwnershipWithoutClosing) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  const int number = pipe.write.get();
  const int raw = pipe.write.release();
  EXPECT_EQ(raw, number);
  EXPECT_FALSE(pipe.write.valid());
  pipe.write.reset();  // owns nothing, so closes nothing
  EXPECT_TRUE(is_open(raw));
  EXPECT_FALSE(reads_eof(pipe.read));
  Fd adopted(raw);
  EXPECT_EQ(send_byte(adopted, pipe.read, 'r'), 'r');
  adopted.reset();
  pipe.read.reset();
  leaks.check();
}

TEST(FdTest, ResetClosesTheOldDescriptorAndAdoptsTheNewOne) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  const int old_number = pipe.write.get();
  const int read_copy = ::fcntl(pipe.read.get(), F_DUPFD_CLOEXEC, 0);
  ASSERT_GE(read_copy, 0);
  pipe.write.reset(read_copy);
  EXPECT_FALSE(is_open(old_number));
  EXPECT_EQ(pipe.write.get(), read_copy);
  EXPECT_TRUE(reads_eof(pipe.read));
  pipe = {};
  EXPECT_FALSE(is_open(read_copy));
  leaks.check();
}

TEST(FdTest, DuplicateIsCloseOnExecAndAtLeastMinFd) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  // A source without close-on-exec, so the flag on the copy must come from duplicate() itself.
  Fd plain(::fcntl(pipe.write.get(), F_DUPFD, 0));
  ASSERT_TRUE(plain.valid());
  ASSERT_FALSE(is_close_on_exec(plain.get()));
  Fd copy = Fd::duplicate(plain.get(), 100);
  EXPECT_GE(copy.get(), 100);
  EXPECT_TRUE(is_close_on_exec(copy.get()));
  // The copy is the same pipe: it keeps the pipe open after the others close, and carries data.
  plain.reset();
  pipe.write.reset();
  EXPECT_FALSE(reads_eof(pipe.read));
  EXPECT_EQ(send_byte(copy, pipe.read, 'd'), 'd');
  copy.reset();
  EXPECT_TRUE(reads_eof(pipe.read));
  pipe.read.reset();
  leaks.check();
}

TEST(FdTest, DuplicateOfAClosedDescriptorThrowsEbadf) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  const int closed = pipe.write.get();
  pipe.write.reset();
  try {
    Fd::duplicate(closed);
    ADD_FAILURE() << "duplicate() of a closed descriptor did not throw";
  } catch (const std::system_error& error) {
    EXPECT_EQ(error.code().value(), EBADF);
  }
  pipe.read.reset();
  leaks.check();
}

TEST(PipeTest, CreateGivesBlockingCloseOnExecEnds) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  ASSERT_TRUE(pipe.read.valid());
  ASSERT_TRUE(pipe.write.valid());
  for (const Fd* end : {&pipe.read, &pipe.write}) {
    EXPECT_TRUE(is_close_on_exec(end->get()));
    EXPECT_EQ(::fcntl(end->get(), F_GETFL) & O_NONBLOCK, 0);
  }
  EXPECT_EQ(::fcntl(pipe.read.get(), F_GETFL) & O_ACCMODE, O_RDONLY);
  EXPECT_EQ(::fcntl(pipe.write.get(), F_GETFL) & O_ACCMODE, O_WRONLY);
  EXPECT_EQ(send_byte(pipe.write, pipe.read, 'p'), 'p');
  pipe = {};
  leaks.check();
}

// The exec'd shell checks its own descriptor table: the one descriptor made without
// close-on-exec is there (so the check can see descriptors at all), the others are not.
TEST(PipeTest, CloseOnExecEndsDoNotReachAnExecdProgram) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  Fd copy = Fd::duplicate(pipe.write.get(), 200);
  Fd inherited(::fcntl(pipe.read.get(), F_DUPFD, 300));
  ASSERT_TRUE(inherited.valid());
  auto present = [](const Fd& fd) { return "test -e /proc/self/fd/" + std::to_string(fd.get()); };
  const std::string script = present(inherited) + " && ! " + present(pipe.read) + " && ! " +
                             present(pipe.write) + " && ! " + present(copy);
  ForkedChild shell = fork_child([&] {
    ::execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    return 127;
  });
  EXPECT_EQ(shell.wait().str(), kExitedCleanly) << script;
  pipe = {};
  copy.reset();
  inherited.reset();
  leaks.check();
}

}  // namespace
}  // namespace forkpool::io
