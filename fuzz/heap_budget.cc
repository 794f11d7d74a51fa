#include "fuzz/heap_budget.h"

#include <sanitizer/allocator_interface.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace forkpool::fuzz {
namespace {

// Bytes allocated since the hooks were installed, less those freed (negative when blocks from
// before are freed). The hooks may run on any thread, hence atomics.
std::atomic<std::int64_t> live{0};
constexpr std::int64_t kNoCeiling = std::numeric_limits<std::int64_t>::max();
std::atomic<std::int64_t> ceiling{kNoCeiling};
std::size_t budget_payload = 0;
const char* budget_what = "";

void on_malloc(const volatile void* /*block*/, std::size_t size) {
  const std::int64_t now =
      live.fetch_add(static_cast<std::int64_t>(size)) + static_cast<std::int64_t>(size);
  if (now <= ceiling.load(std::memory_order_relaxed)) return;
  ceiling.store(kNoCeiling);  // should the report allocate, it must not land here again
  std::fprintf(stderr,
               "\n==forkpool fuzz: decoding %s from a %zu-byte payload holds more than %zu bytes "
               "of heap (%zu per payload byte + %zu): the allocation below is not bounded by "
               "the payload\n",
               budget_what, budget_payload, budget_payload * kHeapPerPayloadByte + kHeapAllowance,
               kHeapPerPayloadByte, kHeapAllowance);
  std::abort();
}

void on_free(const volatile void* block) {
  if (block == nullptr) return;
  live.fetch_sub(static_cast<std::int64_t>(__sanitizer_get_allocated_size(block)));
}

void install_hooks_once() {
  static const bool installed = [] {
    if (__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) == 0) {
      std::fprintf(stderr, "forkpool fuzz: cannot install the malloc hooks\n");
      std::abort();
    }
    return true;
  }();
  (void)installed;
}

}  // namespace

HeapBudget::HeapBudget(std::size_t payload_size, const char* what) {
  install_hooks_once();
  budget_payload = payload_size;
  budget_what = what;
  const std::size_t allowed = payload_size * kHeapPerPayloadByte + kHeapAllowance;
  ceiling.store(live.load() + static_cast<std::int64_t>(allowed));
}

HeapBudget::~HeapBudget() { ceiling.store(kNoCeiling); }

}  // namespace forkpool::fuzz
