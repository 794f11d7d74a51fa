// Tests include/forkpool/detail/little_endian.h, the one fixed-width integer encoding of the
// wire: least significant byte first on any host, signed values as their two's complement.
#include "forkpool/detail/little_endian.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "forkpool/detail/payload.h"

namespace forkpool::detail {
namespace {

std::string bytes_of(const char* p, std::size_t n) { return std::string(p, n); }

TEST(LittleEndianTest, StoresTheLeastSignificantByteFirst) {
  char out[8] = {};
  store_le(out, std::uint32_t{0x11223344});
  EXPECT_EQ(bytes_of(out, 4), std::string("\x44\x33\x22\x11", 4));
  store_le(out, std::uint64_t{0x0102030405060708});
  EXPECT_EQ(bytes_of(out, 8), std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8));
  store_le(out, std::uint16_t{0xbeef});
  EXPECT_EQ(bytes_of(out, 2), std::string("\xef\xbe", 2));
  store_le(out, std::int32_t{-2});
  EXPECT_EQ(bytes_of(out, 4), std::string("\xfe\xff\xff\xff", 4));
}

TEST(LittleEndianTest, WritesOnlyItsOwnBytes) {
  char out[8];
  std::fill(std::begin(out), std::end(out), '\x5a');
  store_le(out + 2, std::uint16_t{0});
  EXPECT_EQ(bytes_of(out, 8), std::string("\x5a\x5a\x00\x00\x5a\x5a\x5a\x5a", 8));
}

template <typename T>
void expect_round_trips(T value) {
  char bytes[sizeof(T)];
  store_le(bytes, value);
  EXPECT_EQ(load_le<T>(bytes), value);
}

TEST(LittleEndianTest, EveryWidthAndSignRoundTripsAtItsLimits) {
  expect_round_trips(std::numeric_limits<std::uint8_t>::max());
  expect_round_trips(std::numeric_limits<std::uint16_t>::max());
  expect_round_trips(std::numeric_limits<std::uint32_t>::max());
  expect_round_trips(std::numeric_limits<std::uint64_t>::max());
  expect_round_trips(std::numeric_limits<std::int32_t>::min());
  expect_round_trips(std::numeric_limits<std::int64_t>::min());
  expect_round_trips(std::int64_t{-1});
  expect_round_trips(std::uint64_t{0x8000000000000001});
}

TEST(LittleEndianTest, LoadsBytesAboveSeventyFAsUnsignedBits) {
  // Bytes are char, signed here: a high byte must not sign-extend into the bytes above it.
  const char in[4] = {'\xff', '\x00', '\x80', '\x00'};
  EXPECT_EQ(load_le<std::uint32_t>(in), 0x008000ffu);
}

TEST(LittleEndianTest, AppendsAfterWhatIsThere) {
  Payload out;
  append_le(out, std::uint32_t{7});
  append_le(out, std::uint8_t{0xab});
  append_le(out, std::uint64_t{1} << 40);
  ASSERT_EQ(out.size(), 13u);
  EXPECT_EQ(load_le<std::uint32_t>(out.data()), 7u);
  EXPECT_EQ(load_le<std::uint8_t>(out.data() + 4), 0xab);
  EXPECT_EQ(load_le<std::uint64_t>(out.data() + 5), std::uint64_t{1} << 40);
}

}  // namespace
}  // namespace forkpool::detail
