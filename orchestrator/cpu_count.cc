#include "orchestrator/cpu_count.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

namespace forkpool::orchestrator {
namespace {

// The cgroup path of this process for the v2 hierarchy (the "0::" line).
std::string own_cgroup_v2_path() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return "/";
}

std::optional<unsigned> quota_from(double quota, double period) {
  if (!std::isfinite(quota) || !std::isfinite(period) || quota <= 0 || period <= 0) {
    return std::nullopt;
  }
  // Clamped before the cast: a quota far above the CPUs there are must not overflow unsigned.
  return static_cast<unsigned>(std::clamp(quota / period + 0.999, 1.0, 1e6));
}

// cgroup v2: "max 100000" or "200000 100000", checked up the tree from our own cgroup.
std::optional<unsigned> cgroup_v2_limit() {
  std::optional<unsigned> best;
  std::string path = own_cgroup_v2_path();
  for (;;) {
    std::ifstream in("/sys/fs/cgroup" + (path == "/" ? std::string() : path) + "/cpu.max");
    std::string quota;
    double period = 0;
    if (in >> quota >> period && quota != "max") {
      char* end = nullptr;
      const double value = std::strtod(quota.c_str(), &end);
      if (end != quota.c_str() && *end == '\0') {
        if (auto limit = quota_from(value, period)) {
          best = best ? std::min(*best, *limit) : *limit;
        }
      }
    }
    // Up one level: "/a/b" -> "/a" -> "/". Shrinking in place, not assigning a literal, also
    // keeps GCC 12 from a false -Wrestrict in Release builds.
    const std::size_t slash = path.rfind('/');
    if (path.size() <= 1 || slash == std::string::npos) break;
    path.resize(slash == 0 ? 1 : slash);
  }
  return best;
}

std::optional<unsigned> cgroup_v1_limit() {
  std::ifstream quota_in("/sys/fs/cgroup/cpu/cpu.cfs_quota_us");
  std::ifstream period_in("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
  double quota = 0, period = 0;
  if (quota_in >> quota && period_in >> period) return quota_from(quota, period);
  return std::nullopt;
}

}  // namespace

unsigned usable_cpus() {
  unsigned cpus = 0;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) cpus = static_cast<unsigned>(CPU_COUNT(&set));
  if (cpus == 0) cpus = std::max(1u, std::thread::hardware_concurrency());
  if (auto limit = cgroup_v2_limit())
    cpus = std::min(cpus, *limit);
  else if (auto v1 = cgroup_v1_limit())
    cpus = std::min(cpus, *v1);
  return std::max(1u, cpus);
}

}  // namespace forkpool::orchestrator
