// Payload: the owned bytes of one frame's payload. Implementation detail of the public
// templates; not part of the stable API.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
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

// Large blocks freed lately, kept for the next large payload: a worker sending one big result
// after another, the parent receiving them. A fresh 64 MiB block costs 32 huge-page faults,
// each zeroing 2 MiB before the first byte lands, and on a virtual machine whose balloon
// reports free huge pages to the host, each also costs the host a fault: measured, a fresh
// receive buffer made a 64 MiB result arrive at 0.37 GB/s in some processes against 2 GB/s in
// others. A kept block is written again without a fault.
//
// Bounded: at most kMaxBlocks blocks and kMaxBytes in all, and a large allocation that no kept
// block fits releases them all, so what is kept never adds to the peak of a process whose
// large payloads change shape. A kept block is advised MADV_FREE: the kernel may take its pages
// back under memory pressure (a later write then faults as a fresh block would).
//
// Only try_lock: a process forked while another thread held the lock skips the cache instead
// of waiting forever.
class LargeBlockCache {
 public:
  static constexpr std::size_t kMaxBlocks = 2;
  static constexpr std::size_t kMaxBytes = std::size_t{256} << 20;

  static LargeBlockCache& instance() {
    // Never destroyed: payloads in static objects may be freed after it would be.
    static LargeBlockCache* const cache = new LargeBlockCache;
    return *cache;
  }

  // A kept block of at least `bytes` and at most twice that, or nullptr.
  void* take(std::size_t bytes) noexcept {
    std::unique_lock lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return nullptr;
    Block* best = nullptr;
    for (Block& block : blocks_) {
      if (block.p != nullptr && block.bytes >= bytes && block.bytes / 2 <= bytes &&
          (best == nullptr || block.bytes < best->bytes)) {
        best = &block;
      }
    }
    if (best == nullptr) {
      release_locked();
      return nullptr;
    }
    void* p = std::exchange(best->p, nullptr);
    kept_bytes_ -= best->bytes;
    return p;
  }

  // Keeps a block of `bytes` (as take() will ask for it); false if it must be freed instead.
  bool keep(void* p, std::size_t bytes) noexcept {
    std::unique_lock lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock() || kept_bytes_ + bytes > kMaxBytes) return false;
    for (Block& block : blocks_) {
      if (block.p == nullptr) {
        ::madvise(p, bytes, MADV_FREE);
        block = {p, bytes};
        kept_bytes_ += bytes;
        return true;
      }
    }
    return false;
  }

 private:
  struct Block {
    void* p = nullptr;
    std::size_t bytes = 0;
  };
  void release_locked() noexcept {
    for (Block& block : blocks_) std::free(std::exchange(block.p, nullptr));
    kept_bytes_ = 0;
  }

  std::mutex mutex_;
  Block blocks_[kMaxBlocks];
  std::size_t kept_bytes_ = 0;
};

// An allocator that leaves new elements uninitialized, so a 64 MiB payload buffer is not
// zero-filled before read(2) overwrites it.
template <typename T>
struct DefaultInitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  using std::allocator<T>::allocator;

  // Large payloads (a big result) are aligned to huge pages, advised to use them (see
  // advise_huge_pages), and reused through LargeBlockCache. Small ones come from the ordinary
  // heap.
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;
  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kHugePageAdviceBytes) return std::allocator<T>::allocate(n);
    const std::size_t rounded = round_up(bytes);
    if (void* kept = LargeBlockCache::instance().take(rounded)) return static_cast<T*>(kept);
    void* p = std::aligned_alloc(kHugePage, rounded);
    if (p == nullptr) throw std::bad_alloc();
    advise_huge_pages(p, rounded);
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kHugePageAdviceBytes) return std::allocator<T>::deallocate(p, n);
    if (!LargeBlockCache::instance().keep(p, round_up(bytes))) std::free(p);
  }

  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }

 private:
  static std::size_t round_up(std::size_t bytes) {
    return (bytes + kHugePage - 1) / kHugePage * kHugePage;
  }
};

using Payload = std::vector<char, DefaultInitAllocator<char>>;

}  // namespace forkpool::detail
