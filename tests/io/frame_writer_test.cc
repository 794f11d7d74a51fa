// Tests for io/frame_writer.h: what goes on the wire, and a writer whose reader is slow,
// stalled or gone — with real processes, pipes and signals.
#include "io/frame_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "forkpool/errors.h"
#include "io/blocking_reader.h"
#include "io/frame_format.h"
#include "io/pipe.h"
#include "io/syscalls.h"
#include "support/bytes.h"
#include "support/child_process.h"
#include "support/leak_check.h"

namespace forkpool::io {
namespace {

using namespace std::chrono_literals;
using forkpool::testing::caught;
using forkpool::testing::fork_child;
using forkpool::testing::ForkedChild;
using forkpool::testing::interrupt_while_blocked;
using forkpool::testing::InterruptingSignal;
using forkpool::testing::kExitedCleanly;
using forkpool::testing::LeakCheck;
using forkpool::testing::patterned;
using forkpool::testing::view;
using Clock = std::chrono::steady_clock;

// ---- Bytes -----------------------------------------------------------------------------------

// The bytes now in the pipe, without blocking (the writer has finished).
std::string drain(const Fd& read_end) {
  std::string bytes;
  char buffer[4096];
  pollfd p{read_end.get(), POLLIN, 0};
  while (::poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
    const ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
    if (n <= 0) break;
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
  return bytes;
}

std::uint32_t little_endian_u32(std::string_view bytes, std::size_t offset) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    value |= std::uint32_t{static_cast<unsigned char>(bytes[offset + i])} << (8 * i);
  }
  return value;
}

// ---- Round trip and layout --------------------------------------------------------------------

struct SentFrame {
  std::uint8_t kind;
  std::uint8_t flags;
  std::uint64_t task_id;
  std::string payload;
};

TEST(FrameWriterTest, FramesRoundTripThroughBlockingReader) {
  LeakCheck leaks;
  const std::vector<SentFrame> frames = {{1, 0, 1, ""},
                                         {2, 3, std::uint64_t{1} << 40, "hello"},
                                         {7, 0xff, UINT64_MAX, patterned(1 << 20, 1)},
                                         {0, 0, 0, patterned(70'000, 2)}};
  Pipe pipe = Pipe::create();
  ForkedChild writer = fork_child([&] {
    pipe.read.reset();
    FrameWriter frame_writer(pipe.write);
    for (const SentFrame& f : frames)
      frame_writer.write_frame(f.kind, f.flags, f.task_id, f.payload);
    return 0;
  });
  pipe.write.reset();
  BlockingReader reader(pipe.read);
  for (const SentFrame& sent : frames) {
    std::optional<Frame> frame = reader.read_frame();
    ASSERT_TRUE(frame.has_value());
    EXPECT_EQ(frame->kind, sent.kind);
    EXPECT_EQ(frame->flags, sent.flags);
    EXPECT_EQ(frame->task_id, sent.task_id);
    EXPECT_TRUE(view(frame->payload) == sent.payload) << "payload differs";
  }
  EXPECT_FALSE(reader.read_frame().has_value());
  EXPECT_EQ(writer.wait().str(), kExitedCleanly);
  pipe.read.reset();
  leaks.check();
}

// Checked byte by byte against the layout comment in io/frame_format.h, not via decode_header.
TEST(FrameWriterTest, HeaderOnTheWireMatchesTheDocumentedLayout) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  const std::string payload = patterned(0x105, 3);  // 261: both low length bytes non-zero
  FrameWriter(pipe.write).write_frame(0xA5, 0x5A, 0x0102030405060708, payload);
  const std::string wire = drain(pipe.read);
  ASSERT_EQ(wire.size(), 24u + payload.size());
  EXPECT_EQ(wire.substr(0, 4), "FKP1");
  const std::string length_and_kind = {0x05, 0x01, 0x00, 0x00, char(0xA5), 0x5A, 0x00, 0x00};
  EXPECT_EQ(wire.substr(4, 8), length_and_kind);
  const auto xxh3 = XXH3_64bits(payload.data(), payload.size());
  EXPECT_EQ(little_endian_u32(wire, 12), static_cast<std::uint32_t>(xxh3));
  EXPECT_EQ(wire.substr(16, 8), std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8));
  EXPECT_TRUE(wire.substr(24) == payload) << "payload differs";
  pipe = {};
  leaks.check();
}

TEST(FrameWriterTest, EmptyPayloadIsAHeaderOnly) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  FrameWriter(pipe.write).write_frame(1, 2, 3, {});
  const std::string wire = drain(pipe.read);
  ASSERT_EQ(wire.size(), 24u);
  EXPECT_EQ(wire.substr(0, 4), "FKP1");
  EXPECT_EQ(little_endian_u32(wire, 4), 0u);
  EXPECT_EQ(little_endian_u32(wire, 12), static_cast<std::uint32_t>(XXH3_64bits(nullptr, 0)));
  pipe = {};
  leaks.check();
}

TEST(FrameWriterTest, PayloadAboveMaxFrameIsMessageTooLargeAndWritesNothing) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  FrameWriter writer(pipe.write, {.max_frame = 100});
  const std::string payload(101, 'x');
  auto error = caught<MessageTooLarge>([&] { writer.write_frame(1, 0, 9, payload); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->size, 101u);
  EXPECT_EQ(error->max, 100u);
  EXPECT_EQ(drain(pipe.read), "");
  // One byte less fits, and the writer is still usable after the refusal.
  writer.write_frame(1, 0, 9, std::string_view(payload).substr(1));
  EXPECT_EQ(drain(pipe.read).size(), 24u + 100u);
  pipe = {};
  leaks.check();
}

// ---- The reader is gone -----------------------------------------------------------------------

// Exit codes of write_expecting_peer_gone().
enum PeerGoneResult : int {
  kPeerGone = 0,
  kWroteWithoutError = 1,
  kSigpipeLeftPending = 2,
  kSigpipeLeftBlocked = 3,
};

// Runs in a child so that a SIGPIPE that gets through kills the child, not the test binary.
// With SIGPIPE's default action and unblocked, writes a frame whose reader is (or will be) gone.
int write_expecting_peer_gone(const Fd& write_end, std::size_t payload_size) {
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  ::sigaction(SIGPIPE, &default_action, nullptr);
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  ::pthread_sigmask(SIG_UNBLOCK, &pipe_only, nullptr);

  const std::string payload(payload_size, 'p');
  if (!caught<PeerGone>([&] { FrameWriter(write_end).write_frame(1, 0, 1, payload); })) {
    return kWroteWithoutError;
  }
  sigset_t now;
  ::sigpending(&now);
  if (sigismember(&now, SIGPIPE)) return kSigpipeLeftPending;
  ::pthread_sigmask(SIG_BLOCK, nullptr, &now);
  if (sigismember(&now, SIGPIPE)) return kSigpipeLeftBlocked;
  return kPeerGone;
}

TEST(FrameWriterTest, ReaderClosedBeforeTheWriteIsPeerGoneWithoutSigpipe) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  // The reader is a real process that exits; with it goes the last read end.
  ForkedChild reader = fork_child([&] { return 0; });
  pipe.read.reset();
  EXPECT_EQ(reader.wait().str(), kExitedCleanly);
  ForkedChild writer = fork_child([&] { return write_expecting_peer_gone(pipe.write, 100); });
  EXPECT_EQ(writer.wait().str(), kExitedCleanly) << "1: no error, 2: SIGPIPE left pending, "
                                                    "3: SIGPIPE left blocked, 99: other error";
  pipe.write.reset();
  leaks.check();
}

