// Tests serialization/bounded_iarchive.cc and include/forkpool/detail/archive.h: values round
// trip through the archives, and a corrupted or hostile payload is a ProtocolError that never
// crashes and never allocates what a corrupted length asks for.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <limits>
#include <list>
#include <map>
#include <new>
#include <random>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "forkpool/detail/archive.h"
#include "forkpool/errors.h"
#include "serialization/messages.h"

// ---------------------------------------------------------------------------------------------
// Allocation probe. This binary replaces the global operator new so a test can ask "what was the
// largest single allocation requested while decoding?". That is the honest check for "it did not
// allocate what the corrupted length said": the request is recorded even if it would fail, and
// while probing, a request above kRefusedAllocation is refused with bad_alloc instead of being
// served, so a regression fails the test instead of zero-filling gigabytes. Every unaligned
// new/delete form is replaced together (all on malloc/free), so AddressSanitizer, which intercepts
// malloc, still sees every block and no pair is mismatched; the aligned forms are left alone and
// pair among themselves. Only this test binary is affected.
namespace {

constexpr std::size_t kRefusedAllocation = std::size_t{64} << 20;

std::atomic<bool> probing{false};
std::atomic<std::size_t> largest_allocation{0};

void* allocate(std::size_t size) noexcept {
  if (probing.load(std::memory_order_relaxed)) {
    std::size_t seen = largest_allocation.load(std::memory_order_relaxed);
    while (size > seen &&
           !largest_allocation.compare_exchange_weak(seen, size, std::memory_order_relaxed)) {
    }
    if (size > kRefusedAllocation) return nullptr;
  }
  return std::malloc(size == 0 ? 1 : size);
}

void* allocate_or_throw(std::size_t size) {
  if (void* p = allocate(size)) return p;
  throw std::bad_alloc();
}

}  // namespace

