// Explicit instantiation of the bounded input archive and its length checks.
#include <boost/archive/archive_exception.hpp>
#include <boost/archive/detail/archive_serializer_map.hpp>
#include <boost/archive/impl/archive_serializer_map.ipp>
#include <boost/archive/impl/basic_binary_iarchive.ipp>
#include <boost/archive/impl/basic_binary_iprimitive.ipp>
#include <new>
#include <stdexcept>
#include <string>

#include "forkpool/detail/archive.h"
#include "forkpool/errors.h"

namespace boost::archive {
template class detail::archive_serializer_map<forkpool::detail::BoundedIArchive>;
template class basic_binary_iprimitive<forkpool::detail::BoundedIArchive, char,
                                       std::char_traits<char>>;
template class basic_binary_iarchive<forkpool::detail::BoundedIArchive>;
template class binary_iarchive_impl<forkpool::detail::BoundedIArchive, char,
                                    std::char_traits<char>>;
}  // namespace boost::archive

namespace forkpool::detail {
namespace {

// Thrown inside the archive; decode_buffer turns it into ProtocolError with context.
struct BadLength : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace

void BoundedIArchive::check_length(std::size_t count, std::size_t item_size,
                                   const char* what) const {
  const std::size_t left = remaining();
  if (item_size != 0 && count > left / item_size) {
    throw BadLength(std::string(what) + " of " + std::to_string(count) +
                    " items does not fit in the " + std::to_string(left) + " bytes left");
  }
}

void BoundedIArchive::load(std::string& s) {
  std::size_t length = 0;
  load_binary(&length, sizeof length);
  check_length(length, 1, "string");
  reserve_for_decode(s, length);
  // One copy, from the frame into the reserved storage: not resize() (which zero-fills it)
  // and a second copy over the zeros.
  s.assign(take_bytes(length), length);
}

void BoundedIArchive::load(std::wstring& s) {
  std::size_t length = 0;
  load_binary(&length, sizeof length);
  check_length(length, sizeof(wchar_t), "wide string");
  s.resize(length);
  if (length != 0) load_binary(s.data(), length * sizeof(wchar_t));
}

void BoundedIArchive::load(bool& b) {
  unsigned char byte = 0;
  load_binary(&byte, 1);
  if (byte > 1) throw BadLength("bool byte " + std::to_string(byte) + " is neither 0 nor 1");
  b = byte == 1;
}

void BoundedIArchive::throw_too_deep() {
  throw BadLength("values nested more than " + std::to_string(kMaxNesting) + " deep");
}

void BoundedIArchive::check_bools(const bool* values, std::size_t count) const {
  // Inspect the bytes, never the bools: reading a bool that holds 2 is itself undefined.
  const auto* bytes = reinterpret_cast<const unsigned char*>(values);
  for (std::size_t i = 0; i < count * sizeof(bool); ++i) {
    if (bytes[i] > 1) {
      throw BadLength("bool byte " + std::to_string(bytes[i]) + " in an array is neither 0 nor 1");
    }
  }
}

void BoundedIArchive::load_override(boost::serialization::collection_size_type& count) {
  Base::load_override(count);
  // Every element takes at least one byte on the wire, so a count above the bytes left is
  // a lie; checking before the container reserves keeps allocation proportional to the frame.
  check_length(count, 1, "collection");
  if (count > frame_bytes_ - promised_) {
    throw BadLength("collections of " + std::to_string(promised_ + count) +
                    " items in all do not fit in a frame of " + std::to_string(frame_bytes_) +
                    " bytes");
  }
  promised_ += count;
}

void decode_buffer(std::span<const char> in, const char* what,
                   void (*read)(BoundedIArchive&, void*), void* context) {
  try {
    SpanStreambuf buffer(in);
    BoundedIArchive archive(buffer);
    read(archive, context);
    if (archive.remaining() != 0) {
      throw BadLength(std::to_string(archive.remaining()) + " bytes left over after decoding");
    }
  } catch (const ProtocolError&) {
    throw;
  } catch (const BadLength& e) {
    throw ProtocolError(std::string("cannot decode ") + what + ": " + e.what());
  } catch (const boost::archive::archive_exception& e) {
    throw ProtocolError(std::string("cannot decode ") + what + ": " + e.what());
  } catch (const std::bad_alloc&) {
    throw ProtocolError(std::string("cannot decode ") + what + ": allocation failed");
  } catch (const std::exception& e) {
    throw ProtocolError(std::string("cannot decode ") + what + ": " + e.what());
  }
}

void refuse_size(const char* what, std::size_t got, std::size_t wanted) {
  throw ProtocolError(std::string("cannot decode ") + what + ": " + std::to_string(got) +
                      " bytes where the values take " + std::to_string(wanted));
}

}  // namespace forkpool::detail
