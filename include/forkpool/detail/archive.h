// The archives that carry task arguments and results. Implementation detail of the public
// templates; not part of the stable API.
//
// Output: Boost's binary_oarchive (no header, no codecvt) appending to a Payload.
// Input: BoundedIArchive, a binary_iarchive that only ever reads one complete in-memory frame
// and checks every string and collection length against the bytes left before it allocates.
// Plain binary_iarchive allocates whatever a corrupted length says (1 GiB for a 148-byte
// frame), and asserts on a bool that is neither 0 nor 1.
#pragma once

#include <boost/archive/binary_iarchive_impl.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/archive/detail/register_archive.hpp>
#include <boost/serialization/array_wrapper.hpp>
#include <boost/serialization/collection_size_type.hpp>
#include <boost/serialization/deque.hpp>
#include <boost/serialization/item_version_type.hpp>
#include <boost/serialization/library_version_type.hpp>
#include <boost/serialization/list.hpp>
#include <boost/serialization/map.hpp>
#include <boost/serialization/optional.hpp>
#include <boost/serialization/set.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/unordered_map.hpp>
#include <boost/serialization/unordered_set.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>
#include <cstddef>
#include <cstring>
#include <span>
#include <streambuf>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "forkpool/detail/payload.h"

namespace forkpool::detail {

inline constexpr unsigned kArchiveFlags = boost::archive::no_header | boost::archive::no_codecvt;

// An output streambuf that appends to a Payload.
class PayloadStreambuf : public std::streambuf {
 public:
  explicit PayloadStreambuf(Payload& out) : out_(&out) {}

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_->insert(out_->end(), s, s + n);
    return n;
  }
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof()))
      out_->push_back(traits_type::to_char_type(c));
    return traits_type::not_eof(c);
  }

 private:
  Payload* out_;
};

// An input streambuf over a complete buffer; knows how many bytes are left.
class SpanStreambuf : public std::streambuf {
 public:
  explicit SpanStreambuf(std::span<const char> in) {
    char* begin = const_cast<char*>(in.data());  // the get area is never written through
    setg(begin, begin, begin + in.size());
  }
  std::size_t remaining() const { return static_cast<std::size_t>(egptr() - gptr()); }
  // The next `n` bytes, in place, and the get area moved past them (a decoder copies them
  // once, into their final place). REQUIRES: n <= remaining().
  const char* take(std::size_t n) {
    char* here = gptr();
    setg(eback(), here + n, egptr());
    return here;
  }
};

// Gives `container` room for `count` items without touching it: storage already large enough
// is kept, new storage is advised onto huge pages when large (see advise_huge_pages), before
// the resize() that follows faults it in.
template <typename Container>
void reserve_for_decode(Container& container, std::size_t count) {
  if (container.capacity() >= count) return;
  container.clear();  // nothing to copy into the new storage
  container.reserve(count);
  advise_huge_pages(container.data(), count * sizeof(typename Container::value_type));
}

