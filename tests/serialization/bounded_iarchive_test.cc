// Tests serialization/bounded_iarchive.cc and include/forkpool/detail/archive.h: values round
// trip through the archives, and a malformed payload is a ProtocolError that never crashes.
// bounded_iarchive_hostile_test.cc has the forged lengths and the random buffers.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "forkpool/errors.h"
#include "serialization/archive_samples.h"

namespace forkpool::detail {
namespace {

using namespace archive_test;

// ----- Round trips ---------------------------------------------------------------------------

TEST(BoundedIArchiveTest, ArithmeticEdgeValuesRoundTrip) {
  EXPECT_EQ(round_trip(std::numeric_limits<std::int64_t>::min()),
            std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(round_trip(std::numeric_limits<std::int64_t>::max()),
            std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(round_trip(std::numeric_limits<std::uint64_t>::max()),
            std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(round_trip(std::numeric_limits<std::int32_t>::min()),
            std::numeric_limits<std::int32_t>::min());
  EXPECT_EQ(round_trip(std::numeric_limits<std::uint8_t>::max()),
            std::numeric_limits<std::uint8_t>::max());
  EXPECT_EQ(round_trip(static_cast<signed char>(-128)), static_cast<signed char>(-128));
  EXPECT_EQ(round_trip('\0'), '\0');
  EXPECT_EQ(round_trip(true), true);
  EXPECT_EQ(round_trip(false), false);

  EXPECT_TRUE(std::isnan(round_trip(std::numeric_limits<double>::quiet_NaN())));
  EXPECT_TRUE(std::isnan(round_trip(std::numeric_limits<float>::quiet_NaN())));
  const double negative_zero = round_trip(-0.0);
  EXPECT_EQ(negative_zero, 0.0);
  EXPECT_TRUE(std::signbit(negative_zero));
  EXPECT_EQ(round_trip(std::numeric_limits<double>::infinity()),
            std::numeric_limits<double>::infinity());
  EXPECT_EQ(round_trip(-std::numeric_limits<double>::infinity()),
            -std::numeric_limits<double>::infinity());
  EXPECT_EQ(round_trip(std::numeric_limits<double>::denorm_min()),
            std::numeric_limits<double>::denorm_min());
  EXPECT_EQ(round_trip(std::numeric_limits<double>::max()), std::numeric_limits<double>::max());
  EXPECT_EQ(round_trip(std::numeric_limits<float>::lowest()), std::numeric_limits<float>::lowest());
}

TEST(BoundedIArchiveTest, StringsRoundTrip) {
  EXPECT_EQ(round_trip(std::string()), "");
  EXPECT_EQ(round_trip(std::string("x")), "x");
  const std::string binary("\0\xff\x01zero\0inside", 13);
  EXPECT_EQ(round_trip(binary), binary);
  const std::string large(1 << 20, 'L');
  EXPECT_EQ(round_trip(large), large);
  EXPECT_EQ(round_trip(std::wstring()), L"");
  EXPECT_EQ(round_trip(std::wstring(L"wide \u00e9\U0001F600")), L"wide \u00e9\U0001F600");
}

TEST(BoundedIArchiveTest, SequencesRoundTrip) {
  EXPECT_EQ(round_trip(std::vector<int>{}), std::vector<int>{});
  EXPECT_EQ(round_trip(std::vector<int>{-1, 0, 1}), (std::vector<int>{-1, 0, 1}));
  EXPECT_EQ(round_trip(std::vector<std::string>{}), std::vector<std::string>{});
  EXPECT_EQ(round_trip(std::vector<std::string>{"", "a", ""}),
            (std::vector<std::string>{"", "a", ""}));
  EXPECT_EQ(round_trip(std::vector<std::vector<std::string>>{{}, {"x"}, {"", "y"}}),
            (std::vector<std::vector<std::string>>{{}, {"x"}, {"", "y"}}));
  EXPECT_EQ(round_trip(std::vector<bool>{}), std::vector<bool>{});
  EXPECT_EQ(round_trip(std::vector<bool>{true, false, true}),
            (std::vector<bool>{true, false, true}));
  const std::vector<double> doubles = {-0.0, 1.5, std::numeric_limits<double>::infinity()};
  EXPECT_EQ(round_trip(doubles), doubles);
  EXPECT_EQ(round_trip(std::list<std::string>{}), std::list<std::string>{});
  EXPECT_EQ(round_trip(std::list<std::string>{"a", ""}), (std::list<std::string>{"a", ""}));
  EXPECT_EQ(round_trip(std::deque<int>{}), std::deque<int>{});
  EXPECT_EQ(round_trip(std::deque<int>{3, 2, 1}), (std::deque<int>{3, 2, 1}));
  std::vector<std::uint64_t> large(100000);
  for (std::size_t i = 0; i < large.size(); ++i) large[i] = i * 0x9E3779B97F4A7C15ull;
  EXPECT_EQ(round_trip(large), large);
}

TEST(BoundedIArchiveTest, AssociativeContainersRoundTrip) {
  using StringMap = std::map<int, std::string>;
  EXPECT_EQ(round_trip(StringMap{}), StringMap{});
  EXPECT_EQ(round_trip(StringMap{{-1, ""}, {2, "two"}}), (StringMap{{-1, ""}, {2, "two"}}));
  EXPECT_EQ(round_trip(std::multimap<int, int>{{1, 1}, {1, 2}}),
            (std::multimap<int, int>{{1, 1}, {1, 2}}));
  EXPECT_EQ(round_trip(std::set<std::string>{}), std::set<std::string>{});
  EXPECT_EQ(round_trip(std::set<std::string>{"", "b", "a"}), (std::set<std::string>{"", "a", "b"}));
  EXPECT_EQ(round_trip(std::multiset<int>{1, 1, 2}), (std::multiset<int>{1, 1, 2}));
  EXPECT_EQ(round_trip(std::pair<int, std::string>{-7, ""}), (std::pair<int, std::string>{-7, ""}));
}

// Boost writes an unordered container's bucket count, which may exceed the bytes that follow:
// a one-element set has 13 buckets in 4 bytes of items. These decoded as ProtocolError before
// archive.h stopped checking the bucket count like an item count.
TEST(BoundedIArchiveTest, UnorderedContainersRoundTripWhateverTheirBucketCount) {
  using Set = std::unordered_set<int>;
  using Map = std::unordered_map<std::string, int>;
  EXPECT_EQ(round_trip(Set{}), Set{});
  EXPECT_EQ(round_trip(Set{1}), Set{1});
  EXPECT_EQ(round_trip(Set{1, 2, 3}), (Set{1, 2, 3}));
  EXPECT_EQ(round_trip(Map{}), Map{});
  EXPECT_EQ(round_trip(Map{{"", 0}}), (Map{{"", 0}}));
  EXPECT_EQ(round_trip(Map{{"a", 1}, {"b", 2}}), (Map{{"a", 1}, {"b", 2}}));
  EXPECT_EQ(round_trip(std::unordered_multiset<int>{5, 5}), (std::unordered_multiset<int>{5, 5}));
  EXPECT_EQ(round_trip(std::unordered_multimap<int, int>{{1, 1}, {1, 2}}),
            (std::unordered_multimap<int, int>{{1, 1}, {1, 2}}));

  Map reserved;
  reserved.reserve(100000);  // an empty map with a large bucket count
  ASSERT_GT(reserved.bucket_count(), 1000u);
  EXPECT_EQ(round_trip(reserved), Map{});
  Set big_empty_set;
  big_empty_set.rehash(5000);
  big_empty_set.insert(9);
  EXPECT_EQ(round_trip(big_empty_set), Set{9});
}

TEST(BoundedIArchiveTest, OptionalRoundTrips) {
  // EXPECT_TRUE, not EXPECT_EQ: gtest cannot print a boost::optional of a container.
  EXPECT_TRUE(round_trip(boost::optional<int>()) == boost::none);
  EXPECT_TRUE(round_trip(boost::optional<int>(0)) == boost::optional<int>(0));
  EXPECT_TRUE(round_trip(boost::optional<std::string>("")) == boost::optional<std::string>(""));
  const boost::optional<std::vector<int>> vector = std::vector<int>{1};
  EXPECT_TRUE(round_trip(vector) == vector);
}

// The VmFlags line of the mapping holding `address`, from /proc/self/smaps.
std::string vm_flags_of(const void* address) {
  const auto wanted = reinterpret_cast<std::uintptr_t>(address);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    unsigned long start = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &start, &end) == 2) {
      inside = start <= wanted && wanted < end;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line + " ";
    }
  }
  return "";
}

// A large decoded vector or string gets storage advised onto transparent huge pages ("hg" in
// VmFlags) before anything touches it; one that already has the capacity keeps its storage.
TEST(BoundedIArchiveTest, LargeDecodedBuffersAreAdvisedOntoHugePages) {
  std::vector<std::uint64_t> numbers(std::size_t{3} << 20);  // 24 MiB
  for (std::size_t i = 0; i < numbers.size(); ++i) numbers[i] = i * 7;
  const auto numbers_back = round_trip(numbers);
  ASSERT_EQ(numbers_back, numbers);
  EXPECT_NE(vm_flags_of(numbers_back.data() + numbers_back.size() / 2).find(" hg "),
            std::string::npos)
      << vm_flags_of(numbers_back.data() + numbers_back.size() / 2);
  // The plain vector it came from was never advised: the flag is the decoder's doing.
  EXPECT_EQ(vm_flags_of(numbers.data() + numbers.size() / 2).find(" hg "), std::string::npos);

  const std::string text(std::size_t{24} << 20, 't');
  const auto text_back = round_trip(text);
  ASSERT_EQ(text_back, text);
  EXPECT_NE(vm_flags_of(text_back.data() + text_back.size() / 2).find(" hg "), std::string::npos);

  // Decoding into a vector that is large enough already reuses its warm storage.
  std::vector<std::uint64_t> reused(numbers.size() + 10);
  const std::uint64_t* storage = reused.data();
  const Payload payload = encoded(numbers);
  decode_with(payload, "test value", [&](BoundedIArchive& in) { in >> reused; });
  EXPECT_EQ(reused, numbers);
  EXPECT_EQ(reused.data(), storage);

  // Small ones are left alone.
  const std::vector<int> small(1000, 1);
  EXPECT_EQ(round_trip(small), small);
}

// Byte vectors and strings are copied once, straight from the frame into their storage: the
// bytes after them must still decode, and storage reused from a larger earlier value must hold
// the new bytes only.
TEST(BoundedIArchiveTest, ByteSequencesDecodeStraightFromTheFrame) {
  std::vector<char> chars(kHugePageAdviceBytes + 4096);  // advised onto huge pages
  for (std::size_t i = 0; i < chars.size(); ++i) chars[i] = static_cast<char>(i * 31);
  const auto chars_back = round_trip(chars);
  EXPECT_EQ(chars_back, chars);
  EXPECT_NE(vm_flags_of(chars_back.data() + chars.size() / 2).find(" hg "), std::string::npos);
  const std::vector<unsigned char> unsigned_chars = {0, 1, 255, 128};
  EXPECT_EQ(round_trip(unsigned_chars), unsigned_chars);
  const std::vector<std::byte> bytes = {std::byte{0}, std::byte{0xff}, std::byte{7}};
  EXPECT_EQ(round_trip(bytes), bytes);
  const std::vector<signed char> signed_chars = {-128, 0, 127};  // the copy-after-resize path
  EXPECT_EQ(round_trip(signed_chars), signed_chars);
  EXPECT_EQ(round_trip(std::vector<char>{}), std::vector<char>{});

  const Payload payload = encoded(std::vector<char>{'a', 'b'}, std::string("cd"), 42);
  std::vector<char> first(100, 'S');  // larger and stale: kept storage, new bytes only
  const char* storage = first.data();
  std::string second(100, 'S');
  int third = 0;
  decode_with(payload, "values", [&](BoundedIArchive& in) { in >> first >> second >> third; });
  EXPECT_EQ(first, (std::vector<char>{'a', 'b'}));
  EXPECT_EQ(first.data(), storage);
  EXPECT_EQ(second, "cd");
  EXPECT_EQ(third, 42);
}

TEST(BoundedIArchiveTest, ByteSequenceLongerThanItsFrameIsProtocolError) {
  const Payload whole = encoded(std::vector<char>(100, 'x'));
  const Payload cut(whole.begin(), whole.end() - 50);
  EXPECT_THROW(decoded<std::vector<char>>(cut), ProtocolError);
  const Payload whole_text = encoded(std::string(100, 'x'));
  const Payload cut_text(whole_text.begin(), whole_text.end() - 1);
  EXPECT_THROW(decoded<std::string>(cut_text), ProtocolError);
}

TEST(BoundedIArchiveTest, UserTypeRoundTrips) {
  const Record record = sample_record();
  EXPECT_EQ(round_trip(record), record);
  // A task may legitimately return an empty or default value.
  EXPECT_EQ(round_trip(Record{}), Record{});
  const std::vector<Record> records = {sample_record(), Record{}, sample_record()};
  EXPECT_EQ(round_trip(records), records);
}

TEST(BoundedIArchiveTest, SeveralValuesDecodeInOrder) {
  const Payload payload =
      encoded(std::int32_t{-5}, std::string("two"), std::vector<int>{3}, sample_record(), true);
  std::int32_t first = 0;
  std::string second;
  std::vector<int> third;
  Record fourth;
  bool fifth = false;
  decode_with(payload, "values",
              [&](BoundedIArchive& in) { in >> first >> second >> third >> fourth >> fifth; });
  EXPECT_EQ(first, -5);
  EXPECT_EQ(second, "two");
  EXPECT_EQ(third, std::vector<int>{3});
  EXPECT_EQ(fourth, sample_record());
  EXPECT_TRUE(fifth);
}

TEST(BoundedIArchiveTest, DecodesOnlyTheSpanItIsGiven) {
  const Payload payload = encoded(std::string("inside"), 42);
  Payload framed(7, '\xff');
  framed.insert(framed.end(), payload.begin(), payload.end());
  framed.insert(framed.end(), 9, '\xff');
  std::string text;
  int number = 0;
  decode_with(std::span<const char>(framed).subspan(7, payload.size()), "span",
              [&](BoundedIArchive& in) { in >> text >> number; });
  EXPECT_EQ(text, "inside");
  EXPECT_EQ(number, 42);
}

TEST(BoundedIArchiveTest, EmptyPayloadDecodesNothing) {
  EXPECT_NO_THROW(decode_with(Payload{}, "nothing", [](BoundedIArchive&) {}));
  EXPECT_THROW(decoded<int>(Payload{}), ProtocolError);
  EXPECT_THROW(decoded<std::string>(Payload{}), ProtocolError);
}

// ----- Malformed payloads --------------------------------------------------------------------

TEST(BoundedIArchiveTest, TrailingBytesAreProtocolError) {
  for (std::size_t extra : {1, 8, 100}) {
    Payload payload = encoded(std::string("complete"));
    payload.insert(payload.end(), extra, '\0');
    EXPECT_THROW(decoded<std::string>(payload), ProtocolError) << extra << " extra bytes";
  }
  Payload ints = encoded(std::vector<int>{1, 2});
  ints.push_back('\0');
  EXPECT_THROW(decoded<std::vector<int>>(ints), ProtocolError);
  Payload record = encoded(sample_record());
  record.push_back('\0');
  EXPECT_THROW(decoded<Record>(record), ProtocolError);
}

TEST(BoundedIArchiveTest, BoolByteOtherThanZeroOrOneIsProtocolError) {
  for (int byte = 2; byte <= 255; ++byte) {
    Payload payload = encoded(true);
    ASSERT_EQ(payload.size(), 1u);
    payload[0] = static_cast<char>(byte);
    EXPECT_THROW(decoded<bool>(payload), ProtocolError) << "byte " << byte;
  }
}

TEST(BoundedIArchiveTest, BoolByteOfTwoInsideContainersIsProtocolError) {
  // vector<bool>: the count, then one byte per bool.
  Payload bits = encoded(std::vector<bool>{false, true});
  bits.back() = 2;
  EXPECT_THROW(decoded<std::vector<bool>>(bits), ProtocolError);

  // boost::optional: its "initialized" flag is a bool.
  Payload optional = encoded(boost::optional<int>(5));
  const Payload optional_empty = encoded(boost::optional<int>());
  std::size_t flag = 0;
  while (flag < optional_empty.size() && optional_empty[flag] == optional[flag]) ++flag;
  ASSERT_LT(flag, optional.size());
  optional[flag] = 2;
  EXPECT_THROW(decoded<boost::optional<int>>(optional), ProtocolError);

  // A bool array member arrives through load_array as raw bytes; reading a bool holding 2 is
  // undefined behaviour, so the archive must refuse the byte before anyone reads it.
  Payload flags = encoded(Flags{});
  ASSERT_EQ(flags.back(), '\0');
  for (int byte : {2, 0x80, 0xff}) {
    flags.back() = static_cast<char>(byte);
    EXPECT_THROW(decoded<Flags>(flags), ProtocolError) << "byte " << byte;
  }
}

TEST(BoundedIArchiveTest, ExceptionFromUserSerializeBecomesProtocolError) {
  const Payload payload = encoded(Refuses{13});
  try {
    decoded<Refuses>(payload);
    FAIL() << "no exception";
  } catch (const ProtocolError& e) {
    EXPECT_NE(std::string(e.what()).find("thirteen is not allowed"), std::string::npos) << e.what();
  }
}

// A known limit of bounding counts by the bytes left: every element must take at least one
// byte, so a collection of types whose serialize() writes nothing is refused, not decoded (the
// alternative is a 2^40 count of nothing that loops and allocates without bound).
TEST(BoundedIArchiveTest, CollectionOfZeroByteElementsIsRefused) {
  EXPECT_NO_THROW(decoded<std::vector<Nothing>>(encoded(std::vector<Nothing>{})));
  EXPECT_THROW(decoded<std::vector<Nothing>>(encoded(std::vector<Nothing>(10))), ProtocolError);
}

TEST(BoundedIArchiveTest, RecursiveTypeRoundTripsWithinTheNestingLimit) {
  const Tree tree = chain(300);
  EXPECT_TRUE(round_trip(tree) == tree);
}

// The chain as a hostile peer would write it, without recursing: the preambles of Tree and of
// vector<Tree> (5 bytes each, written once), then per link a count of 1 and an item version,
// and the leaf's count of 0.
Payload forged_chain(std::size_t depth) {
  const Payload one_link = encoded(chain(1));
  Payload out(one_link.begin(), one_link.begin() + 10);
  auto append = [&out](std::uint64_t count) {
    const std::uint32_t item_version = 0;
    out.insert(out.end(), reinterpret_cast<const char*>(&count),
               reinterpret_cast<const char*>(&count) + sizeof count);
    out.insert(out.end(), reinterpret_cast<const char*>(&item_version),
               reinterpret_cast<const char*>(&item_version) + sizeof item_version);
  };
  for (std::size_t i = 0; i < depth; ++i) append(1);
  append(0);
  return out;
}

// Before the archive limited nesting, 4,000 links (48 KB) overflowed the stack of a Debug build.
TEST(BoundedIArchiveTest, DeeplyNestedPayloadIsProtocolErrorNotAStackOverflow) {
  ASSERT_EQ(forged_chain(1), encoded(chain(1)));
  ASSERT_EQ(forged_chain(3), encoded(chain(3)));
  for (std::size_t depth : {4000, 100000}) {
    try {
      decoded<Tree>(forged_chain(depth));
      ADD_FAILURE() << depth << " links decoded";
    } catch (const ProtocolError& e) {
      EXPECT_NE(std::string(e.what()).find("nested"), std::string::npos) << e.what();
    }
  }
}

// The same chain, but every level claims as many children as there are bytes left after its
// count: each count alone fits, yet each level would allocate that many Trees before reading
// any, again and again down the chain (found by fuzzing: memory grew with depth x payload).
TEST(BoundedIArchiveTest, NestedCountsThatClaimTheSameBytesAgainAreRefused) {
  Payload forged = forged_chain(200);
  // Counts sit after the 10-byte preamble, one every 12 bytes (count, item version).
  for (std::size_t at = 10; at + 8 <= forged.size(); at += 12) {
    const std::uint64_t left = forged.size() - (at + 8);
    std::memcpy(forged.data() + at, &left, sizeof left);
  }
  try {
    decoded<Tree>(forged);
    ADD_FAILURE() << "the forged chain decoded";
  } catch (const ProtocolError& e) {
    EXPECT_NE(std::string(e.what()).find("in all do not fit"), std::string::npos) << e.what();
  }
  // Honest nesting of every shape still decodes.
  Tree wide;
  for (int i = 0; i < 50; ++i) wide.children.push_back(chain(i % 7));
  EXPECT_TRUE(round_trip(wide) == wide);
}

}  // namespace
}  // namespace forkpool::detail
