// Tests for io/blocking_reader.h against real writer processes: frames that arrive in pieces,
// streams that end or stall mid-frame, malformed headers, signals, non-blocking descriptors.
#include "io/blocking_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "forkpool/errors.h"
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
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Clock = std::chrono::steady_clock;

// ---- Processes -------------------------------------------------------------------------------

// Plain write(2) loop: the writer side of these tests must not depend on the code under test.
bool write_fully(const Fd& fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd.get(), bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Forks a writer that sends `bytes` as separate write(2)s of `pieces` bytes each (then the rest
// in one), pausing `pause` after each piece, and exits. The parent keeps only the read end, so
// the writer's exit is the reader's end of stream.
ForkedChild start_writer(Pipe& pipe, std::string_view bytes, std::vector<std::size_t> pieces = {},
                         std::chrono::microseconds pause = 0us) {
  ForkedChild writer = fork_child([&pipe, bytes, &pieces, pause]() mutable {
    pipe.read.reset();
    for (std::size_t size : pieces) {
      size = std::min(size, bytes.size());
      if (!write_fully(pipe.write, bytes.substr(0, size))) return 1;
      bytes.remove_prefix(size);
      std::this_thread::sleep_for(pause);  // the subject of the test: a slow writer
    }
    return write_fully(pipe.write, bytes) ? 0 : 1;
  });
  pipe.write.reset();
  return writer;
}

// Random piece sizes in [1, max_piece] covering `total` bytes.
std::vector<std::size_t> random_pieces(std::size_t total, unsigned seed, std::size_t max_piece) {
  std::mt19937 random(seed);
  std::uniform_int_distribution<std::size_t> size(1, max_piece);
  std::vector<std::size_t> pieces;
  for (std::size_t sum = 0; sum < total;) sum += pieces.emplace_back(size(random));
  return pieces;
}

// ---- Frames ----------------------------------------------------------------------------------

std::string with_header(const FrameHeader& header, std::string_view payload) {
  const HeaderBytes raw = encode_header(header);
  std::string bytes(raw.begin(), raw.end());
  bytes.append(payload);
  return bytes;
}

FrameHeader valid_header(std::string_view payload, std::uint64_t task_id) {
  FrameHeader header;
  header.payload_length = static_cast<std::uint32_t>(payload.size());
  header.kind = 3;
  header.flags = 1;
  header.checksum = frame_checksum(payload);
  header.task_id = task_id;
  return header;
}

std::string frame_bytes(std::string_view payload, std::uint64_t task_id = 7) {
  return with_header(valid_header(payload, task_id), payload);
}

// Compares without printing megabytes on failure.
void expect_frame(const std::optional<Frame>& frame, std::string_view payload,
                  std::uint64_t task_id) {
  ASSERT_TRUE(frame.has_value()) << "clean end of stream instead of a frame";
  EXPECT_EQ(frame->kind, 3);
  EXPECT_EQ(frame->flags, 1);
  EXPECT_EQ(frame->task_id, task_id);
  ASSERT_EQ(frame->payload.size(), payload.size());
  EXPECT_TRUE(view(frame->payload) == payload) << "payload differs";
}

// ---- Frames that arrive in pieces -------------------------------------------------------------

TEST(BlockingReaderTest, ReadsAFrameDribbledOneByteAtATime) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  const std::string payload = patterned(100, 1);
  const std::string bytes = frame_bytes(payload, 42);
  ForkedChild writer = start_writer(pipe, bytes, std::vector<std::size_t>(bytes.size(), 1), 300us);
  BlockingReader reader(pipe.read);
  expect_frame(reader.read_frame(), payload, 42);
  EXPECT_FALSE(reader.read_frame().has_value());
  EXPECT_EQ(writer.wait().str(), kExitedCleanly);
  pipe.read.reset();
  leaks.check();
}

// Several frames back to back, cut at random points that ignore frame boundaries.
TEST(BlockingReaderTest, ReadsFramesSplitAtRandomPointsOverManyWrites) {
  LeakCheck leaks;
  const std::vector<std::string> payloads = {patterned(100'000, 2), "", "x", patterned(70'000, 3)};
  std::string stream;
  for (std::size_t i = 0; i < payloads.size(); ++i) stream += frame_bytes(payloads[i], 100 + i);
  for (unsigned seed : {1u, 2u, 3u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Pipe pipe = Pipe::create();
    ForkedChild writer = start_writer(pipe, stream, random_pieces(stream.size(), seed, 1500));
    BlockingReader reader(pipe.read);
    for (std::size_t i = 0; i < payloads.size(); ++i) {
      expect_frame(reader.read_frame(), payloads[i], 100 + i);
    }
    EXPECT_FALSE(reader.read_frame().has_value());
    EXPECT_EQ(writer.wait().str(), kExitedCleanly);
  }
  leaks.check();
}

TEST(BlockingReaderTest, ReadsAFrameOfTheDefaultMaximumOf64MiB) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  const std::string payload = patterned(kDefaultMaxFrame, 64);
  ForkedChild writer = start_writer(pipe, frame_bytes(payload, 64));
  std::optional<Frame> frame = BlockingReader(pipe.read).read_frame();
  ASSERT_TRUE(frame.has_value());
  ASSERT_EQ(frame->payload.size(), kDefaultMaxFrame);
  EXPECT_EQ(XXH3_64bits(frame->payload.data(), frame->payload.size()),
            XXH3_64bits(payload.data(), payload.size()));
  EXPECT_TRUE(view(frame->payload) == payload) << "payload differs";
  EXPECT_EQ(frame->task_id, 64u);
  EXPECT_EQ(writer.wait().str(), kExitedCleanly);
  pipe.read.reset();
  leaks.check();
}

// A large payload's storage, once freed, is the next large payload's: a worker sending one big
// result after another, or the parent receiving them, writes into memory already faulted in.
// A frame of another shape gets fresh storage, and the kept block is let go.
TEST(BlockingReaderTest, ALargePayloadReusesTheStorageOfTheLastOne) {
  const std::size_t size = std::size_t{8} << 20;
  const std::string first = patterned(size, 11);
  const std::string second = patterned(size - 4096, 12);  // the same huge-page count
  const std::string other = patterned(size * 3, 13);
  Pipe pipe = Pipe::create();
  ForkedChild writer =
      start_writer(pipe, frame_bytes(first, 1) + frame_bytes(second, 2) + frame_bytes(other, 3));
  BlockingReader reader(pipe.read);
  const void* storage = nullptr;
  {
    std::optional<Frame> frame = reader.read_frame();
    expect_frame(frame, first, 1);
    storage = frame->payload.data();
  }
  std::optional<Frame> frame = reader.read_frame();
  expect_frame(frame, second, 2);
  EXPECT_EQ(static_cast<const void*>(frame->payload.data()), storage);
  frame.reset();
  // Three times the size: the kept block does not fit, so it is let go and the frame gets
  // fresh storage; that storage is then the one kept.
  std::optional<Frame> larger = reader.read_frame();
  expect_frame(larger, other, 3);
  EXPECT_EQ(writer.wait().str(), kExitedCleanly);
  auto& kept = detail::LargeBlockCache::instance();
  EXPECT_EQ(kept.take(size), nullptr) << "the first block outlived a miss";
  const void* larger_storage = larger->payload.data();
  larger.reset();
  void* block = kept.take(other.size());
  EXPECT_EQ(block, larger_storage);
  std::free(block);
  // Nothing over the bound is kept.
  EXPECT_FALSE(kept.keep(nullptr, detail::LargeBlockCache::kMaxBytes + 1));
}

// ---- End of stream ----------------------------------------------------------------------------

TEST(BlockingReaderTest, EndOfStreamBeforeTheFirstHeaderByteIsACleanEnd) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  ForkedChild writer = start_writer(pipe, "");
  EXPECT_FALSE(BlockingReader(pipe.read).read_frame().has_value());
  EXPECT_EQ(writer.wait().str(), kExitedCleanly);
  pipe.read.reset();
  leaks.check();
}

