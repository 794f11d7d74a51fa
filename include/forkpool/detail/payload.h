// Payload: the owned bytes of one frame's payload. Implementation detail of the public
// templates; not part of the stable API.
#pragma once

#include <memory>
#include <utility>
#include <vector>

namespace forkpool::detail {

// An allocator that leaves new elements uninitialized, so a 64 MiB payload buffer is not
// zero-filled before read(2) overwrites it.
template <typename T>
struct DefaultInitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  using std::allocator<T>::allocator;
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

using Payload = std::vector<char, DefaultInitAllocator<char>>;

}  // namespace forkpool::detail
