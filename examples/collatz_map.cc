// A CPU-bound map over a large input, in bounded memory, with progress: the number below a
// limit whose Collatz chain is the longest. pool.map reads the numbers lazily from
// std::views::iota and keeps only a few chunks per worker in flight, so a limit of a billion
// needs no more memory than a limit of a thousand; the results come back in order.
//
//   collatz_map [--limit N] [--workers N]
#include <forkpool/forkpool.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ranges>

namespace {

// Steps from n down to 1, halving even numbers and taking 3n + 1 of odd ones.
int collatz_steps(long n) {
  int steps = 0;
  for (; n != 1; ++steps) n = n % 2 == 0 ? n / 2 : 3 * n + 1;
  return steps;
}
FORKPOOL_TASK(collatz_steps_task, collatz_steps);

// One line on stderr every tenth of the way: rewritten in place on a terminal.
class Progress {
 public:
  explicit Progress(long total) : total_(total), terminal_(::isatty(STDERR_FILENO)) {}
  void done(long count) {
    const long tenth = count * 10 / total_;
    if (tenth == shown_) return;
    shown_ = tenth;
    std::fprintf(stderr, "%scollatz: %3ld%% (%ld of %ld)%s", terminal_ ? "\r" : "", tenth * 10,
                 count, total_, terminal_ && count < total_ ? "" : "\n");
  }

 private:
  long total_;
  bool terminal_;
  long shown_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (auto code = forkpool::worker_main_if_requested(argc, argv)) return *code;
  long limit = 1'000'000;
  unsigned workers = 0;  // 0: the CPUs this process may use
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--limit") == 0) limit = std::atol(argv[i + 1]);
    if (std::strcmp(argv[i], "--workers") == 0)
      workers = static_cast<unsigned>(std::atoi(argv[i + 1]));
  }
  if (limit < 2) {
    std::fprintf(stderr, "collatz_map: --limit must be at least 2\n");
    return 2;
  }
  forkpool::Pool pool({.workers = workers});
  Progress progress(limit - 1);
  long best = 1, count = 0;
  int best_steps = 0;
  long n = 1;
  for (int steps : pool.map(collatz_steps_task, std::views::iota(1L, limit))) {
    if (steps > best_steps) best = n, best_steps = steps;
    ++n;
    progress.done(++count);
  }
  pool.close();
  std::printf("longest Collatz chain below %ld: %ld, %d steps (%ld numbers, %u workers)\n", limit,
              best, best_steps, count, pool.workers());
  return 0;
}