class BoundedIArchive
    : public boost::archive::binary_iarchive_impl<BoundedIArchive, char, std::char_traits<char>> {
  using Base = boost::archive::binary_iarchive_impl<BoundedIArchive, char, std::char_traits<char>>;

 public:
  // REQUIRES: `in` outlives the archive.
  explicit BoundedIArchive(SpanStreambuf& in)
      : Base(in, kArchiveFlags), in_(&in), frame_bytes_(in.remaining()) {
    init(kArchiveFlags);
  }
  std::size_t remaining() const { return in_->remaining(); }
  // The next `n` bytes of the frame, in place, consumed. REQUIRES: n <= remaining().
  const char* take_bytes(std::size_t n) { return in_->take(n); }

  // Called by Boost through the archive interface; not for direct use.
  using Base::load;
  void load(std::string& s);
  void load(std::wstring& s);
  void load(bool& b);
  template <typename T>
  void load_override(T& t) {
    NestingGuard guard(nesting_);
    Base::load_override(t);
  }
  void load_override(boost::serialization::collection_size_type& count);
  // Arrays of bitwise types (a `bool flags[4]` member) arrive as raw bytes through here, not
  // through load(bool&), so a byte of 2 would become a bool holding 2 (undefined behaviour).
  template <typename T>
  void load_array(boost::serialization::array_wrapper<T>& array, unsigned int version) {
    Base::load_array(array, version);
    if constexpr (std::is_same_v<std::remove_cv_t<T>, bool>) {
      check_bools(array.address(), array.count());
    }
  }
  // Throws if `count` items of at least `item_size` bytes each cannot fit in what is left.
  void check_length(std::size_t count, std::size_t item_size, const char* what) const;
  // Reads a size that is only a hint (an unordered container's bucket count) without the
  // length check; the caller must not allocate from it.
  void load_size_hint(boost::serialization::collection_size_type& hint) {
    Base::load_override(hint);
  }

 private:
  friend class boost::archive::load_access;
  friend class boost::archive::detail::interface_iarchive<BoundedIArchive>;
  friend class boost::archive::basic_binary_iarchive<BoundedIArchive>;
  // Throws unless every byte of `values` is 0 or 1.
  void check_bools(const bool* values, std::size_t count) const;

  // Decoding recurses once per nested value, so a frame of a recursive user type (a tree node
  // holding a vector of nodes) nested 4,000 deep — 48 KB — overflowed the stack of a Debug
  // build. Past this many values in progress the payload is refused instead: about 330 levels
  // of such a type, a few hundred KB of stack.
  static constexpr int kMaxNesting = 1000;
  class NestingGuard {
   public:
    explicit NestingGuard(int& nesting) : nesting_(nesting) {
      if (nesting_ >= kMaxNesting) throw_too_deep();
      ++nesting_;
    }
    ~NestingGuard() { --nesting_; }
    NestingGuard(const NestingGuard&) = delete;
    NestingGuard& operator=(const NestingGuard&) = delete;

   private:
    int& nesting_;
  };
  [[noreturn]] static void throw_too_deep();

  SpanStreambuf* in_;
  int nesting_ = 0;
  // Elements promised by every collection count read so far. A container allocates its count
  // before reading any element, and a nested one can claim the same bytes again, so checking
  // each count against the bytes left alone lets memory grow with the nesting depth (a
  // recursive type, each level claiming the whole frame). Every element has at least one
  // byte of its own on the wire, so all counts together cannot exceed the frame's size.
  std::size_t frame_bytes_;
  std::size_t promised_ = 0;
};

// Boost writes an unordered container's bucket_count before its items. It is only a hint and
// may legitimately exceed the bytes that follow (std::unordered_set<int>{1} has 13 buckets, a
// reserved empty map thousands), so checking it like an item count refuses valid archives, and
// trusting it lets a corrupted value make rehash() allocate it. These overloads, found by
// argument-dependent lookup and more specialized than Boost's, read the hint and ignore it.
template <typename Container, typename InsertItem>
void load_unordered(BoundedIArchive& archive, Container& container) {
  boost::serialization::collection_size_type count;
  boost::serialization::collection_size_type bucket_count_hint;
  boost::serialization::item_version_type item_version(0);
  archive >> count;  // checked against the bytes left
  archive.load_size_hint(bucket_count_hint);
  if (boost::serialization::library_version_type(3) < archive.get_library_version()) {
    archive >> item_version;
  }
  container.clear();
  InsertItem insert;
  for (std::size_t i = 0; i < count; ++i) insert(archive, container, item_version);
}

template <typename K, typename V, typename H, typename E, typename A>
void load(BoundedIArchive& archive, std::unordered_map<K, V, H, E, A>& map, unsigned int) {
  using Map = std::unordered_map<K, V, H, E, A>;
  load_unordered<Map, boost::serialization::stl::archive_input_unordered_map<BoundedIArchive, Map>>(
      archive, map);
}

template <typename K, typename V, typename H, typename E, typename A>
void load(BoundedIArchive& archive, std::unordered_multimap<K, V, H, E, A>& map, unsigned int) {
  using Map = std::unordered_multimap<K, V, H, E, A>;
  load_unordered<Map,
                 boost::serialization::stl::archive_input_unordered_multimap<BoundedIArchive, Map>>(
      archive, map);
}

template <typename K, typename H, typename E, typename A>
void load(BoundedIArchive& archive, std::unordered_set<K, H, E, A>& set, unsigned int) {
  using Set = std::unordered_set<K, H, E, A>;
  load_unordered<Set, boost::serialization::stl::archive_input_unordered_set<BoundedIArchive, Set>>(
      archive, set);
}

template <typename K, typename H, typename E, typename A>
void load(BoundedIArchive& archive, std::unordered_multiset<K, H, E, A>& set, unsigned int) {
  using Set = std::unordered_multiset<K, H, E, A>;
  load_unordered<Set,
                 boost::serialization::stl::archive_input_unordered_multiset<BoundedIArchive, Set>>(
      archive, set);
}

// The element types that may read a frame's bytes in place (they may alias any object).
template <typename U>
inline constexpr bool kByteType =
    std::is_same_v<U, char> || std::is_same_v<U, unsigned char> || std::is_same_v<U, std::byte>;

