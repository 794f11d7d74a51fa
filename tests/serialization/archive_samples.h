// What the bounded archive's tests share: payload helpers, forged-field helpers, and the user
// types a task author would write (serialize() members included). Used by
// bounded_iarchive_test.cc (round trips, malformed payloads) and bounded_iarchive_hostile_test.cc
// (forged lengths, random buffers).
#pragma once

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

namespace forkpool::detail::archive_test {

// Far below any length these tests forge, far above what decoding a small payload needs.
constexpr std::size_t kSmallAllocation = 64 << 10;

constexpr std::uint64_t kOneGiB = std::uint64_t{1} << 30;
constexpr std::uint64_t kTwoTo40 = std::uint64_t{1} << 40;
constexpr std::uint64_t kTwoTo63 = std::uint64_t{1} << 63;
constexpr std::uint64_t kSizeMax = std::numeric_limits<std::uint64_t>::max();

template <typename... T>
inline Payload encoded(const T&... values) {
  Payload out;
  encode_values(out, values...);
  return out;
}

template <typename T>
inline T decoded(std::span<const char> payload) {
  T value{};
  decode_with(payload, "test value", [&](BoundedIArchive& in) { in >> value; });
  return value;
}

template <typename T>
inline T round_trip(const T& value) {
  return decoded<T>(encoded(value));
}

inline std::uint64_t read_u64(const Payload& payload, std::size_t offset) {
  std::uint64_t value = 0;
  std::memcpy(&value, payload.data() + offset, sizeof value);
  return value;
}

// A class-like value (anything but a primitive or a collection of primitives) starts with a
// preamble the first time its type appears: tracking (1 byte) and class version (4 bytes). Rather
// than hard-code which types get one, find the field: the first offset at or after `from`
// holding `value`.
inline std::size_t find_u64(const Payload& payload, std::uint64_t value, std::size_t from = 0) {
  for (std::size_t offset = from; offset + sizeof value <= payload.size(); ++offset) {
    if (read_u64(payload, offset) == value) return offset;
  }
  return payload.size();
}

inline Payload with_u64(Payload payload, std::size_t offset, std::uint64_t value) {
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
inline Tree chain(int depth) {
  Tree root;
  Tree* at = &root;
  for (int i = 0; i < depth; ++i) at = &at->children.emplace_back();
  return root;
}

inline Record sample_record() {
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

}  // namespace forkpool::detail::archive_test
