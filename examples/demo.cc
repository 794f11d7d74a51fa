// A demo batch: count the primes in a few hundred ranges across worker processes. One task
// crashes its worker on purpose; the pool reports that task as failed, starts a replacement
// worker and finishes every other task.
//
//   forkpool_example [--tasks N] [--workers N]
#include <forkpool/forkpool.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

namespace {

struct RangeReport {
  long first = 0;
  long primes = 0;
  int worker_pid = 0;
  template <typename Archive>
  void serialize(Archive& ar, unsigned) {
    // Archive operators, not declarations: clang-format would write `ar& x&`.
    // clang-format off
    ar & first & primes & worker_pid;
    // clang-format on
  }
};

bool is_prime(long n) {
  if (n < 2) return false;
  for (long d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

RangeReport count_primes(long first, long length, bool crash) {
  if (crash) ::raise(SIGSEGV);  // the worker dies; only this task fails
  RangeReport report{first, 0, static_cast<int>(::getpid())};
  for (long n = first; n < first + length; ++n) report.primes += is_prime(n);
  return report;
}
FORKPOOL_TASK(count_primes_task, count_primes);

}  // namespace

int main(int argc, char** argv) {
  if (auto code = forkpool::worker_main_if_requested(argc, argv)) return *code;
  int tasks = 300;
  unsigned workers = 0;  // 0: the CPUs this process may use
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--tasks") == 0) tasks = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--workers") == 0)
      workers = static_cast<unsigned>(std::atoi(argv[i + 1]));
  }
  const long length = 20000;
  const auto start = std::chrono::steady_clock::now();
  forkpool::Pool pool({.workers = workers});
  std::vector<forkpool::Future<RangeReport>> futures;
  for (int i = 0; i < tasks; ++i) {
    futures.push_back(pool.submit(count_primes_task, i * length, length, i == tasks / 2));
  }
  int ok = 0, failed = 0;
  long primes = 0;
  std::set<int> pids;
  for (int i = 0; i < tasks; ++i) {
    try {
      RangeReport r = futures[i].get();
      primes += r.primes;
      pids.insert(r.worker_pid);
      ++ok;
      if (i < 3 || i == tasks - 1) {
        std::printf("task %3d: [%ld, %ld) has %ld primes (worker pid %d)\n", i, r.first,
                    r.first + length, r.primes, r.worker_pid);
      } else if (i == 3) {
        std::printf("...\n");
      }
    } catch (const forkpool::WorkerDied& e) {
      ++failed;
      std::printf("task %3d: failed as intended: %s\n", i, e.what());
    }
  }
  const auto stats = pool.stats();
  pool.close();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%d tasks: %d ok, %d failed\n", tasks, ok, failed);
  std::printf("primes counted in the %d completed ranges: %ld\n", ok, primes);
  std::printf(
      "%u workers, %zu distinct worker pids served results, %llu worker deaths, "
      "%llu workers started, %.2f s\n",
      pool.workers(), pids.size(), static_cast<unsigned long long>(stats.worker_deaths),
      static_cast<unsigned long long>(stats.workers_started), seconds);
  return failed == 1 ? 0 : 1;
}