// Boost's load of a vector of bitwise elements, with two changes: the count is checked against
// the bytes its items need, and a large vector's storage is reserved and advised onto huge pages
// (see advise_huge_pages) before resize() touches it, so a 64 MiB result decodes into 32 faulted
// pages instead of 16,384. More specialized than Boost's, so overload resolution picks it for this
// archive.
template <typename U, typename A>
void load(BoundedIArchive& archive, std::vector<U, A>& vector, unsigned int /*version*/,
          boost::mpl::true_ /*bitwise*/) {
  boost::serialization::collection_size_type count(vector.size());
  archive >> count;
  // The items follow as count * sizeof(U) raw bytes: a count they cannot fill is refused
  // before it is allocated, not after allocating up to sizeof(U) times the frame.
  archive.check_length(count, sizeof(U), "vector");
  reserve_for_decode(vector, count);
  unsigned int item_version = 0;
  if (BOOST_SERIALIZATION_VECTOR_VERSIONED(archive.get_library_version())) {
    archive >> item_version;
  }
  if constexpr (kByteType<U>) {
    // Bytes: copied once, from the frame into the reserved storage, instead of resize()
    // zero-filling it and load_array() copying over the zeros: a third less memory traffic
    // for a 64 MiB result.
    archive.check_length(count, 1, "vector");  // again: item_version may have used a byte
    const auto* bytes = reinterpret_cast<const U*>(archive.take_bytes(count));
    vector.assign(bytes, bytes + count);
    return;
  }
  vector.resize(count);
  if (count != 0) {
    archive >> boost::serialization::make_array<U, boost::serialization::collection_size_type>(
                   vector.data(), count);
  }
}

// Boost's binary archive writes an arithmetic value as its bytes and nothing else, so values
// that are all arithmetic can be copied as bytes: the same archive, without building one (which
// costs more than encoding a small value, and a tiny task's arguments and result are that).
// bool is left to the archive, whose decoder checks that the byte is 0 or 1.
template <typename... T>
inline constexpr bool kPlainBytes = sizeof...(T) > 0 &&
                                    ((std::is_arithmetic_v<T> && !std::is_same_v<T, bool>)&&...);

// Appends the archive of `values` to `out`.
template <typename... T>
void encode_values(Payload& out, const T&... values) {
  if constexpr (kPlainBytes<T...>) {
    char bytes[(sizeof(T) + ...)];
    char* p = bytes;
    ((std::memcpy(p, &values, sizeof(T)), p += sizeof(T)), ...);
    // Not resize() and memcpy into the vector: growing a Payload from unknown size inlines a
    // loop that moves the old bytes, and GCC 12 at -O3 warns (-Wstringop-overflow, falsely)
    // about that loop when the vector is empty, in every client build that submits in a
    // loop. An empty payload (every call's arguments) takes the bytes without moving any.
    if (out.empty()) {
      out.assign(bytes, bytes + sizeof bytes);
    } else {
      out.insert(out.end(), bytes, bytes + sizeof bytes);
    }
  } else {
    PayloadStreambuf buffer(out);
    boost::archive::binary_oarchive archive(buffer, kArchiveFlags);
    (archive << ... << values);
  }
}

// Runs `read(archive)` over a complete buffer and requires that it consumes every byte.
// Any failure to decode — a short buffer, an impossible length, a bad value, an exception from
// a user type's serialize — becomes forkpool::ProtocolError naming `what`.
void decode_buffer(std::span<const char> in, const char* what,
                   void (*read)(BoundedIArchive&, void*), void* context);

template <typename F>
void decode_with(std::span<const char> in, const char* what, F&& read) {
  decode_buffer(
      in, what, [](BoundedIArchive& archive, void* f) { (*static_cast<F*>(f))(archive); },
      static_cast<void*>(&read));
}

// Throws ProtocolError: `what` is `got` bytes where exactly `wanted` were expected.
[[noreturn]] void refuse_size(const char* what, std::size_t got, std::size_t wanted);

// Decodes `values`, in order, from all of `in` (ProtocolError as decode_with). Plain values
// (kPlainBytes) are copied straight from the bytes.
template <typename... T>
void decode_values(std::span<const char> in, const char* what, T&... values) {
  if constexpr (kPlainBytes<T...>) {
    constexpr std::size_t wanted = (sizeof(T) + ...);
    if (in.size() != wanted) refuse_size(what, in.size(), wanted);
    const char* p = in.data();
    ((std::memcpy(&values, p, sizeof(T)), p += sizeof(T)), ...);
  } else {
    decode_with(in, what, [&](BoundedIArchive& archive) { ((archive >> values), ...); });
  }
}

}  // namespace forkpool::detail

BOOST_SERIALIZATION_REGISTER_ARCHIVE(forkpool::detail::BoundedIArchive)
BOOST_SERIALIZATION_USE_ARRAY_OPTIMIZATION(forkpool::detail::BoundedIArchive)
