#include "cli/progress_line.h"

#include <algorithm>
#include <cstdio>

namespace forkpool::cli {

std::string progress_line(const ProgressFacts& f, bool final) {
  std::string line = "\r";
  if (f.bar && f.total_jobs > 0) {
    const double done = static_cast<double>(f.completed) / static_cast<double>(f.total_jobs);
    const int width = 30;
    const int filled = static_cast<int>(done * width);
    line += "[" + std::string(filled, '#') + std::string(width - filled, ' ') + "] ";
    line += std::to_string(static_cast<int>(done * 100)) + "% ";
  }
  line += std::to_string(f.completed) + (f.total_jobs ? "/" + std::to_string(f.total_jobs) : "") +
          " done, " + std::to_string(f.running) + " running, " + std::to_string(f.failed) +
          " failed";
  if (f.eta && f.total_jobs > 0 && f.completed > 0) {
    const double per_job = f.elapsed / static_cast<double>(f.completed);
    const double left =
        per_job * static_cast<double>(f.total_jobs - std::min(f.total_jobs, f.completed));
    char eta[48];
    std::snprintf(eta, sizeof eta, ", ETA %.0fs", left);
    line += eta;
  }
  line += final ? "\n" : "\033[K";
  return line;
}

}  // namespace forkpool::cli
