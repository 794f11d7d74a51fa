// FrameWriter: writes whole frames, header and payload in one writev(2) where possible.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

#include "io/fd.h"
#include "io/frame_format.h"

namespace forkpool::io {

struct WriterOptions {
  std::size_t max_frame = kDefaultMaxFrame;
  // For a non-blocking descriptor: the longest wait for pipe space before StalledFrame.
  // A blocking descriptor blocks in writev(2) instead.
  std::chrono::milliseconds stall_timeout = std::chrono::seconds(10);
  // False: let SIGPIPE take its default action when the reader is gone (see write_all).
  bool guard_sigpipe = true;
};

class FrameWriter {
 public:
  // REQUIRES: `fd` outlives the writer.
  explicit FrameWriter(const Fd& fd, WriterOptions options = {}) : fd_(&fd), options_(options) {}

  // Writes one frame. Throws MessageTooLarge (nothing written) if the payload exceeds
  // max_frame, PeerGone if the reader has closed its end, StalledFrame, std::system_error.
  // Never raises SIGPIPE.
  void write_frame(std::uint8_t kind, std::uint8_t flags, std::uint64_t task_id,
                   std::span<const char> payload);

  const WriterOptions& options() const { return options_; }
  // The peer may agree a different limit during the handshake.
  void set_max_frame(std::size_t max_frame) { options_.max_frame = max_frame; }
  // Bytes of the whole frames written so far, headers included. Safe to read from another
  // thread while one writes (relaxed: a count for statistics, ordering nothing).
  std::uint64_t bytes_written() const { return bytes_written_.load(std::memory_order_relaxed); }

 private:
  const Fd* fd_;
  WriterOptions options_;
  std::atomic<std::uint64_t> bytes_written_{0};
};

}  // namespace forkpool::io
