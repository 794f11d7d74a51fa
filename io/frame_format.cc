#include "io/frame_format.h"

#include <xxhash.h>

#include <cstring>

namespace forkpool::io {
namespace {

template <typename T>
void put_le(char* out, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    out[i] = static_cast<char>(static_cast<std::uint64_t>(value) >> (8 * i));
  }
}

template <typename T>
T get_le(const char* in) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    value |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  }
  return static_cast<T>(value);
}

}  // namespace

HeaderBytes encode_header(const FrameHeader& h) {
  HeaderBytes out;
  put_le(out.data() + 0, h.magic);
  put_le(out.data() + 4, h.payload_length);
  put_le(out.data() + 8, h.kind);
  put_le(out.data() + 9, h.flags);
  put_le(out.data() + 10, h.reserved);
  put_le(out.data() + 12, h.checksum);
  put_le(out.data() + 16, h.task_id);
  return out;
}

FrameHeader decode_header(const HeaderBytes& in) {
  FrameHeader h;
  h.magic = get_le<std::uint32_t>(in.data() + 0);
  h.payload_length = get_le<std::uint32_t>(in.data() + 4);
  h.kind = get_le<std::uint8_t>(in.data() + 8);
  h.flags = get_le<std::uint8_t>(in.data() + 9);
  h.reserved = get_le<std::uint16_t>(in.data() + 10);
  h.checksum = get_le<std::uint32_t>(in.data() + 12);
  h.task_id = get_le<std::uint64_t>(in.data() + 16);
  return h;
}

std::uint32_t frame_checksum(std::span<const char> payload) {
  return static_cast<std::uint32_t>(XXH3_64bits(payload.data(), payload.size()));
}

}  // namespace forkpool::io
