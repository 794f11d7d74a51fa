// The sweep report: statistics over wall times, the recommendation, and the table, JSON and
// CSV forms (the SVG is in sweep_svg.cc).
#include "forkpool/sweep.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <map>

#include "orchestrator/cpu_count.h"

namespace forkpool {
namespace {

// R's type 7 quantile of sorted, non-empty `v`: linear between the two nearest ranks. p = 0.5
// gives the usual median (the mean of the middle two for an even count).
double quantile(const std::vector<double>& sorted, double p) {
  const double rank = p * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(rank));
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (rank - static_cast<double>(below)) * (sorted[above] - sorted[below]);
}

SweepRow make_row(unsigned workers, std::vector<double> seconds, std::size_t jobs) {
  SweepRow row;
  row.workers = workers;
  std::vector<double> sorted = seconds;
  std::sort(sorted.begin(), sorted.end());
  row.seconds = std::move(seconds);
  row.median = quantile(sorted, 0.5);
  row.min = sorted.front();
  row.max = sorted.back();
  row.q1 = quantile(sorted, 0.25);
  row.q3 = quantile(sorted, 0.75);
  row.jobs_per_second = row.median > 0 ? static_cast<double>(jobs) / row.median : 0;
  return row;
}

// Speedup and efficiency against one worker (or the smallest count, scaled: see SweepRow).
void add_scaling(std::vector<SweepRow>& rows) {
  if (rows.empty()) return;
  const double one_worker = rows.front().median * rows.front().workers;
  for (SweepRow& row : rows) {
    row.speedup = row.median > 0 ? one_worker / row.median : 0;
    row.efficiency = row.speedup / row.workers;
  }
}

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

// A time in the table's unit, with three significant digits or more: 0.87, 10.3, 123.
std::string time_text(double value) {
  if (value >= 100) return format("%.0f", value);
  if (value >= 10) return format("%.1f", value);
  return format("%.2f", value);
}

std::string rate_text(double r) { return format(r >= 100 ? "%.0f" : "%.2f", r); }

std::string pad_left(std::string text, std::size_t width) {
  if (text.size() < width) text.insert(0, width - text.size(), ' ');
  return text;
}

const SweepRow* row_for(const SweepReport& report, unsigned workers) {
  for (const SweepRow& row : report.rows) {
    if (row.workers == workers) return &row;
  }
  return nullptr;
}

std::string workers_text(unsigned n) {
  return std::to_string(n) + (n == 1 ? " worker" : " workers");
}

// CSV fields are numbers; printed with enough digits to read back the same double.
std::string number(double v) { return format("%.17g", v); }

}  // namespace

std::optional<unsigned> recommend_workers(std::span<const SweepRow> rows) {
  if (rows.empty()) return std::nullopt;
  double best = 0;
  for (const SweepRow& row : rows) best = std::max(best, row.jobs_per_second);
  // A hair of slack so that a throughput exactly 5% below the best, which floating point
  // may put a rounding error below 0.95 * best, still counts as within 5%.
  const double good_enough = best * (1 - kRecommendTolerance) * (1 - 1e-12);
  std::optional<unsigned> smallest;
  for (const SweepRow& row : rows) {
    if (row.jobs_per_second >= good_enough && (!smallest || row.workers < *smallest))
      smallest = row.workers;
  }
  return smallest;
}

SweepReport make_sweep_report(std::string label, std::size_t jobs,
                              std::vector<SweepMeasurement> measurements) {
  std::map<unsigned, std::vector<double>> by_workers;
  for (SweepMeasurement& m : measurements) {
    std::vector<double>& times = by_workers[m.workers];
    times.insert(times.end(), m.seconds.begin(), m.seconds.end());
  }
  SweepReport report;
  report.label = std::move(label);
  report.jobs = jobs;
  for (auto& [workers, seconds] : by_workers) {
    if (!seconds.empty()) report.rows.push_back(make_row(workers, std::move(seconds), jobs));
  }
  add_scaling(report.rows);
  report.recommended_workers = recommend_workers(report.rows);
  return report;
}

