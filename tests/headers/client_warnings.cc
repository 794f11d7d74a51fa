// A client translation unit, compiled by ctest as a user's build would compile it: at -O3 with
// -Wall -Wextra -Werror and nothing but the installed headers, so a warning the public headers
// cause only once inlined into a user's loop fails the test suite. It exercises the arithmetic
// fast path of detail/archive.h (encode_values into an empty and into a growing Payload) in
// loops, through submit(), a batch, map() and an initializer, with Options built the
// documented way.
// Compiled, never run.
#include <cstdint>
#include <vector>

#include "forkpool/forkpool.h"

namespace {
int square(int x) { return x * x; }
double scale(double x, std::int64_t by) { return x * static_cast<double>(by); }
void warm_up(int) {}
}  // namespace

FORKPOOL_TASK(square_task, square);
FORKPOOL_TASK(scale_task, scale);
FORKPOOL_TASK(warm_up_task, warm_up);

// Each loop in a function of its own, the way a client's code inlines them.
std::vector<forkpool::Future<int>> squares(forkpool::Pool& pool) {
  std::vector<forkpool::Future<int>> futures;
  for (int i = 0; i < 100; ++i) futures.push_back(pool.submit(square_task, i));
  return futures;
}

std::vector<forkpool::Future<double>> scaled(forkpool::Pool& pool, std::int64_t by) {
  std::vector<forkpool::Future<double>> futures;
  for (int i = 0; i < 100; ++i) futures.push_back(pool.submit(scale, 0.5 * i, by));
  return futures;
}

std::vector<forkpool::Future<int>> batched(forkpool::Pool& pool) {
  forkpool::Batch batch = pool.batch();
  std::vector<forkpool::Future<int>> futures;
  for (int i = 0; i < 10; ++i) futures.push_back(batch.submit(square_task, i));
  batch.send();
  return futures;
}

long mapped(forkpool::Pool& pool) {
  std::vector<int> inputs(1000);
  for (int i = 0; i < 1000; ++i) inputs[i] = i;
  long sum = 0;
  for (int y : pool.map(square_task, inputs)) sum += y;
  return sum;
}

std::size_t grown_payload() {
  forkpool::detail::Payload grown;
  for (int i = 0; i < 1000; ++i) forkpool::detail::encode_values(grown, i, 1.0 * i);
  return grown.size();
}

int main(int argc, char** argv) {
  if (auto code = forkpool::worker_main_if_requested(argc, argv)) return *code;
  forkpool::Pool pool({.workers = 2, .initializer = forkpool::initializer(warm_up_task, argc)});
  long sum = static_cast<long>(grown_payload());
  for (auto& f : squares(pool)) sum += f.get();
  for (auto& f : scaled(pool, argc)) sum += static_cast<long>(f.get());
  for (auto& f : batched(pool)) sum += f.get();
  sum += mapped(pool);
  return sum == 0 ? 1 : 0;
}
