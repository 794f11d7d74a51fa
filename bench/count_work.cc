// count_work: one mode of tiny no-op tasks, N of them, on a warmed-up pool, and nothing else,
// for tools that count work rather than time (bench/count_work runs it under callgrind and
// perf stat). The difference between two sizes is the cost per task; start-up cancels out.
//
//   count_work single|batch|roundtrip|map N
//
// FORKPOOL_COUNT_FORK=1 starts the workers with StartMethod::kFork (what callgrind needs,
// bench/valgrind_pidfd_shim.c); otherwise the default forkserver.
#include <cstdio>
#include <cstdlib>
#include <ranges>
#include <string_view>
#include <vector>

#include "forkpool/forkpool.h"

namespace {

int noop(int x) { return x; }
FORKPOOL_TASK(noop_task, noop);

long long run(forkpool::Pool& pool, std::string_view mode, int n) {
  long long sum = 0;
  if (mode == "single" || mode == "batch") {
    std::vector<forkpool::Future<int>> futures;
    futures.reserve(static_cast<std::size_t>(n));
    if (mode == "single") {
      for (int i = 0; i < n; ++i) futures.push_back(pool.submit(noop_task, i % 1000));
    } else {
      for (int sent = 0; sent < n;) {
        forkpool::Batch batch = pool.batch();
        for (int i = 0; i < 256 && sent < n; ++i, ++sent) {
          futures.push_back(batch.submit(noop_task, sent % 1000));
        }
        batch.send();
      }
    }
    for (auto& f : futures) sum += f.get();
  } else if (mode == "roundtrip") {
    for (int i = 0; i < n; ++i) sum += pool.submit(noop_task, 7).get();
  } else if (mode == "map") {
    for (int v : pool.map(noop_task, std::views::iota(0, n))) sum += v;
  } else {
    std::fprintf(stderr, "count_work: unknown mode\n");
    std::exit(2);
  }
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  if (auto code = forkpool::worker_main_if_requested(argc, argv)) return *code;
  if (argc != 3) {
    std::fprintf(stderr, "usage: count_work single|batch|roundtrip|map N\n");
    return 2;
  }
  const std::string_view mode = argv[1];
  const int n = std::atoi(argv[2]);
  const bool fork = std::getenv("FORKPOOL_COUNT_FORK") != nullptr;
  forkpool::Pool pool(
      {.workers = mode == "roundtrip" ? 1u : 2u,
       .start_method = fork ? forkpool::StartMethod::kFork : forkpool::StartMethod::kForkserver});
  std::vector<forkpool::Future<int>> warm;
  for (int i = 0; i < 1000; ++i) warm.push_back(pool.submit(noop_task, i));
  for (auto& f : warm) f.get();
  std::printf("%s %d sum %lld\n", argv[1], n, run(pool, mode, n));
  pool.close();
  return 0;
}
