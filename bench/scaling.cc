// How the cost per task grows: tiny tasks through submit, map and batches, from 10^3 to 10^7
// tasks, and from 1 to 64 workers. Cost per task should stay flat as the count grows (nothing
// quadratic in the futures, the queue or the batch split), and the parent's memory flat for
// a map, which holds no future per item.
//
//   scaling                           # counts 10^3..10^7, workers 1..64, table + SVG
//   scaling --quick                   # counts up to 10^6
//   scaling --mode batch --count 1000000 --workers 2     # one measurement, for a profiler
//   scaling --svg PREFIX              # each mode's workers sweep as PREFIX-<mode>.svg
//   scaling --runs N                  # runs per point of the workers sweep (3)
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <ranges>
#include <stdexcept>
#include <string>
#include <vector>

#include "forkpool/forkpool.h"
#include "forkpool/sweep.h"
#include "forkpool/worker.h"

namespace forkpool_bench {
namespace {

using Clock = std::chrono::steady_clock;

int noop(int x) { return x; }
FORKPOOL_TASK(scaling_noop_task, noop);

enum class Mode { kSubmit, kMap, kBatch };
const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::kSubmit:
      return "submit";
    case Mode::kMap:
      return "map";
    case Mode::kBatch:
      return "batch";
  }
  return "?";
}

constexpr std::size_t kBatchSize = 256;

// Every future is kept until the end, as a caller that submits everything first does: the
// futures table must not make the later tasks cost more.
std::int64_t run_submit(forkpool::Pool& pool, std::size_t count) {
  std::vector<forkpool::Future<int>> futures;
  futures.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    futures.push_back(pool.submit(scaling_noop_task, static_cast<int>(i % 1000)));
  }
  std::int64_t sum = 0;
  for (auto& f : futures) sum += f.get();
  return sum;
}

std::int64_t run_batch(forkpool::Pool& pool, std::size_t count) {
  std::vector<forkpool::Future<int>> futures;
  futures.reserve(count);
  for (std::size_t sent = 0; sent < count;) {
    forkpool::Batch batch = pool.batch();
    for (std::size_t i = 0; i < kBatchSize && sent < count; ++i, ++sent) {
      futures.push_back(batch.submit(scaling_noop_task, static_cast<int>(sent % 1000)));
    }
    batch.send();
  }
  std::int64_t sum = 0;
  for (auto& f : futures) sum += f.get();
  return sum;
}

std::int64_t run_map(forkpool::Pool& pool, std::size_t count) {
  std::int64_t sum = 0;
  auto items = std::views::iota(std::size_t{0}, count) |
               std::views::transform([](std::size_t i) { return static_cast<int>(i % 1000); });
  for (int value : pool.map(scaling_noop_task, items)) sum += value;
  return sum;
}

struct Measurement {
  double seconds = 0;
  double ns_per_task = 0;
  std::uint64_t peak_rss_kib = 0;  // the parent's peak during this measurement
};

// VmHWM from /proc/self/status, in KiB: the peak that clear_refs restarts.
std::uint64_t peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

// Restarts the kernel's count of this process's peak resident memory (VmHWM), so that each
// measurement reports its own peak, not the largest of those before it.
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