// Inside the header the reader cannot trust the length yet, so `expected` is the header size;
// inside the payload it is the whole frame.
TEST(BlockingReaderTest, EndOfStreamAtEveryOffsetInsideAFrameIsTruncatedFrame) {
  LeakCheck leaks;
  const std::string bytes = frame_bytes(patterned(10, 5));
  for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
    SCOPED_TRACE("stream ends after byte " + std::to_string(cut));
    Pipe pipe = Pipe::create();
    ForkedChild writer = start_writer(pipe, std::string_view(bytes).substr(0, cut));
    BlockingReader reader(pipe.read);
    auto error = caught<TruncatedFrame>([&] { reader.read_frame(); });
    ASSERT_TRUE(error.has_value()) << "no TruncatedFrame";
    EXPECT_EQ(error->expected, cut < kFrameHeaderSize ? kFrameHeaderSize : bytes.size());
    EXPECT_EQ(error->got, cut);
    EXPECT_EQ(writer.wait().str(), kExitedCleanly);
  }
  leaks.check();
}

// ---- Malformed frames -------------------------------------------------------------------------

// What follows the header is still in the pipe afterwards: the reader did not read a payload.
TEST(BlockingReaderTest, PayloadLengthAboveMaxFrameIsProtocolErrorBeforeThePayloadIsRead) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  const std::string after = "not read as payload";
  FrameHeader header = valid_header(after, 1);
  header.payload_length = 1025;
  ForkedChild writer = start_writer(pipe, with_header(header, after));
  BlockingReader reader(pipe.read, {.max_frame = 1024});
  auto error = caught<ProtocolError>([&] { reader.read_frame(); });
  ASSERT_TRUE(error.has_value());
  EXPECT_THAT(error->what(), StartsWith("protocol error: "));
  EXPECT_THAT(error->what(), HasSubstr("1025"));
  std::string rest(after.size(), '\0');
  reader.read_exact(rest);
  EXPECT_EQ(rest, after);
  EXPECT_EQ(writer.wait().str(), kExitedCleanly);
  pipe.read.reset();
  leaks.check();
}

