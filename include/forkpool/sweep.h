// Worker-count sweeps: run the same batch with 1, 2, 4, ... workers, several times each, and
// say which count to use. A library of its own: link forkpool::sweep.
//
//   forkpool::SweepReport report = forkpool::sweep_workers(square_task, inputs, {.runs = 5});
//   std::fputs(report.table().c_str(), stdout);   // the table, then one sentence of advice
//   use(report.recommended_workers);
//
// The report (medians, spread, speedup, efficiency, the recommendation, and its table, JSON,
// CSV and SVG forms) is plain data computed from wall times, so `forkpool bench` builds the
// same report from its own measurements with make_sweep_report().
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "forkpool/errors.h"
#include "forkpool/options.h"
#include "forkpool/pool.h"
#include "forkpool/task.h"

namespace forkpool {

// A sweep that cannot start: no worker counts, a count of 0, no runs.
class SweepError : public Error {
 public:
  // `message` completes "sweep: ".
  explicit SweepError(const std::string& message) : Error("sweep: " + message) {}
};

// The wall times measured for one worker count, one per run, in seconds.
struct SweepMeasurement {
  unsigned workers = 0;         // the worker count
  std::vector<double> seconds;  // one wall time per run
};

// One row of the report.
struct SweepRow {
  unsigned workers = 0;         // the worker count
  std::vector<double> seconds;  // every run, in the order they ran
  double median = 0;            // of `seconds`; the mean of the middle two for an even count
  double min = 0;               // the fastest run
  double max = 0;               // the slowest run
  double q1 = 0;                // the first quartile, linearly interpolated (R's type 7)
  double q3 = 0;                // the third quartile, likewise
  double jobs_per_second = 0;   // jobs / median
  // Over one worker: the 1-worker median / this median. Without a 1-worker row, the smallest
  // count is taken to scale perfectly (its median times its count stands in for one worker).
  double speedup = 0;
  double efficiency = 0;  // speedup / workers: 1.0 is perfect scaling
};

// Throughput within this fraction of the best counts as "as good".
inline constexpr double kRecommendTolerance = 0.05;

// A sweep's results and recommendation, with its table, JSON, CSV and SVG forms.
struct SweepReport {
  std::string label;           // what was measured (the command line, the task's name)
  std::size_t jobs = 0;        // jobs (tasks) in one run of the batch
  std::vector<SweepRow> rows;  // by worker count, ascending, no duplicates
  // The smallest count whose throughput is within kRecommendTolerance of the best; nullopt
  // when there are no rows.
  std::optional<unsigned> recommended_workers;

  // One sentence saying what is recommended and why ("" when there are no rows).
  std::string reason() const;
  // The table a terminal shows: workers, median wall time with its min-max spread, jobs/s,
  // speedup and efficiency; then reason() on a line of its own.
  std::string table() const;
  // {"label", "jobs", "results": [{"workers", "seconds", "median_seconds", ...}, ...],
  //  "recommended_workers" (null without rows), "reason"}, serialized by Boost.JSON.
  std::string json() const;
  // A header line, then one line per row with the same columns.
  std::string csv() const;
  // A self-contained SVG: throughput (jobs/s, left axis) and efficiency (%, right axis)
  // against workers, with axes, ticks, a legend, and the label in the title.
  std::string svg() const;
};

// The rows for `measurements` (sorted by workers; a worker count given twice has its times
// merged; a count with no times is left out), and the recommendation.
// REQUIRES: every measured time is positive.
SweepReport make_sweep_report(std::string label, std::size_t jobs,
                              std::vector<SweepMeasurement> measurements);

// The smallest worker count whose throughput is at least (1 - kRecommendTolerance) times the
// best; exactly 5% below still counts. nullopt for no rows.
std::optional<unsigned> recommend_workers(std::span<const SweepRow> rows);

// 1, 2, 4, ... doubling while at most `cpus`, then `cpus` itself if it is not a power of two.
std::vector<unsigned> default_worker_counts(unsigned cpus);
// The same for the CPUs this process may use (affinity mask and cgroup quota).
std::vector<unsigned> default_worker_counts();

// Sorted, without duplicates. Throws SweepError for an empty list or a count of 0.
std::vector<unsigned> normalize_worker_counts(std::vector<unsigned> counts);

// Where a sweep is, for a progress line: about to run `run` (1-based) of `runs` with
// `workers` workers, the `count_index`-th (1-based) of `counts` worker counts.
struct SweepProgress {
  unsigned workers = 0;         // the worker count about to be measured
  std::size_t count_index = 0;  // its place among the counts, from 1
  std::size_t counts = 0;       // how many counts the sweep measures
  unsigned run = 0;             // the run about to start, from 1
  unsigned runs = 0;            // runs per count
};

// What sweep_workers() measures and how.
struct SweepOptions {
  std::vector<unsigned> workers;  // empty: default_worker_counts()
  unsigned runs = 3;              // timed runs of the whole batch per worker count
  std::string label;              // empty: the task's name
  // Every pool of the sweep is built from these, with `workers` set to the count measured.
  Options pool;
  // Called before each timed run, in the calling thread.
  std::function<void(const SweepProgress&)> on_progress;
};

// A task failed during a sweep. what() names the worker count and the task's error; report()
// holds the rows measured before it (a sweep over failing work is meaningless, so it stops).
class SweepFailed : public Error {
 public:
  // The worker count being measured, the task's error, and the rows measured before it.
  SweepFailed(unsigned workers, const std::string& cause, SweepReport partial)
      : Error("sweep stopped: a task failed with " + std::to_string(workers) +
              (workers == 1 ? " worker: " : " workers: ") + cause),
        workers(workers),
        partial_(std::move(partial)) {}
  // The rows measured before the failure.
  const SweepReport& report() const { return partial_; }
  // The worker count whose run failed.
  unsigned workers;

