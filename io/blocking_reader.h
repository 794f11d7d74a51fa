// BlockingReader: the one way bytes come off a pipe.
//
// There is deliberately no read_some()/readinto()-style partial read here: callers get a whole
// span or a whole frame, or an error. Small reads go through a private buffer (several small
// frames then cost one read(2)); the caller only ever sees whole frames, and must ask
// buffered() before waiting on the descriptor again, since buffered bytes make no fd readable.
// Mercurial's worker learned why: its unpickler began calling readinto() on an unbuffered pipe and
// decoded partial objects.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>

#include "io/fd.h"
#include "io/frame_format.h"
#include "io/syscalls.h"

namespace forkpool::io {

struct ReaderOptions {
  std::size_t max_frame = kDefaultMaxFrame;
  // Once a frame has started, the longest wait for the next byte before StalledFrame.
  std::chrono::milliseconds stall_timeout = std::chrono::seconds(10);
};

class BlockingReader {
 public:
  // REQUIRES: `fd` outlives the reader. It may be blocking or non-blocking, but must not
  // change between the two afterwards (the reader reads the mode once).
  explicit BlockingReader(const Fd& fd, ReaderOptions options = {});

  // Fills all of `out`, looping over short reads and EINTR; waits forever for the first
  // byte and at most stall_timeout for each later one.
  // Throws TruncatedFrame{out.size(), got} on EOF, StalledFrame, std::system_error.
  void read_exact(std::span<char> out);

  // Reads one whole frame and verifies it. Returns nullopt on EOF before the first header
  // byte (a clean end of stream). Throws TruncatedFrame on EOF inside the frame,
  // ProtocolError on a wrong magic, non-zero reserved bits or a length above max_frame,
  // CorruptFrame on a checksum mismatch, StalledFrame, std::system_error.
  std::optional<Frame> read_frame();

  const ReaderOptions& options() const { return options_; }
  // Bytes already read from the descriptor and not yet returned: while this is non-zero, call
  // read_frame() again instead of waiting for the descriptor to become readable.
  std::size_t buffered() const { return end_ - begin_; }
  // The peer may agree a different limit during the handshake.
  void set_max_frame(std::size_t max_frame) { options_.max_frame = max_frame; }

 private:
  // Reads into `out`; returns the byte count, which is short only at EOF. If `started` is
  // false the first byte may take forever, later bytes at most stall_timeout each.
  // `expected`/`already` describe the enclosing frame for error messages.
  std::size_t fill(std::span<char> out, bool started, std::size_t expected, std::size_t already);

  // Reads a frame's payload whole and returns its checksum; read_large_payload hashes it
  // piece by piece as it arrives, and grows the pipe's buffer the first time.
  std::uint32_t read_payload(std::span<char> payload, std::size_t expected);
  std::uint32_t read_large_payload(std::span<char> payload, std::size_t expected);

  // One read(2) into `out` directly, or through the buffer when `out` is small.
  std::optional<std::size_t> read_some_into(std::span<char> out, Deadline wait);

  static constexpr std::size_t kBufferSize = 64 * 1024;
  // Payloads from this size on are read in pieces of kPiece, each hashed as it arrives.
  static constexpr std::size_t kLargePayload = 1024 * 1024;
  static constexpr std::size_t kPiece = 1024 * 1024;
  // The pipe buffer asked for when the first large payload arrives (the default
  // /proc/sys/fs/pipe-max-size).
  static constexpr std::size_t kLargePipeBuffer = 1024 * 1024;

  const Fd* fd_;
  ReaderOptions options_;
  bool nonblocking_;
  std::unique_ptr<char[]> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  bool pipe_grown_ = false;  // grow_pipe was tried (it is not tried again if refused)
};

}  // namespace forkpool::io
