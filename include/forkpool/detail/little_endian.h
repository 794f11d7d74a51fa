// Little-endian integers in byte buffers: the one encoding of every fixed-width field forkpool
// puts on the wire (the frame header, Task and Batch payloads, map chunk prefixes), whatever
// the host's byte order. Implementation detail; not part of the stable API.
#pragma once

#include <concepts>
#include <cstddef>
#include <type_traits>

namespace forkpool::detail {

// Writes `value` to out[0, sizeof(T)), least significant byte first.
template <std::integral T>
constexpr void store_le(char* out, T value) {
  const auto bits = static_cast<std::make_unsigned_t<T>>(value);
  for (std::size_t i = 0; i < sizeof(T); ++i) out[i] = static_cast<char>(bits >> (8 * i));
}

// Reads a T from in[0, sizeof(T)), least significant byte first.
template <std::integral T>
constexpr T load_le(const char* in) {
  using Bits = std::make_unsigned_t<T>;
  Bits bits = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    bits = static_cast<Bits>(
        bits | static_cast<Bits>(static_cast<Bits>(static_cast<unsigned char>(in[i])) << (8 * i)));
  }
  return static_cast<T>(bits);
}

// Appends `value` to a byte vector (a Payload). Inserted from a local copy rather than by
// resize() and store_le: see encode_values in detail/archive.h for why.
template <std::integral T, typename Bytes>
void append_le(Bytes& out, T value) {
  char bytes[sizeof(T)];
  store_le(bytes, value);
  out.insert(out.end(), bytes, bytes + sizeof bytes);
}

}  // namespace forkpool::detail