TEST(BlockingReaderTest, PayloadOfExactlyMaxFrameIsAccepted) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  const std::string payload = patterned(1024, 6);
  ForkedChild writer = start_writer(pipe, frame_bytes(payload, 6));
  expect_frame(BlockingReader(pipe.read, {.max_frame = 1024}).read_frame(), payload, 6);
  EXPECT_EQ(writer.wait().str(), kExitedCleanly);
  pipe.read.reset();
  leaks.check();
}

// Reads one frame from a writer child that sends `bytes`; returns the ProtocolError it threw.
std::optional<ProtocolError> protocol_error_reading(std::string_view bytes) {
  Pipe pipe = Pipe::create();
  ForkedChild writer = start_writer(pipe, bytes);
  auto error = caught<ProtocolError>([&] { BlockingReader(pipe.read).read_frame(); });
  EXPECT_EQ(writer.wait().str(), kExitedCleanly);
  return error;
}

TEST(BlockingReaderTest, BadMagicIsProtocolError) {
  LeakCheck leaks;
  auto error = protocol_error_reading("GET / HTTP/1.1\r\nHost: forkpool\r\n\r\n");
  ASSERT_TRUE(error.has_value());
  EXPECT_THAT(error->what(), StartsWith("protocol error: "));
  EXPECT_THAT(error->what(), HasSubstr("magic"));
  leaks.check();
}

TEST(BlockingReaderTest, NonZeroReservedFieldIsProtocolError) {
  LeakCheck leaks;
  FrameHeader header = valid_header("ok", 1);
  header.reserved = 0x0100;
  auto error = protocol_error_reading(with_header(header, "ok"));
  ASSERT_TRUE(error.has_value());
  EXPECT_THAT(error->what(), StartsWith("protocol error: "));
  EXPECT_THAT(error->what(), HasSubstr("reserved"));
  leaks.check();
}

// The corrupt frame is consumed whole, so the stream stays in step for the next frame.
TEST(BlockingReaderTest, ChecksumMismatchIsCorruptFrameAndTheNextFrameStillReads) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  std::string corrupt = frame_bytes(patterned(500, 7), 1);
  corrupt.back() ^= 0x01;
  const std::string next = patterned(50, 8);
  ForkedChild writer = start_writer(pipe, corrupt + frame_bytes(next, 2));
  BlockingReader reader(pipe.read);
  auto error = caught<CorruptFrame>([&] { reader.read_frame(); });
  ASSERT_TRUE(error.has_value());
  EXPECT_THAT(error->what(), HasSubstr("checksum"));
  expect_frame(reader.read_frame(), next, 2);
  EXPECT_EQ(writer.wait().str(), kExitedCleanly);
  pipe.read.reset();
  leaks.check();
}

