// Payload: the owned bytes of one frame's payload. Implementation detail of the public
// templates; not part of the stable API.
#pragma once

#include <sys/mman.h>

#include <cstdlib>
#include <memory>
#include <new>
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

  // Large payloads (a big result) are written once by read(2) and then read once: on a
  // machine where a fresh page costs a fault each, asking for transparent huge pages makes
  // that 512 times fewer faults. Small ones come from the ordinary heap.
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;
  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < 2 * kHugePage) return std::allocator<T>::allocate(n);
    const std::size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(kHugePage, rounded);
    if (p == nullptr) throw std::bad_alloc();
    ::madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure changes nothing
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) {
    if (n * sizeof(T) < 2 * kHugePage) return std::allocator<T>::deallocate(p, n);
    std::free(p);
  }

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
