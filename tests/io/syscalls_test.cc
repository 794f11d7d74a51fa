// Tests for io/syscalls.h (the one place that calls read, writev and poll) and io/epoll.h.
#include "io/syscalls.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "io/epoll.h"
#include "io/fd.h"
#include "io/pipe.h"
#include "support/bytes.h"
#include "support/child_process.h"
#include "support/leak_check.h"

namespace forkpool::io {
namespace {

using namespace std::chrono_literals;
using forkpool::testing::fork_child;
using forkpool::testing::ForkedChild;
using forkpool::testing::is_close_on_exec;
using forkpool::testing::is_open;
using forkpool::testing::kExitedCleanly;
using forkpool::testing::LeakCheck;
using forkpool::testing::patterned;
using Clock = std::chrono::steady_clock;

bool is_nonblocking(const Fd& fd) { return (::fcntl(fd.get(), F_GETFL) & O_NONBLOCK) != 0; }

// ---- write_all --------------------------------------------------------------------------------

// Many iovecs of random length (some empty) over `source`, with gaps between them so that writing
// past the end of one iovec shows up. `expected` gets what the stream must carry.
std::vector<iovec> scattered_iovecs(const std::string& source, std::size_t count,
                                    std::string& expected) {
  std::mt19937 random(2024);
  std::uniform_int_distribution<std::size_t> length(0, 3000);
  std::uniform_int_distribution<std::size_t> gap(1, 8);
  std::vector<iovec> iov;
  for (std::size_t at = 0; iov.size() < count;) {
    const std::size_t n = length(random);
    if (at + n > source.size()) break;
    iov.push_back({const_cast<char*>(source.data() + at), n});
    expected.append(source, at, n);
    at += n + gap(random);
  }
  return iov;
}

// In a child: reads the pipe to EOF in small reads with pauses (a slow reader, so the writer keeps
// finding the pipe full) and compares with `expected`. 0 if equal, 1 if not, 2 on a read error.
int read_slowly_and_compare(const Fd& read_end, std::string_view expected) {
  std::string got;
  char buffer[4096];
  for (int reads = 0;; ++reads) {
    const ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return 2;
    if (n == 0) break;
    got.append(buffer, static_cast<std::size_t>(n));
    if (reads % 4 == 0) std::this_thread::sleep_for(100us);  // the subject: a slow reader
  }
  return got == expected ? 0 : 1;
}

// More iovecs than writev(2) takes at once (IOV_MAX), through a pipe read slowly by a child.
void expect_iovecs_delivered_in_order(bool nonblocking) {
  LeakCheck leaks;
  const std::string source = patterned(10 << 20, 1);
  std::string expected;
  std::vector<iovec> iov = scattered_iovecs(source, 3000, expected);
  ASSERT_GT(iov.size(), std::size_t{IOV_MAX});
  Pipe pipe = Pipe::create();
  ForkedChild reader = fork_child([&] {
    pipe.write.reset();
    return read_slowly_and_compare(pipe.read, expected);
  });
  pipe.read.reset();
  if (nonblocking) set_nonblocking(pipe.write.get(), true);
  EXPECT_TRUE(write_all(pipe.write.get(), iov, 10s));
  pipe.write.reset();
  EXPECT_EQ(reader.wait().str(), kExitedCleanly) << "1: bytes differ, 2: read error";
  leaks.check();
}

// Blocking pipes take a writev whole (unless interrupted); this covers the iovec count.
TEST(WriteAllTest, BlockingPipeDeliversManyIovecsInOrder) {
  expect_iovecs_delivered_in_order(/*nonblocking=*/false);
}

// A non-blocking pipe takes what fits, so every writev is short and ends inside some iovec.
TEST(WriteAllTest, NonBlockingPipeDeliversManyIovecsInOrderThroughShortWrites) {
  expect_iovecs_delivered_in_order(/*nonblocking=*/true);
}

TEST(WriteAllTest, NothingToWriteReturnsAtOnce) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  std::vector<iovec> iov = {{nullptr, 0}, {nullptr, 0}};
  EXPECT_TRUE(write_all(pipe.write.get(), iov, 0ms));
  EXPECT_EQ(poll_one(pipe.read.get(), POLLIN, 0ms), 0);
  pipe = {};
  leaks.check();
}

// ---- read_once, poll_one, set_nonblocking -----------------------------------------------------

TEST(GrowPipeTest, GrowsAPipeAndRefusesWhatIsNoPipe) {
  Pipe pipe = Pipe::create();
  const int before = ::fcntl(pipe.read.get(), F_GETPIPE_SZ);
  ASSERT_GT(before, 0);
  EXPECT_TRUE(grow_pipe(pipe.read.get(), static_cast<std::size_t>(before) * 4));
  EXPECT_GE(::fcntl(pipe.write.get(), F_GETPIPE_SZ), before * 4) << "one buffer for both ends";
  EXPECT_TRUE(grow_pipe(pipe.read.get(), static_cast<std::size_t>(before))) << "already big enough";
  EXPECT_GE(::fcntl(pipe.read.get(), F_GETPIPE_SZ), before * 4) << "it never shrinks";
  Fd file(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  EXPECT_FALSE(grow_pipe(file.get(), 1 << 20));
}

TEST(PollOneTest, ReturnsZeroWhenTheWaitElapses) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  const auto start = Clock::now();
  EXPECT_EQ(poll_one(pipe.read.get(), POLLIN, 100ms), 0);
  EXPECT_GE(Clock::now() - start, 100ms);
  pipe = {};
  leaks.check();
}

TEST(PollOneTest, ReportsDataAndHangupFromAChild) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  ForkedChild writer = fork_child([&] { return ::write(pipe.write.get(), "x", 1) == 1 ? 0 : 1; });
  pipe.write.reset();
  EXPECT_EQ(writer.wait().str(), kExitedCleanly);
  const short revents = poll_one(pipe.read.get(), POLLIN, std::nullopt);
  EXPECT_TRUE(revents & POLLIN);
  EXPECT_TRUE(revents & POLLHUP);
  pipe.read.reset();
  leaks.check();
}

