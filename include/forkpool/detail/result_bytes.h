// ResultBytes: a task's encoded result, as its future holds it. Implementation detail; not part
// of the stable API.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "forkpool/detail/payload.h"

namespace forkpool::detail {

// The bytes of one result: up to kInline of them in place, more in a Payload. A tiny task's
// result (an int is 4 bytes) arrives inside a Replies frame with many others, or in a frame
// buffer of its own; kept in place, it costs no allocation in the collector and no free in
// the thread that drops the future (a free in another thread than the allocation's, measured
// the dearest part of a batched call).
class ResultBytes {
 public:
  static constexpr std::size_t kInline = 24;

  ResultBytes() = default;
  // Takes the buffer (no copy, whatever its size). Implicit: a Payload is a result.
  ResultBytes(Payload bytes) : heap_(std::move(bytes)), on_heap_(true) {}  // NOLINT
  // Copies `bytes`: in place if they fit, else into a new Payload.
  static ResultBytes copy_of(std::span<const char> bytes) {
    ResultBytes result;
    result.assign(bytes);
    return result;
  }
  // Replaces the bytes with a copy of `bytes`: in place if they fit, else into a Payload.
  void assign(std::span<const char> bytes) {
    if (bytes.size() > kInline) {
      heap_.assign(bytes.begin(), bytes.end());
      on_heap_ = true;
      return;
    }
    heap_ = Payload();
    on_heap_ = false;
    std::copy(bytes.begin(), bytes.end(), inline_.begin());
    inline_size_ = static_cast<std::uint8_t>(bytes.size());
  }
  // Takes `bytes` if they are too big to hold in place, else copies them and leaves `bytes`.
  static ResultBytes from(Payload& bytes) {
    if (bytes.size() > kInline) return ResultBytes(std::move(bytes));
    return copy_of(bytes);
  }

  std::span<const char> view() const {
    if (on_heap_) return heap_;
    return {inline_.data(), inline_size_};
  }

 private:
  Payload heap_;
  std::array<char, kInline> inline_{};
  std::uint8_t inline_size_ = 0;
  bool on_heap_ = false;
};

}  // namespace forkpool::detail
