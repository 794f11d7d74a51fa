// The frame: the unit that crosses a pipe. Its layout is written down here and nowhere else
// (after LevelDB's db/log_format.h).
//
//   offset size field
//        0    4 magic "FKP1"
//        4    4 payload_length
//        8    1 kind            (opaque to io/; serialization/ gives it meaning)
//        9    1 flags
//       10    2 reserved, always 0
//       12    4 checksum        low 32 bits of XXH3_64bits(payload)
//       16    8 task_id
//       24    payload_length bytes of payload
//
// All integers little-endian.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "forkpool/detail/payload.h"

namespace forkpool::io {

inline constexpr std::uint32_t kFrameMagic = 0x31504B46;  // the bytes 'F' 'K' 'P' '1'
inline constexpr std::size_t kFrameHeaderSize = 24;
inline constexpr std::size_t kDefaultMaxFrame = std::size_t{64} << 20;

struct FrameHeader {
  std::uint32_t magic = kFrameMagic;
  std::uint32_t payload_length = 0;
  std::uint8_t kind = 0;
  std::uint8_t flags = 0;
  std::uint16_t reserved = 0;
  std::uint32_t checksum = 0;
  std::uint64_t task_id = 0;
};

using HeaderBytes = std::array<char, kFrameHeaderSize>;

HeaderBytes encode_header(const FrameHeader& header);
FrameHeader decode_header(const HeaderBytes& bytes);

// Low 32 bits of XXH3_64bits over the payload.
std::uint32_t frame_checksum(std::span<const char> payload);

// The same checksum, fed the payload in pieces, in order: a large payload is hashed piece by
// piece while the rest of it is still crossing the pipe.
class FrameChecksum {
 public:
  FrameChecksum();
  ~FrameChecksum();
  FrameChecksum(const FrameChecksum&) = delete;
  FrameChecksum& operator=(const FrameChecksum&) = delete;
  void update(std::span<const char> piece);
  // frame_checksum() of every piece so far, concatenated.
  std::uint32_t value() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

using detail::Payload;

// One whole frame, payload owned and verified against its checksum.
struct Frame {
  std::uint8_t kind = 0;
  std::uint8_t flags = 0;
  std::uint64_t task_id = 0;
  Payload payload;
};

}  // namespace forkpool::io