// read_once on a pipe nobody writes to gives up after the wait it was given.
void expect_read_once_times_out_on_an_empty_pipe(bool nonblocking) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  if (nonblocking) set_nonblocking(pipe.read.get(), true);
  char buffer[8];
  const auto start = Clock::now();
  EXPECT_EQ(read_once(pipe.read.get(), buffer, 100ms), std::nullopt);
  EXPECT_GE(Clock::now() - start, 100ms);
  pipe = {};
  leaks.check();
}

TEST(ReadOnceTest, EmptyNonBlockingPipeTimesOut) {
  expect_read_once_times_out_on_an_empty_pipe(/*nonblocking=*/true);
}

// A blocking descriptor must honour the wait too, or a stalled writer freezes the reader.
TEST(ReadOnceTest, EmptyBlockingPipeTimesOut) {
  expect_read_once_times_out_on_an_empty_pipe(/*nonblocking=*/false);
}

TEST(ReadOnceTest, ReturnsWhatIsThereThenZeroAtEndOfStream) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  ForkedChild writer = fork_child([&] { return ::write(pipe.write.get(), "abc", 3) == 3 ? 0 : 1; });
  pipe.write.reset();
  EXPECT_EQ(writer.wait().str(), kExitedCleanly);
  char buffer[8];
  EXPECT_EQ(read_once(pipe.read.get(), buffer, std::nullopt), 3u);
  EXPECT_EQ(std::string_view(buffer, 3), "abc");
  EXPECT_EQ(read_once(pipe.read.get(), buffer, 100ms), 0u);
  pipe.read.reset();
  leaks.check();
}

TEST(SetNonblockingTest, SetsAndClearsONonblock) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  ASSERT_FALSE(is_nonblocking(pipe.read));
  set_nonblocking(pipe.read.get(), true);
  EXPECT_TRUE(is_nonblocking(pipe.read));
  EXPECT_TRUE(is_close_on_exec(pipe.read.get())) << "descriptor flags must not change";
  set_nonblocking(pipe.read.get(), false);
  EXPECT_FALSE(is_nonblocking(pipe.read));
  pipe = {};
  leaks.check();
}

// ---- close_cloexec_fds_except -----------------------------------------------------------------

// Exit codes of close_and_inspect().
enum CloseResult : int {
  kAsExpected = 0,
  kProcUnreadable = 1,
  kKeptWasClosed = 2,
  kCloexecSurvived = 3,
  kInheritedWasClosed = 4,
  kReportFailed = 5,
};

