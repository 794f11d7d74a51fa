// spin: a CPU-bound job for `forkpool run` and its peers — a fixed number of LCG steps (the
// same work as core_bench's cpu task, bench/cpu_work.h), no shell, no Python, no I/O, so that
// parallel efficiency measures the runner and not an interpreter's start-up.
//
//   spin ITERATIONS [ignored...]     run that many steps and exit 0
//   spin --calibrate MILLIS          print the iteration count that takes about MILLIS here
//
// Arguments after ITERATIONS are ignored: runners append the job's input to the command.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "cpu_work.h"

int main(int argc, char** argv) {
  if (argc == 3 && std::string_view(argv[1]) == "--calibrate") {
    std::printf("%llu\n", static_cast<unsigned long long>(
                              forkpool_bench::lcg_iterations_for(std::strtod(argv[2], nullptr))));
    return 0;
  }
  if (argc < 2) {
    std::fputs("usage: spin ITERATIONS | spin --calibrate MILLIS\n", stderr);
    return 2;
  }
  const std::uint64_t result = forkpool_bench::lcg_steps(std::strtoull(argv[1], nullptr, 10));
  // Seen by the compiler as used, so the loop is not removed; never true in practice.
  return result == 42 ? 3 : 0;
}
