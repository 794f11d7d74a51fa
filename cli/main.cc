// The forkpool command line: `forkpool run`, `forkpool bench`, `forkpool worker`,
// `forkpool --version`, `forkpool --help`.
#include <cstdio>
#include <cstring>
#include <string_view>

#include <string>
#include <vector>

#include "cli/bench_command.h"
#include "cli/run_command.h"
#include "cli/standard_fds.h"
#include "cli/worker_command.h"
#include "forkpool/worker.h"

namespace {

constexpr const char* kUsage = R"(usage: forkpool COMMAND [ARGS]

commands:
  run         run a batch of shell jobs in parallel, like GNU parallel
              (forkpool run --help for its options)
  bench       run such a batch with each worker count in turn, and recommend one
              (forkpool bench --help for its options)
  worker      serve the forkpool protocol on stdin/stdout (what a launcher such as
              ssh or srun starts on another host)

options:
  --version   print the version and exit
  --help      print this help and exit
)";

}  // namespace

int main(int argc, char** argv) {
  // First: a closed 0, 1 or 2 would be taken by the next descriptor anything opens.
  forkpool::cli::make_standard_fds_valid();
  // forkpool run's (and bench's) workers are spawned copies of this program.
  if (auto code = forkpool::worker_main_if_requested(argc, argv)) return *code;
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string_view command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (command == "--version") {
    std::printf("forkpool %s\n", FORKPOOL_VERSION);
    return 0;
  }
  if (command == "run") {
    const std::vector<std::string> words(argv + 2, argv + argc);
    return forkpool::cli::run_command(words);
  }
  if (command == "bench") {
    const std::vector<std::string> words(argv + 2, argv + argc);
    return forkpool::cli::bench_command(words);
  }
  if (command == "worker") return forkpool::cli::worker_command(argc - 1, argv + 1);
  std::fprintf(stderr, "forkpool: unknown command '%s' (try 'forkpool --help')\n", argv[1]);
  return 2;
}
