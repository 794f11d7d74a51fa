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
#include <boost/serialization/collection_size_type.hpp>
#include <boost/serialization/deque.hpp>
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
#include <span>
#include <streambuf>
#include <string>

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
    if (!traits_type::eq_int_type(c, traits_type::eof())) out_->push_back(traits_type::to_char_type(c));
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
};

class BoundedIArchive
    : public boost::archive::binary_iarchive_impl<BoundedIArchive, char, std::char_traits<char>> {
  using Base = boost::archive::binary_iarchive_impl<BoundedIArchive, char, std::char_traits<char>>;

 public:
  // REQUIRES: `in` outlives the archive.
  explicit BoundedIArchive(SpanStreambuf& in) : Base(in, kArchiveFlags), in_(&in) {
    init(kArchiveFlags);
  }
  std::size_t remaining() const { return in_->remaining(); }

  // Called by Boost through the archive interface; not for direct use.
  using Base::load;
  void load(std::string& s);
  void load(std::wstring& s);
  void load(bool& b);
  template <typename T>
  void load_override(T& t) {
    Base::load_override(t);
  }
  void load_override(boost::serialization::collection_size_type& count);

 private:
  friend class boost::archive::load_access;
  friend class boost::archive::detail::interface_iarchive<BoundedIArchive>;
  friend class boost::archive::basic_binary_iarchive<BoundedIArchive>;
  // Throws if `count` items of at least `item_size` bytes each cannot fit in what is left.
  void check_length(std::size_t count, std::size_t item_size, const char* what) const;

  SpanStreambuf* in_;
};

// Appends the archive of `values` to `out`.
template <typename... T>
void encode_values(Payload& out, const T&... values) {
  PayloadStreambuf buffer(out);
  boost::archive::binary_oarchive archive(buffer, kArchiveFlags);
  (archive << ... << values);
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

}  // namespace forkpool::detail

BOOST_SERIALIZATION_REGISTER_ARCHIVE(forkpool::detail::BoundedIArchive)
BOOST_SERIALIZATION_USE_ARRAY_OPTIMIZATION(forkpool::detail::BoundedIArchive)
