#include "io/frame_writer.h"

#include <sys/uio.h>

#include <algorithm>
#include <cstdint>

#include "forkpool/errors.h"
#include "io/syscalls.h"

namespace forkpool::io {

void FrameWriter::write_frame(std::uint8_t kind, std::uint8_t flags, std::uint64_t task_id,
                              std::span<const char> payload) {
  // The length field has 32 bits, whatever max_frame says.
  const std::size_t limit = std::min<std::size_t>(options_.max_frame, UINT32_MAX);
  if (payload.size() > limit) throw MessageTooLarge(payload.size(), limit);
  FrameHeader header;
  header.payload_length = static_cast<std::uint32_t>(payload.size());
  header.kind = kind;
  header.flags = flags;
  header.checksum = frame_checksum(payload);
  header.task_id = task_id;
  HeaderBytes raw = encode_header(header);
  iovec iov[2] = {{raw.data(), raw.size()}, {const_cast<char*>(payload.data()), payload.size()}};
  if (!write_all(fd_->get(), std::span<iovec>(iov, payload.empty() ? 1 : 2), options_.stall_timeout,
                 options_.guard_sigpipe)) {
    throw PeerGone();
  }
  bytes_written_.fetch_add(raw.size() + payload.size(), std::memory_order_relaxed);
}

}  // namespace forkpool::io