void* operator new(std::size_t size) { return allocate_or_throw(size); }
void* operator new[](std::size_t size) { return allocate_or_throw(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace forkpool::detail {
namespace {

using serialization::decode_error;
using serialization::decode_hello;
using serialization::decode_log;

// Records the largest allocation requested while it is alive. Not reentrant.
class AllocationProbe {
 public:
  AllocationProbe() {
    largest_allocation.store(0);
    probing.store(true);
  }
  ~AllocationProbe() { probing.store(false); }
  std::size_t largest() const { return largest_allocation.load(); }
};

// Far below any length these tests forge, far above what decoding a small payload needs.
constexpr std::size_t kSmallAllocation = 64 << 10;

constexpr std::uint64_t kOneGiB = std::uint64_t{1} << 30;
constexpr std::uint64_t kTwoTo40 = std::uint64_t{1} << 40;
constexpr std::uint64_t kTwoTo63 = std::uint64_t{1} << 63;
constexpr std::uint64_t kSizeMax = std::numeric_limits<std::uint64_t>::max();

template <typename... T>
Payload encoded(const T&... values) {
  Payload out;
  encode_values(out, values...);
  return out;
}

template <typename T>
T decoded(std::span<const char> payload) {
  T value{};
  decode_with(payload, "test value", [&](BoundedIArchive& in) { in >> value; });
  return value;
}

template <typename T>
T round_trip(const T& value) {
  return decoded<T>(encoded(value));
}

std::uint64_t read_u64(const Payload& payload, std::size_t offset) {
  std::uint64_t value = 0;
  std::memcpy(&value, payload.data() + offset, sizeof value);
  return value;
}

// A class-like value (anything but a primitive or a collection of primitives) starts with a
// preamble the first time its type appears: tracking (1 byte) and class version (4 bytes). Rather
// than hard-code which types get one, find the field: the first offset at or after `from`
// holding `value`.
std::size_t find_u64(const Payload& payload, std::uint64_t value, std::size_t from = 0) {
  for (std::size_t offset = from; offset + sizeof value <= payload.size(); ++offset) {
    if (read_u64(payload, offset) == value) return offset;
  }
  return payload.size();
}

Payload with_u64(Payload payload, std::size_t offset, std::uint64_t value) {
  std::memcpy(payload.data() + offset, &value, sizeof value);
  return payload;
}

// clang-format would rewrite `archive & x & y` as `archive& x& y`, declarations of references.
// clang-format off
// A user type as a task author would write it: strings, containers, a nested struct, an
// optional, and a bool array (which Boost reads as raw bytes, bypassing load(bool&)).
struct Point {
  std::int32_t x = 0;
  double y = 0;
  std::string label;
  template <typename Archive>
  void serialize(Archive& archive, unsigned int /*version*/) {
    archive & x & y & label;
  }
  bool operator==(const Point&) const = default;
};

struct Record {
  std::string name;
  std::vector<std::int64_t> values;
  std::vector<Point> points;
  Point origin;
  boost::optional<std::string> note;
  boost::optional<Point> corner;
  std::map<std::string, std::vector<int>> tags;
  std::set<std::string> labels;
  std::unordered_map<std::string, double> weights;
  std::unordered_set<int> ids;
  std::list<std::string> lines;
  std::deque<std::uint16_t> queue;
  std::pair<int, std::string> pair;
  bool flags[3] = {false, false, false};
  std::vector<bool> bits;
  template <typename Archive>
  void serialize(Archive& archive, unsigned int /*version*/) {
    archive & name & values & points & origin & note & corner & tags & labels & weights & ids;
    archive & lines & queue & pair & flags & bits;
  }
  bool operator==(const Record&) const = default;
};

struct Flags {
  bool values[4] = {false, false, false, false};
  template <typename Archive>
  void serialize(Archive& archive, unsigned int /*version*/) {
    archive & values;
  }
};

struct Refuses {
  int value = 0;
  template <typename Archive>
  void serialize(Archive& archive, unsigned int /*version*/) {
    archive & value;
    if (Archive::is_loading::value && value == 13) {
      throw std::invalid_argument("thirteen is not allowed");
    }
  }
};

// The user type for random buffers: Record's kinds of field, fewer of them, so a valid one
// (the seed for mutations) fits in kMaxRandomSize.
struct Sketch {
  std::string name;
  std::vector<Point> points;
  boost::optional<Point> corner;
  std::unordered_map<std::string, int> counts;
  std::set<int> ids;
  bool flags[2] = {false, false};
  template <typename Archive>
  void serialize(Archive& archive, unsigned int /*version*/) {
    archive & name & points & corner & counts & ids & flags;
  }
};

// Writes nothing at all.
struct Nothing {
  template <typename Archive>
  void serialize(Archive& /*archive*/, unsigned int /*version*/) {}
};

// A recursive type: decoding recurses once per level.
struct Tree {
  std::vector<Tree> children;
  template <typename Archive>
  void serialize(Archive& archive, unsigned int /*version*/) {
    archive & children;
  }
  bool operator==(const Tree&) const = default;
};

// clang-format on

// A tree `depth` links deep, each node with one child.
Tree chain(int depth) {
  Tree root;
  Tree* at = &root;
  for (int i = 0; i < depth; ++i) at = &at->children.emplace_back();
  return root;
}

Record sample_record() {
  Record r;
  r.name = "record";
  r.values = {std::numeric_limits<std::int64_t>::min(), -1, 0, 1,
              std::numeric_limits<std::int64_t>::max()};
  r.points = {{1, 0.5, "a"}, {-2, -0.25, ""}, {3, 1e300, std::string(300, 'p')}};
  r.origin = {0, 0, "origin"};
  r.note = std::string("a note");
  r.corner = Point{7, 7.5, "corner"};
  r.tags = {{"", {}}, {"odd", {1, 3, 5}}, {"even", {0, 2}}};
  r.labels = {"", "x", "y"};
  r.weights = {{"w1", 0.5}, {"w2", -0.0}};
  r.ids = {1, 2, 3, 1000000};
  r.lines = {"first", "", "third"};
  r.queue = {0, 65535};
  r.pair = {-1, "pair"};
  r.flags[0] = true;
  r.flags[2] = true;
  r.bits = {true, false, true, true};
  return r;
}

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

// ----- The hazard from DESIGN.md: a length field changed to something huge -------------------

// Decodes `payload` with `decode` under an allocation probe and requires a ProtocolError with
// no allocation anywhere near what the forged length asked for.
template <typename Decode>
void expect_refused_without_allocating(const Payload& payload, Decode decode,
                                       const std::string& what) {
  std::size_t largest = 0;
  bool threw_protocol_error = false;
  {
    AllocationProbe probe;
    try {
      decode(payload);
    } catch (const ProtocolError&) {
      threw_protocol_error = true;
    }
    largest = probe.largest();
  }
  EXPECT_TRUE(threw_protocol_error) << what;
  EXPECT_LE(largest, kSmallAllocation) << what << ": decoding requested " << largest << " bytes";
}

TEST(BoundedIArchiveTest, HugeStringLengthInHelloIsRefusedWithoutAllocating) {
  serialization::Hello hello;
  hello.pid = 4242;
  hello.worker_id = 3;
  hello.build_id = "a small valid frame";
  hello.registry_hash = 0x0123456789abcdefull;
  const Payload valid = serialization::encode(hello);
  // protocol_version, pid and worker_id come first; then the string's 8-byte length.
  constexpr std::size_t kLengthOffset = 3 * sizeof(std::uint32_t);
  ASSERT_EQ(read_u64(valid, kLengthOffset), hello.build_id.size());
  ASSERT_EQ(decode_hello(valid), hello);

  for (std::uint64_t length : {kOneGiB, kTwoTo63, kSizeMax}) {
    expect_refused_without_allocating(
        with_u64(valid, kLengthOffset, length), [](const Payload& p) { decode_hello(p); },
        "Hello build_id length " + std::to_string(length));
  }
}

TEST(BoundedIArchiveTest, HugeStringLengthAnywhereIsRefusedWithoutAllocating) {
  // ErrorReply of a task that threw: its kind byte, then two strings, the second's length
  // after the first.
  const serialization::TaskThrew error{"std::runtime_error", "message"};
  const Payload error_payload = serialization::encode(error);
  constexpr std::size_t kTypeNameLengthOffset = 1;
  const std::size_t message_length_offset =
      kTypeNameLengthOffset + sizeof(std::uint64_t) + error.type_name.size();
  ASSERT_EQ(read_u64(error_payload, kTypeNameLengthOffset), error.type_name.size());
  ASSERT_EQ(read_u64(error_payload, message_length_offset), error.message.size());
  // LogLine: an int32 level, then the text.
  const Payload log_payload = serialization::encode(serialization::LogLine{2, "text"});
  ASSERT_EQ(read_u64(log_payload, sizeof(std::int32_t)), 4u);
  // A bare string and a wide string: the length comes first.
  const Payload string_payload = encoded(std::string("short"));
  const Payload wide_payload = encoded(std::wstring(L"wide"));

  for (std::uint64_t length : {kOneGiB, kTwoTo63, kSizeMax}) {
    const std::string what = " length " + std::to_string(length);
    expect_refused_without_allocating(
        with_u64(error_payload, kTypeNameLengthOffset, length),
        [](const Payload& p) { decode_error(p); }, "ErrorReply type_name" + what);
    expect_refused_without_allocating(
        with_u64(error_payload, message_length_offset, length),
        [](const Payload& p) { decode_error(p); }, "ErrorReply message" + what);
    expect_refused_without_allocating(
        with_u64(log_payload, sizeof(std::int32_t), length),
        [](const Payload& p) { decode_log(p); }, "LogLine text" + what);
    expect_refused_without_allocating(
        with_u64(string_payload, 0, length), [](const Payload& p) { decoded<std::string>(p); },
        "std::string" + what);
    expect_refused_without_allocating(
        with_u64(wide_payload, 0, length), [](const Payload& p) { decoded<std::wstring>(p); },
        "std::wstring" + what);
  }
}

// Every collection's count (8 bytes) comes first on the wire, after the preamble if any.
template <typename Collection>
void expect_huge_count_refused(const Collection& small) {
  const Payload valid = encoded(small);
  const std::size_t count_offset = find_u64(valid, small.size());
  ASSERT_LE(count_offset, 5u) << typeid(Collection).name();
  ASSERT_EQ(decoded<Collection>(valid), small);
  for (std::uint64_t count : {kTwoTo40, kTwoTo63, kSizeMax}) {
    expect_refused_without_allocating(
        with_u64(valid, count_offset, count), [](const Payload& p) { decoded<Collection>(p); },
        std::string(typeid(Collection).name()) + " count " + std::to_string(count));
  }
}

TEST(BoundedIArchiveTest, HugeCollectionCountIsRefusedWithoutAllocating) {
  expect_huge_count_refused(std::vector<int>{1, 2, 3});
  expect_huge_count_refused(std::vector<double>{1.5});
  expect_huge_count_refused(std::vector<std::string>{"a", "b"});
  expect_huge_count_refused(std::vector<std::vector<int>>{{1}, {}});
  expect_huge_count_refused(std::vector<bool>{true, false});
  expect_huge_count_refused(std::vector<Point>{{1, 2, "p"}});
  expect_huge_count_refused(std::map<int, std::string>{{1, "one"}, {2, "two"}});
  expect_huge_count_refused(std::set<int>{1, 2});
  expect_huge_count_refused(std::list<int>{1, 2});
  expect_huge_count_refused(std::deque<std::string>{"d"});
  expect_huge_count_refused(std::unordered_map<int, int>{{1, 2}});
  expect_huge_count_refused(std::unordered_set<std::string>{"u"});
}

// The bucket count that follows an unordered container's item count is a hint: forged, it must
// neither be allocated nor make a valid payload fail.
// A vector of 8-byte items whose count fits the bytes left only at one byte per item: refused
// before its storage (8 times the bytes left) is allocated.
TEST(BoundedIArchiveTest, VectorCountIsCheckedAgainstItsItemSize) {
  const std::vector<std::uint64_t> values(1000, 7);
  const Payload payload = encoded(values);
  const std::size_t at = find_u64(payload, values.size());
  ASSERT_LT(at, payload.size());
  const std::size_t left = payload.size() - at - sizeof(std::uint64_t);
  ASSERT_EQ(left, values.size() * sizeof(std::uint64_t));
  for (const std::uint64_t count : {values.size() + 1, std::uint64_t{left}}) {
    const Payload forged = with_u64(payload, at, count);
    AllocationProbe probe;
    EXPECT_THROW(decoded<std::vector<std::uint64_t>>(forged), ProtocolError) << count;
    EXPECT_LT(probe.largest(), left) << count;
  }
}

TEST(BoundedIArchiveTest, HugeBucketCountIsIgnoredWithoutAllocating) {
  using Map = std::unordered_map<int, int>;
  const Map map = {{1, 10}, {2, 20}};
  const Payload valid = encoded(map);
  // The item count, then the bucket count.
  const std::size_t buckets_offset = find_u64(valid, map.size()) + sizeof(std::uint64_t);
  ASSERT_EQ(read_u64(valid, buckets_offset), map.bucket_count());
  for (std::uint64_t buckets : {kTwoTo40, kTwoTo63, kSizeMax}) {
    const Payload forged = with_u64(valid, buckets_offset, buckets);
    AllocationProbe probe;
    Map out;
    EXPECT_NO_THROW(out = decoded<Map>(forged)) << buckets;
    EXPECT_EQ(out, map);
    EXPECT_LE(probe.largest(), kSmallAllocation) << "bucket count " << buckets;
  }
}

// A nested count: the inner vector's count lies, the outer one does not.
TEST(BoundedIArchiveTest, HugeNestedCountIsRefusedWithoutAllocating) {
  using Nested = std::vector<std::vector<std::string>>;
  const Payload valid = encoded(Nested{{"x", "y", "z"}});
  // The outer count is 1, the inner 3.
  const std::size_t outer_count = find_u64(valid, 1);
  const std::size_t inner_count = find_u64(valid, 3, outer_count + sizeof(std::uint64_t));
  ASSERT_LT(inner_count, valid.size());
  for (std::uint64_t count : {kTwoTo40, kTwoTo63, kSizeMax}) {
    expect_refused_without_allocating(
        with_u64(valid, inner_count, count), [](const Payload& p) { decoded<Nested>(p); },
        "inner count " + std::to_string(count));
  }
}

// ----- Random buffers ------------------------------------------------------------------------

// Each buffer goes to one decoder, in rotation, so every decoder sees its own ~28,000 buffers.
// Nearly every buffer is refused, and a refusal costs two C++ throws. Measured on a busy shared
// 2-core machine, this count takes 4-4.5 s in the Debug build, 13-14 s under ASan+UBSan (Debug)
// and 14-15 s under scripts/test's ASan+UBSan (RelWithDebInfo, detect_stack_use_after_return);
// 300,000 went past 20 s there whenever the machine was loaded.
constexpr int kRandomBuffers = 200000;
constexpr std::size_t kMaxRandomSize = 256;
// No decoder here has an element type above 64 bytes (Point is the largest), and a count must
// pass the bytes-left check before anything reserves for it; so no single allocation while
// decoding a buffer of at most 256 bytes needs more than this.
constexpr std::size_t kLargestElement = 64;
static_assert(sizeof(Point) <= kLargestElement && sizeof(std::string) <= kLargestElement &&
              sizeof(std::pair<const std::string, int>) <= kLargestElement);
constexpr std::size_t kRandomAllocationBound = kLargestElement * kMaxRandomSize;

struct Decoder {
  const char* name;
  void (*decode)(std::span<const char>);
  Payload seed;  // a valid payload for it, to mutate
};

std::vector<Decoder> decoders() {
  serialization::Hello hello;
  hello.build_id = "build";
  return {
      {"decode_hello", [](std::span<const char> b) { decode_hello(b); },
       serialization::encode(hello)},
      {"decode_error", [](std::span<const char> b) { decode_error(b); },
       serialization::encode(serialization::TaskThrew{"E", "boom"})},
      {"decode_log", [](std::span<const char> b) { decode_log(b); },
       serialization::encode(serialization::LogLine{3, "line"})},
      {"vector<string>", [](std::span<const char> b) { decoded<std::vector<std::string>>(b); },
       encoded(std::vector<std::string>{"a", "", "bc"})},
      {"map<int, string>", [](std::span<const char> b) { decoded<std::map<int, std::string>>(b); },
       encoded(std::map<int, std::string>{{1, "x"}, {-2, ""}})},
      {"vector<double>", [](std::span<const char> b) { decoded<std::vector<double>>(b); },
       encoded(std::vector<double>{0.5, -1.0})},
      {"Sketch", [](std::span<const char> b) { decoded<Sketch>(b); },
       encoded(Sketch{
           "s", {{1, 0.5, "a"}, {2, -1, ""}}, Point{3, 4, "c"}, {{"n", 1}}, {7}, {true, false}})},
  };
}

// Three kinds of buffer, so decoders get past the first length field often enough to reach the
// deep paths: uniform random bytes; sparse bytes (mostly 0 and small values, so lengths and
// counts are plausible); and a valid payload with a few bytes overwritten, flipped, cut or added.
class BufferSource {
 public:
  explicit BufferSource(std::uint64_t seed) : random_(seed) {}

  Payload next(const Payload& seed) {
    switch (pick(3)) {
      case 0:
        return uniform();
      case 1:
        return sparse();
      default:
        return mutated(seed);
    }
  }

 private:
  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(random_);
  }
  char random_byte() { return static_cast<char>(random_()); }

  Payload uniform() {
    Payload out(pick(kMaxRandomSize + 1));
    for (char& c : out) c = random_byte();
    return out;
  }

  Payload sparse() {
    Payload out(pick(kMaxRandomSize + 1));
    for (char& c : out) {
      const std::size_t roll = pick(8);
      c = roll < 5 ? '\0' : roll < 7 ? static_cast<char>(pick(4)) : random_byte();
    }
    return out;
  }

  Payload mutated(Payload out) {
    for (std::size_t edits = 1 + pick(4); edits > 0; --edits) {
      const std::size_t at = pick(out.size() + 1);
      switch (pick(4)) {
        case 0:
          if (at < out.size()) out[at] = random_byte();
          break;
        case 1:
          if (at < out.size()) out[at] = static_cast<char>(out[at] ^ (1 << pick(8)));
          break;
        case 2:
          out.resize(at);
          break;
        default:
          out.insert(out.begin() + static_cast<std::ptrdiff_t>(at), random_byte());
          break;
      }
    }
    if (out.size() > kMaxRandomSize) out.resize(kMaxRandomSize);
    return out;
  }

  std::mt19937_64 random_;
};

TEST(BoundedIArchiveTest, RandomBuffersAreDecodedOrRefusedWithBoundedAllocation) {
  const std::vector<Decoder> all = decoders();
  for (const Decoder& decoder : all) {
    ASSERT_NO_THROW(decoder.decode(decoder.seed)) << decoder.name;
    ASSERT_LE(decoder.seed.size(), kMaxRandomSize) << decoder.name;
  }
  BufferSource source(0x5EEDF00Dull);
  long decoded = 0;
  long refused = 0;
  long other = 0;  // anything but success or ProtocolError: a failure
  std::string first_other;
  std::size_t largest = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRandomBuffers; ++i) {
    const Decoder& decoder = all[static_cast<std::size_t>(i) % all.size()];
    const Payload buffer = source.next(decoder.seed);
    AllocationProbe probe;
    try {
      decoder.decode(buffer);
      ++decoded;
    } catch (const ProtocolError&) {
      ++refused;
    } catch (const std::exception& e) {
      if (other++ == 0) {
        first_other = std::string(decoder.name) + " on buffer " + std::to_string(i) + " threw " +
                      typeid(e).name() + ": " + e.what();
      }
    } catch (...) {
      if (other++ == 0) {
        first_other = std::string(decoder.name) + " on buffer " + std::to_string(i) +
                      " threw a non-std exception";
      }
    }
    largest = std::max(largest, probe.largest());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  EXPECT_EQ(other, 0) << first_other;
  EXPECT_LE(largest, kRandomAllocationBound);
  // The buffers must reach both outcomes, or the test proves nothing.
  EXPECT_GT(decoded, 0);
  EXPECT_GT(refused, 0);
  RecordProperty("buffers", kRandomBuffers);
  RecordProperty("decoded", std::to_string(decoded));
  RecordProperty("refused", std::to_string(refused));
  RecordProperty("largest_allocation", std::to_string(largest));
  RecordProperty("seconds", std::to_string(seconds));
}

}  // namespace
}  // namespace forkpool::detail