 private:
  SweepReport partial_;
};

namespace detail {
// Validates and fills in the defaults of `options`: the counts to measure.
std::vector<unsigned> sweep_counts(const SweepOptions& options);
}  // namespace detail

// `inputs` is any range of values convertible to Arg; it is read once, into a vector.
// For each worker count, builds a Pool from options.pool with that many workers, waits for
// one untimed task per worker (on inputs' first element) while the workers start, then runs
// the whole of `inputs` options.runs times (submit every element, then get every result),
// timing each run from the first submit to the last result. Pool start-up is therefore not
// in the times (forkpool bench, which times whole `forkpool run` batches, does include it).
// Throws SweepError for bad options, SweepFailed when a task fails (its pool is terminated
// at once), and what Pool throws.
template <typename R, typename Arg, typename Inputs>
SweepReport sweep_workers(const Task<R (*)(Arg)>& task, const Inputs& inputs,
                          const SweepOptions& options = {}) {
  using Clock = std::chrono::steady_clock;
  const std::vector<unsigned> counts = detail::sweep_counts(options);
  const std::string label = options.label.empty() ? task.name() : options.label;
  // Copied once, so that every run submits the same elements whatever range `inputs` is.
  std::vector<std::ranges::range_value_t<const Inputs&>> items;
  for (auto&& item : inputs) items.push_back(item);
  std::vector<SweepMeasurement> measured;
  for (std::size_t c = 0; c < counts.size(); ++c) {
    Options pool_options = options.pool;
    pool_options.workers = counts[c];
    Pool pool(pool_options);
    SweepMeasurement m{counts[c], {}};
    try {
      if (!items.empty()) {
        std::vector<Future<R>> warmup;
        for (unsigned w = 0; w < counts[c]; ++w) warmup.push_back(pool.submit(task, items.front()));
        for (const Future<R>& f : warmup) f.wait();
      }
      std::vector<Future<R>> futures;
      futures.reserve(items.size());
      for (unsigned run = 1; run <= options.runs; ++run) {
        if (options.on_progress)
          options.on_progress({counts[c], c + 1, counts.size(), run, options.runs});
        futures.clear();
        const auto start = Clock::now();
        for (const auto& item : items) futures.push_back(pool.submit(task, item));
        for (const Future<R>& f : futures) f.get();
        m.seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
      }
    } catch (const std::exception& e) {
      pool.terminate();  // the rest of the failed run is not worth waiting for
      measured.push_back(std::move(m));
      throw SweepFailed(counts[c], e.what(), make_sweep_report(label, items.size(), measured));
    }
    measured.push_back(std::move(m));
  }
  return make_sweep_report(label, items.size(), std::move(measured));
}

}  // namespace forkpool
