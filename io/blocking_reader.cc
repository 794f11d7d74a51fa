#include "io/blocking_reader.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "forkpool/errors.h"
#include "io/syscalls.h"

namespace forkpool::io {

BlockingReader::BlockingReader(const Fd& fd, ReaderOptions options)
    : fd_(&fd), options_(options), nonblocking_(is_nonblocking(fd.get())) {}

std::optional<std::size_t> BlockingReader::read_some_into(std::span<char> out, Deadline wait) {
  const FdMode mode = nonblocking_ ? FdMode::kNonBlocking : FdMode::kUnknown;
  if (out.size() >= kBufferSize / 2) return read_once(fd_->get(), out, wait, mode);
  if (!buffer_) buffer_ = std::make_unique<char[]>(kBufferSize);
  auto n = read_once(fd_->get(), std::span<char>(buffer_.get(), kBufferSize), wait, mode);
  if (!n || *n == 0) return n;
  begin_ = std::min(*n, out.size());
  end_ = *n;
  std::memcpy(out.data(), buffer_.get(), begin_);
  return begin_;
}

std::size_t BlockingReader::fill(std::span<char> out, bool started, std::size_t expected,
                                 std::size_t already) {
  std::size_t got = std::min(buffered(), out.size());
  if (got != 0) {
    std::memcpy(out.data(), buffer_.get() + begin_, got);
    begin_ += got;
  }
  while (got < out.size()) {
    Deadline wait;
    if (started || got > 0) wait = options_.stall_timeout;
    auto n = read_some_into(out.subspan(got), wait);
    if (!n) {
      throw StalledFrame(expected, already + got, options_.stall_timeout.count() / 1000.0);
    }
    if (*n == 0) break;
    got += *n;
  }
  return got;
}

void BlockingReader::read_exact(std::span<char> out) {
  std::size_t got = fill(out, false, out.size(), 0);
  if (got < out.size()) throw TruncatedFrame(out.size(), got);
}

std::uint32_t BlockingReader::read_payload(std::span<char> payload, std::size_t expected) {
  const std::size_t got = fill(payload, true, expected, kFrameHeaderSize);
  if (got < payload.size()) throw TruncatedFrame(expected, kFrameHeaderSize + got);
  return frame_checksum(payload);
}

std::uint32_t BlockingReader::read_large_payload(std::span<char> payload, std::size_t expected) {
  // A bigger pipe buffer: fewer reads, and fewer wake-ups of a writer blocked on a full pipe.
  if (!pipe_grown_) {
    grow_pipe(fd_->get(), kLargePipeBuffer);  // best effort: a refusal changes nothing
    pipe_grown_ = true;
  }
  // Each piece is hashed as soon as it is in, while the writer refills the pipe, instead of
  // one pass over the whole payload after its last byte.
  FrameChecksum checksum;
  std::size_t got = 0;
  while (got < payload.size()) {
    const std::span<char> piece = payload.subspan(got, std::min(kPiece, payload.size() - got));
    const std::size_t n = fill(piece, true, expected, kFrameHeaderSize + got);
    checksum.update(piece.first(n));
    got += n;
    if (n < piece.size()) throw TruncatedFrame(expected, kFrameHeaderSize + got);
  }
  return checksum.value();
}

std::optional<Frame> BlockingReader::read_frame() {
  HeaderBytes raw;
  std::size_t got = fill(raw, false, kFrameHeaderSize, 0);
  if (got == 0) return std::nullopt;
  if (got < raw.size()) throw TruncatedFrame(kFrameHeaderSize, got);

  FrameHeader header = decode_header(raw);
  if (header.magic != kFrameMagic) {
    throw ProtocolError("bad frame magic 0x" + [&] {
      char hex[9];
      std::snprintf(hex, sizeof hex, "%08x", header.magic);
      return std::string(hex);
    }() + " (expected \"FKP1\"): the peer wrote bytes that are not a forkpool frame");
  }
  if (header.reserved != 0) throw ProtocolError("non-zero reserved field in frame header");
  if (header.payload_length > options_.max_frame) {
    throw ProtocolError("frame payload of " + std::to_string(header.payload_length) +
                        " bytes exceeds max_frame of " + std::to_string(options_.max_frame));
  }

  Frame frame{header.kind, header.flags, header.task_id, Payload(header.payload_length)};
  const std::size_t expected = kFrameHeaderSize + header.payload_length;
  const std::uint32_t checksum = header.payload_length >= kLargePayload
                                     ? read_large_payload(frame.payload, expected)
                                     : read_payload(frame.payload, expected);
  if (checksum != header.checksum) {
    throw CorruptFrame("checksum mismatch on a " + std::to_string(header.payload_length) +
                       "-byte payload (task id " + std::to_string(header.task_id) + ")");
  }
  return frame;
}

}  // namespace forkpool::io
