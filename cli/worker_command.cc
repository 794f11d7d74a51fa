#include "cli/worker_command.h"

#include <cstdio>
#include <string_view>

#include "forkpool/worker.h"

namespace forkpool::cli {

int worker_command(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--help") {
      std::puts(
          "usage: forkpool worker\n\n"
          "Serves the forkpool protocol on stdin (tasks) and stdout (results), or on a TCP\n"
          "connection back to the pool when the pool offers one, until stdin closes or a\n"
          "Shutdown frame arrives. Task output to stdout goes to stderr.");
      return 0;
    }
    std::fprintf(stderr, "forkpool worker: unknown option '%s'\n", argv[i]);
    return 2;
  }
  return serve_stdio_worker();
}

}  // namespace forkpool::cli
