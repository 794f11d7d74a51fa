// Allocation probe for the archive tests: the largest single allocation requested while a probe
// is alive, the honest check for "decoding did not allocate what a forged length asked for".
// allocation_probe.cc replaces the global operator new of the test binary it is linked into.
#pragma once

#include <cstddef>

namespace forkpool::testing {

// Records the largest allocation requested while it is alive; while it is, a request above
// 64 MiB is refused with bad_alloc. Not reentrant.
class AllocationProbe {
 public:
  AllocationProbe();
  ~AllocationProbe();
  AllocationProbe(const AllocationProbe&) = delete;
  AllocationProbe& operator=(const AllocationProbe&) = delete;
  std::size_t largest() const;
};

}  // namespace forkpool::testing