// A payload of a megabyte or more is hashed piece by piece as it arrives: a flipped byte in
// any piece, the last one included, is still a CorruptFrame, and the stream stays in step.
TEST(BlockingReaderTest, ALargePayloadIsVerifiedPieceByPiece) {
  LeakCheck leaks;
  const std::size_t size = 3 * 1024 * 1024 + 17;  // three whole pieces and a short one
  for (std::size_t flipped : {std::size_t{0}, std::size_t{1024 * 1024}, size - 1}) {
    Pipe pipe = Pipe::create();
    std::string corrupt = frame_bytes(patterned(size, 9), 1);
    corrupt[kFrameHeaderSize + flipped] ^= 0x01;
    const std::string next = patterned(size, 10);
    ForkedChild writer = start_writer(pipe, corrupt + frame_bytes(next, 2));
    BlockingReader reader(pipe.read);
    auto error = caught<CorruptFrame>([&] { reader.read_frame(); });
    ASSERT_TRUE(error.has_value()) << "byte " << flipped;
    expect_frame(reader.read_frame(), next, 2);
    EXPECT_EQ(writer.wait().str(), kExitedCleanly);
    pipe.read.reset();
  }
  leaks.check();
}

TEST(FrameChecksumTest, PiecesHashLikeTheWhole) {
  const std::string payload = patterned(100000, 3);
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{4096}, payload.size()}) {
    FrameChecksum checksum;
    checksum.update(std::span<const char>(payload).first(cut));
    checksum.update(std::span<const char>(payload).subspan(cut));
    EXPECT_EQ(checksum.value(), frame_checksum(payload)) << "cut at " << cut;
  }
  EXPECT_EQ(FrameChecksum().value(), frame_checksum({}));
}

// ---- read_exact -------------------------------------------------------------------------------

