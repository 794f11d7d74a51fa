#include "serialization/allocation_probe.h"

#include <atomic>
#include <cstdlib>
#include <new>

// This binary replaces the global operator new so a test can ask "what was the
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

namespace forkpool::testing {

AllocationProbe::AllocationProbe() {
  largest_allocation.store(0);
  probing.store(true);
}

AllocationProbe::~AllocationProbe() { probing.store(false); }

std::size_t AllocationProbe::largest() const { return largest_allocation.load(); }

}  // namespace forkpool::testing
