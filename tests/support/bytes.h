// Bytes and errors for tests: reproducible pseudo-random data, a view of a Payload, and the
// exception a call threw.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "forkpool/detail/payload.h"

namespace forkpool::testing {

// Deterministic pseudo-random bytes (xorshift64), fast enough for 64 MiB.
inline std::string patterned(std::size_t size, std::uint64_t seed) {
  std::string out(size, '\0');
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (std::size_t i = 0; i < size; i += sizeof x) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(out.data() + i, &x, std::min(sizeof x, size - i));
  }
  return out;
}

inline std::string_view view(const detail::Payload& payload) {
  return {payload.data(), payload.size()};
}

// Runs `body`; returns the E it threw, or nullopt if it returned normally.
template <typename E, typename Body>
std::optional<E> caught(Body body) {
  try {
    body();
  } catch (const E& error) {
    return error;
  }
  return std::nullopt;
}

}  // namespace forkpool::testing