TEST(BlockingReaderTest, ReadExactFillsASpanAcrossManyWritesThenReportsTheShortfall) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  const std::string bytes = patterned(10'005, 9);
  ForkedChild writer = start_writer(pipe, bytes, std::vector<std::size_t>(10, 1000), 200us);
  BlockingReader reader(pipe.read);
  std::string nothing;
  reader.read_exact(nothing);
  std::string first(10'000, '\0');
  reader.read_exact(first);
  EXPECT_TRUE(first == std::string_view(bytes).substr(0, 10'000));
  std::string tail(10, '\0');
  auto error = caught<TruncatedFrame>([&] { reader.read_exact(tail); });
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->expected, 10u);
  EXPECT_EQ(error->got, 5u);
  EXPECT_EQ(tail.substr(0, 5), bytes.substr(10'000));
  EXPECT_EQ(writer.wait().str(), kExitedCleanly);
  pipe.read.reset();
  leaks.check();
}

// ---- Signals ----------------------------------------------------------------------------------

// The writer interrupts the reader while it is blocked waiting for the header, and again while it
// is blocked in the middle of the payload; every interrupted call must be retried.
TEST(BlockingReaderTest, RetriesReadsInterruptedBySignals) {
  LeakCheck leaks;
  constexpr int kInterrupts = 5;
  Pipe data = Pipe::create();
  Pipe ack = Pipe::create();
  InterruptingSignal signal(ack.write);
  const pid_t reader_pid = ::getpid();
  const std::string payload = patterned(1000, 10);
  const std::string bytes = frame_bytes(payload, 10);
  const std::size_t split = kFrameHeaderSize + 100;
  ForkedChild writer = fork_child([&] {
    data.read.reset();
    ack.write.reset();
    if (!interrupt_while_blocked(reader_pid, ack.read, kInterrupts)) return 2;
    if (!write_fully(data.write, std::string_view(bytes).substr(0, split))) return 1;
    if (!interrupt_while_blocked(reader_pid, ack.read, kInterrupts)) return 3;
    return write_fully(data.write, std::string_view(bytes).substr(split)) ? 0 : 1;
  });
  data.write.reset();
  ack.read.reset();
  expect_frame(BlockingReader(data.read).read_frame(), payload, 10);
  EXPECT_EQ(writer.wait().str(), kExitedCleanly);
  EXPECT_EQ(signal.count(), 2 * kInterrupts);
  data.read.reset();
  ack.write.reset();
  leaks.check();
}

// ---- Stalls -----------------------------------------------------------------------------------

// A writer sends the first `sent` bytes of a frame, then holds the pipe open — blocked on a pipe
// of its own, not asleep — until the reader has given up with StalledFrame.
void expect_stall_after(std::size_t sent, bool nonblocking) {
  LeakCheck leaks;
  Pipe data = Pipe::create();
  Pipe release = Pipe::create();
  const std::string bytes = frame_bytes(patterned(1000, 11));
  ForkedChild writer = fork_child([&] {
    data.read.reset();
    release.write.reset();
    if (!write_fully(data.write, std::string_view(bytes).substr(0, sent))) return 1;
    char byte;
    return ::read(release.read.get(), &byte, 1) == 0 ? 0 : 2;
  });
  data.write.reset();
  release.read.reset();
  if (nonblocking) set_nonblocking(data.read.get(), true);
  BlockingReader reader(data.read, {.stall_timeout = 200ms});
  const auto start = Clock::now();
  auto error = caught<StalledFrame>([&] { reader.read_frame(); });
  const auto waited = Clock::now() - start;
  release.write.reset();  // now the writer may exit
  ASSERT_TRUE(error.has_value()) << "no StalledFrame";
  EXPECT_EQ(error->expected, sent < kFrameHeaderSize ? kFrameHeaderSize : bytes.size());
  EXPECT_EQ(error->got, sent);
  EXPECT_GE(waited, 200ms);
  EXPECT_LT(waited, 5s) << "the configured stall_timeout was not used";
  EXPECT_EQ(writer.wait().str(), kExitedCleanly);
  data.read.reset();
  leaks.check();
}

TEST(BlockingReaderTest, WriterStallingInsideTheHeaderIsStalledFrame) {
  expect_stall_after(10, /*nonblocking=*/false);
}

TEST(BlockingReaderTest, WriterStallingInsideThePayloadIsStalledFrame) {
  expect_stall_after(kFrameHeaderSize + 100, /*nonblocking=*/false);
}

TEST(BlockingReaderTest, WriterStallingOnANonBlockingDescriptorIsStalledFrame) {
  expect_stall_after(kFrameHeaderSize + 100, /*nonblocking=*/true);
}

// The stall guard only starts with a frame: a quiet but idle writer is not a stalled one.
TEST(BlockingReaderTest, IdleBeforeTheFirstHeaderByteIsNotAStall) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  const std::string payload = patterned(10, 12);
  ForkedChild writer = start_writer(pipe, frame_bytes(payload, 12), {0}, 500ms);
  expect_frame(BlockingReader(pipe.read, {.stall_timeout = 100ms}).read_frame(), payload, 12);
  EXPECT_EQ(writer.wait().str(), kExitedCleanly);
  pipe.read.reset();
  leaks.check();
}

// ---- Non-blocking descriptors -----------------------------------------------------------------

TEST(BlockingReaderTest, NonBlockingDescriptorReadsFramesTheSame) {
  LeakCheck leaks;
  Pipe pipe = Pipe::create();
  const std::string first = patterned(300'000, 13);
  const std::string second = patterned(5, 14);
  const std::string stream = frame_bytes(first, 1) + frame_bytes(second, 2);
  ForkedChild writer = start_writer(pipe, stream, random_pieces(stream.size(), 4, 20'000), 200us);
  set_nonblocking(pipe.read.get(), true);
  BlockingReader reader(pipe.read);
  expect_frame(reader.read_frame(), first, 1);
  expect_frame(reader.read_frame(), second, 2);
  EXPECT_FALSE(reader.read_frame().has_value());
  EXPECT_EQ(writer.wait().str(), kExitedCleanly);
  pipe.read.reset();
  leaks.check();
}

}  // namespace
}  // namespace forkpool::io