// A large frame fills the pipe; the reader takes the header and goes away while the writer is
// blocked, so the write fails part-way.
TEST(FrameWriterTest, ReaderLeavingMidFrameIsPeerGoneWithoutSigpipe) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  ForkedChild writer = fork_child([&] {
    pipe.read.reset();
    return write_expecting_peer_gone(pipe.write, 4 << 20);
  });
  pipe.write.reset();
  char header[kFrameHeaderSize];
  BlockingReader(pipe.read).read_exact(header);
  EXPECT_EQ(std::string_view(header, 4), "FKP1");
  pipe.read.reset();
  EXPECT_EQ(writer.wait().str(), kExitedCleanly) << "1: no error, 2: SIGPIPE left pending, "
                                                    "3: SIGPIPE left blocked, 99: other error";
  leaks.check();
}

// ---- Signals and stalls -----------------------------------------------------------------------

// The reader interrupts this process while it is blocked writing into the full pipe, then reads
// and checks the frame. Each interrupted writev must be resumed where it stopped.
TEST(FrameWriterTest, ResumesWritesInterruptedBySignals) {
  LeakCheck leaks;
  constexpr int kInterrupts = 5;
  Pipe data = Pipe::create();
  Pipe ack = Pipe::create();
  InterruptingSignal signal(ack.write);
  const pid_t writer_pid = ::getpid();
  const std::string payload = patterned(4 << 20, 4);
  ForkedChild reader = fork_child([&] {
    data.write.reset();
    ack.write.reset();
    if (!interrupt_while_blocked(writer_pid, ack.read, kInterrupts)) return 2;
    std::optional<Frame> frame = BlockingReader(data.read).read_frame();
    if (!frame || frame->task_id != 5) return 3;
    return view(frame->payload) == payload ? 0 : 4;
  });
  data.read.reset();
  ack.read.reset();
  FrameWriter(data.write).write_frame(1, 0, 5, payload);
  data.write.reset();
  EXPECT_EQ(reader.wait().str(), kExitedCleanly) << "2: not interrupted, 3/4: wrong frame";
  EXPECT_EQ(signal.count(), kInterrupts);
  ack.write.reset();
  leaks.check();
}

// Nobody reads the pipe: once it is full, a non-blocking writer waits stall_timeout, then gives up.
TEST(FrameWriterTest, NonBlockingWriterWhoseReaderNeverReadsIsStalledFrame) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  set_nonblocking(pipe.write.get(), true);
  FrameWriter writer(pipe.write, {.stall_timeout = 200ms});
  const std::string payload = patterned(1 << 20, 5);
  const auto start = Clock::now();
  auto error = caught<StalledFrame>([&] { writer.write_frame(1, 0, 1, payload); });
  const auto waited = Clock::now() - start;
  ASSERT_TRUE(error.has_value()) << "no StalledFrame";
  EXPECT_EQ(error->expected, kFrameHeaderSize + payload.size());
  EXPECT_GT(error->got, 0u);
  EXPECT_LT(error->got, error->expected);
  EXPECT_GE(waited, 200ms);
  EXPECT_LT(waited, 5s) << "the configured stall_timeout was not used";
  pipe = {};
  leaks.check();
}

}  // namespace
}  // namespace forkpool::io
