// Payload: the owned bytes of one frame's payload. Implementation detail of the public
// templates; not part of the stable API.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace forkpool::detail {

// Buffers at least this large are worth transparent huge pages.
inline constexpr std::size_t kHugePageAdviceBytes = std::size_t{4} << 20;

// Asks for transparent huge pages over the whole pages inside [p, p + bytes), if the buffer is
// large enough to matter. For memory about to be written once and read once (a received
// payload, a decoded result), on a machine where a fresh 4 KiB page costs a fault each: 512
// times fewer faults. Advice only; it changes nothing if refused.
inline void advise_huge_pages(void* p, std::size_t bytes) noexcept {
  if (bytes < kHugePageAdviceBytes) return;
  static const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<std::uintptr_t>(p) + page - 1) & ~(page - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(page - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

// An allocator that leaves new elements uninitialized, so a 64 MiB payload buffer is not
// zero-filled before read(2) overwrites it.
template <typename T>
struct DefaultInitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  using std::allocator<T>::allocator;

  // Large payloads (a big result) are aligned to huge pages and advised to use them (see
  // advise_huge_pages). Small ones come from the ordinary heap.
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;
  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kHugePageAdviceBytes) return std::allocator<T>::allocate(n);
    const std::size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(kHugePage, rounded);
    if (p == nullptr) throw std::bad_alloc();
    advise_huge_pages(p, rounded);
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) {
    if (n * sizeof(T) < kHugePageAdviceBytes) return std::allocator<T>::deallocate(p, n);
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