Measurement measure(Mode mode, std::size_t count, unsigned workers) {
  reset_peak_rss();
  forkpool::Pool pool({.workers = workers});
  run_submit(pool, 100 * workers);  // every worker up
  const auto start = Clock::now();
  std::int64_t sum = 0;
  switch (mode) {
    case Mode::kSubmit:
      sum = run_submit(pool, count);
      break;
    case Mode::kMap:
      sum = run_map(pool, count);
      break;
    case Mode::kBatch:
      sum = run_batch(pool, count);
      break;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  pool.close();
  std::int64_t expected = 0;
  for (std::size_t i = 0; i < count; ++i) expected += static_cast<std::int64_t>(i % 1000);
  if (sum != expected) throw std::runtime_error(std::string(mode_name(mode)) + ": wrong sum");
  return {seconds, seconds * 1e9 / static_cast<double>(count), peak_rss_kib()};
}

Mode parse_mode(const std::string& name) {
  for (Mode m : {Mode::kSubmit, Mode::kMap, Mode::kBatch}) {
    if (name == mode_name(m)) return m;
  }
  throw std::invalid_argument("unknown mode '" + name + "'");
}

struct Config {
  std::vector<Mode> modes = {Mode::kSubmit, Mode::kMap, Mode::kBatch};
  std::vector<std::size_t> counts = {1'000, 10'000, 100'000, 1'000'000, 10'000'000};
  std::vector<unsigned> workers = {1, 2, 4, 8, 16, 32, 64};
  std::size_t sweep_count = 100'000;  // tasks per point of the workers sweep
  unsigned count_workers = 2;         // workers for the counts sweep
  unsigned runs = 3;                  // per point of the workers sweep
  std::string svg_prefix;
  bool counts_sweep = true;
  bool workers_sweep = true;
};

// Cost per task against the count, `count_workers` workers; each mode a column.
void counts_table(const Config& config) {
  std::printf("cost per task (ns) by task count, %u workers; the parent's peak RSS (MiB)\n",
              config.count_workers);
  std::printf("%12s", "tasks");
  for (Mode m : config.modes) std::printf(" %12s %9s", mode_name(m), "rss MiB");
  std::printf("\n");
  for (std::size_t count : config.counts) {
    std::printf("%12zu", count);
    for (Mode m : config.modes) {
      const Measurement r = measure(m, count, config.count_workers);
      std::printf(" %12.0f %9.1f", r.ns_per_task, static_cast<double>(r.peak_rss_kib) / 1024.0);
      std::fflush(stdout);
    }
    std::printf("\n");
  }
}

// Cost per task against the worker count, `sweep_count` tasks, the median of `runs` runs;
// with --svg PREFIX, each mode's sweep is drawn as forkpool bench draws one (throughput and
// efficiency against workers) into PREFIX-<mode>.svg.
void workers_table(const Config& config) {
  std::printf("\ncost per task (ns) by workers, %zu tasks, median of %u runs\n", config.sweep_count,
              config.runs);
  std::printf("%8s", "workers");
  for (Mode m : config.modes) std::printf(" %12s", mode_name(m));
  std::printf("\n");
  std::map<Mode, std::vector<forkpool::SweepMeasurement>> sweeps;
  for (unsigned w : config.workers) {
    std::printf("%8u", w);
    for (Mode m : config.modes) {
      forkpool::SweepMeasurement runs{w, {}};
      for (unsigned run = 0; run < config.runs; ++run) {
        runs.seconds.push_back(measure(m, config.sweep_count, w).seconds);
      }
      std::vector<double> sorted = runs.seconds;
      std::sort(sorted.begin(), sorted.end());
      std::printf(" %12.0f",
                  sorted[sorted.size() / 2] * 1e9 / static_cast<double>(config.sweep_count));
      std::fflush(stdout);
      sweeps[m].push_back(std::move(runs));
    }
    std::printf("\n");
  }
  if (config.svg_prefix.empty()) return;
  for (auto& [mode, sweep] : sweeps) {
    const auto report =
        forkpool::make_sweep_report(std::string("no-op tasks through ") + mode_name(mode) + ", " +
                                        std::to_string(config.sweep_count) + " a run",
                                    config.sweep_count, std::move(sweep));
    std::ofstream(config.svg_prefix + "-" + mode_name(mode) + ".svg") << report.svg();
  }
}

std::vector<std::size_t> parse_counts(const std::string& list) {
  std::vector<std::size_t> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = list.find(',', start);
    out.push_back(std::stoul(list.substr(start, comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace
}  // namespace forkpool_bench

int main(int argc, char** argv) {
  using namespace forkpool_bench;
  if (auto code = forkpool::worker_main_if_requested(argc, argv)) return *code;
  Config config;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string flag = argv[i];
      const auto value = [&] {
        if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
        return std::string(argv[++i]);
      };
      if (flag == "--quick") {
        config.counts = {1'000, 10'000, 100'000, 1'000'000};
        config.workers = {1, 2, 4, 8, 16, 32, 64};
        config.sweep_count = 20'000;
      } else if (flag == "--mode") {
        config.modes = {parse_mode(value())};
      } else if (flag == "--count") {
        config.counts = parse_counts(value());
        config.workers_sweep = false;
      } else if (flag == "--workers") {
        const auto list = parse_counts(value());
        config.workers.assign(list.begin(), list.end());
        config.count_workers = config.workers.front();
      } else if (flag == "--sweep-count") {
        config.sweep_count = std::stoul(value());
      } else if (flag == "--no-counts") {
        config.counts_sweep = false;
      } else if (flag == "--svg") {
        config.svg_prefix = value();
      } else if (flag == "--runs") {
        config.runs = static_cast<unsigned>(std::stoul(value()));
      } else {
        throw std::invalid_argument("unknown option " + flag);
      }
    }
    forkpool::task_logger().set_level(spdlog::level::err);
    if (config.counts_sweep) counts_table(config);
    if (config.workers_sweep) workers_table(config);
  } catch (const std::exception& e) {
    std::cerr << "scaling: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
