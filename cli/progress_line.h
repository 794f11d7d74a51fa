// --bar, --eta and --progress: the line forkpool run keeps redrawing on stderr.
#pragma once

#include <cstdint>
#include <string>

namespace forkpool::cli {

struct ProgressFacts {
  bool bar = false;
  bool eta = false;
  std::uint64_t total_jobs = 0;  // 0: not known
  std::uint64_t completed = 0;
  std::uint64_t running = 0;
  std::uint64_t failed = 0;
  double elapsed = 0;  // seconds since the run started
};

// "\r[####   ] 40% 4/10 done, 2 running, 0 failed, ETA 3s" then "\033[K" to clear the rest
// of the line, or "\n" for the `final` line.
std::string progress_line(const ProgressFacts& facts, bool final);

}  // namespace forkpool::cli