std::string SweepReport::reason() const {
  if (!recommended_workers) return "";
  const SweepRow* best = &rows.front();
  for (const SweepRow& row : rows) {
    if (row.jobs_per_second > best->jobs_per_second) best = &row;
  }
  const SweepRow& chosen = *row_for(*this, *recommended_workers);
  const std::string use = "Use " + workers_text(chosen.workers) + ": ";
  if (rows.size() == 1) return use + "it is the only count measured.";
  if (chosen.workers == best->workers) {
    return use + "it has the highest throughput (" + rate_text(best->jobs_per_second) +
           " jobs/s), and no smaller count comes within 5% of it.";
  }
  const double share =
      best->jobs_per_second > 0 ? chosen.jobs_per_second / best->jobs_per_second : 1;
  return use + "it reaches " + format("%.1f", share * 100) + "% of the best throughput (" +
         rate_text(best->jobs_per_second) + " jobs/s with " + std::to_string(best->workers) +
         "), within 5%, with fewer workers.";
}

std::string SweepReport::table() const {
  // One unit for the whole table, so that the columns compare at a glance.
  double longest = 0;
  for (const SweepRow& row : rows) longest = std::max(longest, row.max);
  const bool ms = longest < 1;
  const double scale = ms ? 1000 : 1;
  std::string out = std::string("workers  median ") + (ms ? "ms" : " s") + "  spread (min-max)" +
                    "      jobs/s  speedup  efficiency\n";
  for (const SweepRow& row : rows) {
    out += pad_left(std::to_string(row.workers), 7) + pad_left(time_text(row.median * scale), 11) +
           "  " + pad_left(time_text(row.min * scale) + "-" + time_text(row.max * scale), 16) +
           pad_left(rate_text(row.jobs_per_second), 12) +
           pad_left(format("%.2fx", row.speedup), 9) +
           pad_left(format("%.1f%%", row.efficiency * 100), 12) + "\n";
  }
  if (recommended_workers) out += reason() + "\n";
  return out;
}

std::string SweepReport::json() const {
  boost::json::array results;
  for (const SweepRow& row : rows) {
    boost::json::array seconds;
    for (double s : row.seconds) seconds.push_back(s);
    results.push_back(boost::json::object{
        {"workers", row.workers},
        {"seconds", std::move(seconds)},
        {"median_seconds", row.median},
        {"min_seconds", row.min},
        {"max_seconds", row.max},
        {"q1_seconds", row.q1},
        {"q3_seconds", row.q3},
        {"jobs_per_second", row.jobs_per_second},
        {"speedup", row.speedup},
        {"efficiency", row.efficiency},
    });
  }
  boost::json::object root{{"label", label},
                           {"jobs", jobs},
                           {"results", std::move(results)},
                           {"recommended_workers", nullptr},
                           {"reason", reason()}};
  if (recommended_workers) root["recommended_workers"] = *recommended_workers;
  return boost::json::serialize(root) + "\n";
}

std::string SweepReport::csv() const {
  std::string out =
      "workers,runs,median_seconds,min_seconds,max_seconds,q1_seconds,q3_seconds,"
      "jobs_per_second,speedup,efficiency\n";
  for (const SweepRow& row : rows) {
    out += std::to_string(row.workers) + "," + std::to_string(row.seconds.size());
    for (double v : {row.median, row.min, row.max, row.q1, row.q3, row.jobs_per_second, row.speedup,
                     row.efficiency}) {
      out += "," + number(v);
    }
    out += "\n";
  }
  return out;
}

std::vector<unsigned> default_worker_counts(unsigned cpus) {
  cpus = std::max(cpus, 1u);
  std::vector<unsigned> counts;
  for (unsigned n = 1; n <= cpus; n *= 2) {
    counts.push_back(n);
    if (n > cpus / 2) break;  // n * 2 would pass cpus (or overflow)
  }
  if (counts.back() != cpus) counts.push_back(cpus);
  return counts;
}

std::vector<unsigned> default_worker_counts() {
  return default_worker_counts(orchestrator::usable_cpus());
}

std::vector<unsigned> normalize_worker_counts(std::vector<unsigned> counts) {
  if (counts.empty()) throw SweepError("no worker counts to measure");
  std::sort(counts.begin(), counts.end());
  if (counts.front() == 0) throw SweepError("a worker count must be at least 1");
  counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
  return counts;
}

namespace detail {
std::vector<unsigned> sweep_counts(const SweepOptions& options) {
  if (options.runs == 0) throw SweepError("runs must be at least 1");
  return options.workers.empty() ? default_worker_counts()
                                 : normalize_worker_counts(options.workers);
}
}  // namespace detail

}  // namespace forkpool
