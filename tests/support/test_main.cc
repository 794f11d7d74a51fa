// main() for every test binary. The binary is its own helper (after libuv's spawn_helper):
// StartMethod::kSpawn re-executes it, and then it serves as a worker instead of running tests.
#include <gtest/gtest.h>

#include <string_view>

#include "forkpool/worker.h"

int main(int argc, char** argv) {
  if (auto code = forkpool::worker_main_if_requested(argc, argv)) return *code;
  // As a launcher's worker (Options::worker_command): the protocol on stdin/stdout.
  if (argc == 2 && std::string_view(argv[1]) == "--stdio-worker") {
    return forkpool::serve_stdio_worker();
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
