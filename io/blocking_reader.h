// BlockingReader: the one way bytes come off a pipe.
//
// There is deliberately no read_some()/readinto()-style partial read here: callers get a whole
// span or a whole frame, or an error. Mercurial's worker learned why: its unpickler began
// calling readinto() on an unbuffered pipe and decoded partial objects.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>

#include "io/fd.h"
#include "io/frame_format.h"

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
  // The peer may agree a different limit during the handshake.
  void set_max_frame(std::size_t max_frame) { options_.max_frame = max_frame; }

 private:
  // Reads into `out`; returns the byte count, which is short only at EOF. If `started` is
  // false the first byte may take forever, later bytes at most stall_timeout each.
  // `expected`/`already` describe the enclosing frame for error messages.
  std::size_t fill(std::span<char> out, bool started, std::size_t expected, std::size_t already);

  const Fd* fd_;
  ReaderOptions options_;
  bool nonblocking_;
};

}  // namespace forkpool::io
