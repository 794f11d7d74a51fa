// The forkpool command line: `forkpool run`, `forkpool bench`, `forkpool worker`,
// `forkpool --version`, `forkpool --help`.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "cli/bench_command.h"
#include "cli/logging.h"
#include "cli/run_command.h"
#include "cli/standard_fds.h"
#include "cli/worker_command.h"
#include "forkpool/worker.h"
#include "serialization/messages.h"

namespace {

constexpr const char* kUsage = R"(usage: forkpool [-v | --verbose]... COMMAND [ARGS]

commands:
  run         run a batch of shell jobs in parallel, like GNU parallel
              (forkpool run --help for its options)
  bench       run such a batch with each worker count in turn, and recommend one
              (forkpool bench --help for its options)
  worker      serve the forkpool protocol on stdin/stdout (what a launcher such as
              ssh or srun starts on another host)

options:
  -v, --verbose  log more on stderr: once for debug, twice for trace
  --version      print the version and the protocol version, and exit
  -h, --help     print this help and exit

environment:
  FORKPOOL_LOG   the log level, in spdlog's syntax: debug, or forkpool=debug
)";

// The options before the command: the number of -v / --verbose (-vv counts two).
// Returns the index of the first other word.
int count_verbose(int argc, char** argv, int& verbosity) {
  int i = 1;
  for (; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word == "--verbose") {
      ++verbosity;
    } else if (word.size() >= 2 && word[0] == '-' &&
               word.find_first_not_of('v', 1) == std::string_view::npos) {
      verbosity += static_cast<int>(word.size() - 1);
    } else {
      break;
    }
  }
  return i;
}

}  // namespace

int main(int argc, char** argv) {
  // First: a closed 0, 1 or 2 would be taken by the next descriptor anything opens.
  forkpool::cli::make_standard_fds_valid();
  // forkpool run's (and bench's) workers are spawned copies of this program.
  if (auto code = forkpool::worker_main_if_requested(argc, argv)) return *code;
  int verbosity = 0;
  const int first = count_verbose(argc, argv, verbosity);
  const std::string warning = forkpool::cli::configure_logging(
      std::getenv(forkpool::cli::kLogEnvironmentVariable), verbosity);
  if (!warning.empty()) std::fprintf(stderr, "forkpool: %s\n", warning.c_str());
  forkpool::task_logger().debug("forkpool {} (protocol {}), pid {}, log level {}", FORKPOOL_VERSION,
                                forkpool::serialization::kProtocolVersion, ::getpid(),
                                spdlog::level::to_string_view(forkpool::task_logger().level()));
  if (first == argc) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string_view command = argv[first];
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (command == "--version") {
    std::printf("forkpool %s\nprotocol version %u\n", FORKPOOL_VERSION,
                static_cast<unsigned>(forkpool::serialization::kProtocolVersion));
    return 0;
  }
  const std::vector<std::string> words(argv + first + 1, argv + argc);
  if (command == "run") return forkpool::cli::run_command(words);
  if (command == "bench") return forkpool::cli::bench_command(words);
  if (command == "worker") return forkpool::cli::worker_command(argc - first, argv + first);
  std::fprintf(stderr, "forkpool: unknown command '%s' (try 'forkpool --help')\n", argv[first]);
  return 2;
}