// In the child: closes as if exec'ing, keeping `kept`, then checks what is left open.
int close_and_inspect(const Fd& kept, const Pipe& dropped, const Fd& inherited) {
  const int keep[] = {kept.get()};
  if (!close_cloexec_fds_except(keep)) return kProcUnreadable;
  if (!is_open(kept.get())) return kKeptWasClosed;
  if (is_open(dropped.read.get()) || is_open(dropped.write.get())) return kCloexecSurvived;
  for (int fd : forkpool::testing::open_fds()) {
    if (fd != kept.get() && is_close_on_exec(fd)) return kCloexecSurvived;
  }
  if (!is_open(inherited.get())) return kInheritedWasClosed;
  // The kept descriptor is still the same pipe: the parent reads this byte.
  return ::write(kept.get(), "k", 1) == 1 ? kAsExpected : kReportFailed;
}

TEST(CloseCloexecFdsExceptTest, ClosesCloseOnExecDescriptorsButTheKeptAndInheritedOnes) {
  LeakCheck leaks;
  Pipe report = Pipe::create();
  Pipe dropped = Pipe::create();
  Fd inherited(::fcntl(dropped.read.get(), F_DUPFD, 0));  // without close-on-exec
  ASSERT_TRUE(inherited.valid());
  ForkedChild child =
      fork_child([&] { return close_and_inspect(report.write, dropped, inherited); });
  report.write.reset();
  EXPECT_EQ(child.wait().str(), kExitedCleanly)
      << "1: /proc/self/fd unreadable, 2: kept closed, 3: close-on-exec survived, "
         "4: inherited closed, 5: report failed";
  char byte = 0;
  EXPECT_EQ(::read(report.read.get(), &byte, 1), 1);
  EXPECT_EQ(byte, 'k');
  // The parent's descriptors are untouched.
  EXPECT_TRUE(is_open(dropped.read.get()));
  EXPECT_TRUE(is_open(dropped.write.get()));
  report = {};
  dropped = {};
  inherited.reset();
  leaks.check();
}

// ---- Epoll and EventFd ------------------------------------------------------------------------

TEST(EpollTest, WaitReportsTheDataOfTheDescriptorThatBecameReadable) {
  LeakCheck leaks;
  {
    Pipe quiet = Pipe::create();
    Pipe busy = Pipe::create();
    Epoll epoll;
    epoll.add(quiet.read, EPOLLIN, 7);
    epoll.add(busy.read, EPOLLIN, 42);
    ForkedChild writer = fork_child([&] { return ::write(busy.write.get(), "b", 1) == 1 ? 0 : 1; });
    epoll_event events[4];
    ASSERT_EQ(epoll.wait(events, 10s), 1u);
    EXPECT_EQ(events[0].data.u64, 42u);
    EXPECT_TRUE(events[0].events & EPOLLIN);
    EXPECT_EQ(writer.wait().str(), kExitedCleanly);
  }
  leaks.check();
}

TEST(EpollTest, EventFdSignalFromAnotherThreadWakesTheWait) {
  LeakCheck leaks;
  {
    Epoll epoll;
    EventFd wake;
    epoll.add(wake.fd(), EPOLLIN, 99);
    std::thread signaller([&] { wake.signal(); });
    epoll_event events[4];
    const std::size_t n = epoll.wait(events, 10s);
    signaller.join();
    ASSERT_EQ(n, 1u);
    EXPECT_EQ(events[0].data.u64, 99u);
    // clear() consumes the signal: the eventfd is quiet again, and a second signal wakes again.
    wake.clear();
    EXPECT_EQ(epoll.wait(events, 0ms), 0u);
    wake.signal();
    wake.signal();
    EXPECT_EQ(epoll.wait(events, 0ms), 1u);
  }
  leaks.check();
}

TEST(EpollTest, RemoveStopsEvents) {
  LeakCheck leaks;
  {
    Pipe pipe = Pipe::create();
    Epoll epoll;
    epoll.add(pipe.read, EPOLLIN, 1);
    ASSERT_EQ(::write(pipe.write.get(), "r", 1), 1);
    epoll_event events[4];
    ASSERT_EQ(epoll.wait(events, 0ms), 1u);
    epoll.remove(pipe.read);
    EXPECT_EQ(epoll.wait(events, 0ms), 0u) << "still reported after remove()";
    epoll.remove(pipe.read);  // removing again is a no-op
  }
  leaks.check();
}

TEST(EpollTest, WaitReturnsZeroWhenTheTimeoutElapses) {
  LeakCheck leaks;
  {
    Pipe pipe = Pipe::create();
    Epoll epoll;
    epoll.add(pipe.read, EPOLLIN, 1);
    epoll_event events[4];
    const auto start = Clock::now();
    EXPECT_EQ(epoll.wait(events, 100ms), 0u);
    EXPECT_GE(Clock::now() - start, 100ms);
  }
  leaks.check();
}

}  // namespace
}  // namespace forkpool::io
