// A fixed amount of CPU work with no memory traffic and no system calls: the body of the
// CPU-bound tasks and jobs that measure parallel efficiency. The same function runs as a
// registered task (core_bench's cpu section) and as a job of `forkpool run` (bench/spin), so
// the two measure the same work.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace forkpool_bench {

// `iterations` steps of a 64-bit linear congruential generator (Knuth's MMIX constants).
// Each step depends on the previous one, so the compiler can neither vectorize nor skip it;
// the result is returned so that it cannot be discarded.
inline std::uint64_t lcg_steps(std::uint64_t iterations, std::uint64_t seed = 1) {
  std::uint64_t x = seed;
  for (std::uint64_t i = 0; i < iterations; ++i)
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
  return x;
}

// Iterations that take about `millis` on this machine now: the fastest of a few timed runs
// (the least disturbed by other load), scaled. Only the size of the work depends on the
// clock; the measurements that follow run a fixed count.
inline std::uint64_t lcg_iterations_for(double millis) {
  constexpr std::uint64_t kProbe = 1'000'000;
  double best = 1e9;
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    volatile std::uint64_t sink = lcg_steps(kProbe, static_cast<std::uint64_t>(i) + 1);
    (void)sink;
    best = std::min(
        best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                  .count());
  }
  return static_cast<std::uint64_t>(static_cast<double>(kProbe) * millis / best);
}

}  // namespace forkpool_bench
