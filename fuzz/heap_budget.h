// HeapBudget: turns "the decoder allocated far more than the payload it was given" into a crash
// the fuzzer reports. The design promises that decoding garbage never allocates without bound,
// but a harmful input does not have to reach the fuzzer's RSS limit within -max_len: a 60 KB
// payload that makes the decoder hold a gigabyte is the same bug as a 1 MiB one that holds 18.
//
// Works through the sanitizer allocator's malloc/free hooks, so only in a sanitized build.
#pragma once

#include <cstddef>

namespace forkpool::fuzz {

// Heap a decoder may hold per byte of its payload: more than any one container level of the
// decoded types needs (a std::vector<Tree> of one item per payload byte holds 56).
inline constexpr std::size_t kHeapPerPayloadByte = 256;
// Plus this much for Boost's one-time registries and the exceptions thrown.
inline constexpr std::size_t kHeapAllowance = std::size_t{1} << 20;

class HeapBudget {
 public:
  // While the object lives, the heap may grow by at most kHeapPerPayloadByte * payload_size +
  // kHeapAllowance bytes; the allocation that crosses that line aborts the process with a
  // message naming `what`, and the fuzzer reports the stack. REQUIRES: one at a time.
  HeapBudget(std::size_t payload_size, const char* what);
  ~HeapBudget();
  HeapBudget(const HeapBudget&) = delete;
  HeapBudget& operator=(const HeapBudget&) = delete;
};

}  // namespace forkpool::fuzz
