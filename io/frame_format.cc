#include "io/frame_format.h"

#include <xxhash.h>

#include <new>

#include "forkpool/detail/little_endian.h"

namespace forkpool::io {

using detail::load_le;
using detail::store_le;

HeaderBytes encode_header(const FrameHeader& h) {
  HeaderBytes out;
  store_le(out.data() + 0, h.magic);
  store_le(out.data() + 4, h.payload_length);
  store_le(out.data() + 8, h.kind);
  store_le(out.data() + 9, h.flags);
  store_le(out.data() + 10, h.reserved);
  store_le(out.data() + 12, h.checksum);
  store_le(out.data() + 16, h.task_id);
  return out;
}

FrameHeader decode_header(const HeaderBytes& in) {
  FrameHeader h;
  h.magic = load_le<std::uint32_t>(in.data() + 0);
  h.payload_length = load_le<std::uint32_t>(in.data() + 4);
  h.kind = load_le<std::uint8_t>(in.data() + 8);
  h.flags = load_le<std::uint8_t>(in.data() + 9);
  h.reserved = load_le<std::uint16_t>(in.data() + 10);
  h.checksum = load_le<std::uint32_t>(in.data() + 12);
  h.task_id = load_le<std::uint64_t>(in.data() + 16);
  return h;
}

std::uint32_t frame_checksum(std::span<const char> payload) {
  return static_cast<std::uint32_t>(XXH3_64bits(payload.data(), payload.size()));
}

struct FrameChecksum::State {
  XXH3_state_t* xxh = XXH3_createState();
  ~State() { XXH3_freeState(xxh); }
};

FrameChecksum::FrameChecksum() : state_(std::make_unique<State>()) {
  if (state_->xxh == nullptr) throw std::bad_alloc();
  XXH3_64bits_reset(state_->xxh);
}
FrameChecksum::~FrameChecksum() = default;

void FrameChecksum::update(std::span<const char> piece) {
  XXH3_64bits_update(state_->xxh, piece.data(), piece.size());
}

std::uint32_t FrameChecksum::value() const {
  return static_cast<std::uint32_t>(XXH3_64bits_digest(state_->xxh));
}

}  // namespace forkpool::io
