// spawn_loop: the physical limit for `forkpool run`'s cost per job — a bare posix_spawn and
// waitpid per job, no shell, no pipes, no output handling, `parallel` at a time. bench/compare
// sets forkpool run's time per trivial job against this loop's time per spawn.
//
//   spawn_loop --jobs N [--parallel P] -- PROGRAM [ARGS...]
//
// PROGRAM is a path (no PATH search). Prints one JSON object: jobs, parallel, seconds,
// per_job_ms (wall time over jobs).
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "raw_peers.h"

namespace {

constexpr std::string_view kUsage =
    "usage: spawn_loop --jobs N [--parallel P] -- PROGRAM [ARGS...]\n";

struct Config {
  std::size_t jobs = 0;
  unsigned parallel = 1;
  std::vector<std::string> argv;
};

// Throws std::exception on a malformed command line.
Config parse_args(int argc, char** argv) {
  Config config;
  int i = 1;
  for (; i < argc && std::string_view(argv[i]) != "--"; i += 2) {
    if (i + 1 >= argc) throw std::invalid_argument("missing value");
    const std::string_view flag = argv[i];
    if (flag == "--jobs") {
      config.jobs = std::stoul(argv[i + 1]);
    } else if (flag == "--parallel") {
      config.parallel = static_cast<unsigned>(std::stoul(argv[i + 1]));
    } else {
      throw std::invalid_argument("unknown option");
    }
  }
  config.argv.assign(argv + std::min(i + 1, argc), argv + argc);
  if (config.jobs == 0 || config.parallel == 0 || config.argv.empty()) {
    throw std::invalid_argument("need --jobs N > 0, --parallel P > 0 and a program");
  }
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  try {
    config = parse_args(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spawn_loop: %s\n%s", e.what(), kUsage.data());
    return 2;
  }
  try {
    const double seconds =
        forkpool_bench::raw_spawn_wait_loop(config.argv, config.jobs, config.parallel);
    std::printf("{\"jobs\": %zu, \"parallel\": %u, \"seconds\": %.6f, \"per_job_ms\": %.6f}\n",
                config.jobs, config.parallel, seconds,
                seconds * 1e3 / static_cast<double>(config.jobs));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spawn_loop: %s\n", e.what());
    return 1;
  }
  return 0;
}
