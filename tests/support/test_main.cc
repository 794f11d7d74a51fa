// main() for every test binary. The binary is its own helper (after libuv's spawn_helper):
// StartMethod::kSpawn re-executes it, and then it serves as a worker instead of running tests.
#include <gtest/gtest.h>

#include "forkpool/worker.h"

int main(int argc, char** argv) {
  if (auto code = forkpool::worker_main_if_requested(argc, argv)) return *code;
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
