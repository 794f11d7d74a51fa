// The sweep report on synthetic timings (statistics, the recommendation rule, the table and
// the JSON, CSV and SVG forms), and a real sweep_workers() run over a registered task.
#include "forkpool/sweep.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <ranges>
#include <sstream>
#include <string>
#include <vector>

#include "orchestrator/test_tasks.h"
#include "support/files.h"
#include "support/leak_check.h"

namespace forkpool::testing {
namespace {

// Rows whose throughputs are exactly `rates` (jobs/s) for `workers`: recommend_workers()
// reads nothing else.
std::vector<SweepRow> rows_with_rates(const std::vector<unsigned>& workers,
                                      const std::vector<double>& rates) {
  std::vector<SweepRow> rows;
  for (std::size_t i = 0; i < workers.size(); ++i) {
    SweepRow row;
    row.workers = workers[i];
    row.jobs_per_second = rates[i];
    rows.push_back(row);
  }
  return rows;
}

// 100 jobs per run, one time per count, so each count's throughput is 100 / seconds.
SweepReport report_of(const std::vector<std::pair<unsigned, std::vector<double>>>& times,
                      std::string label = "sleep 1") {
  std::vector<SweepMeasurement> m;
  for (const auto& [workers, seconds] : times) m.push_back({workers, seconds});
  return make_sweep_report(std::move(label), 100, m);
}

// ---- The recommendation rule --------------------------------------------------------------

TEST(SweepRecommend, SmallestCountWithinFivePercentOfTheBest) {
  // 10, 19.2 and 20 jobs/s: 2 workers reach 96% of the best.
  const SweepReport r = report_of({{1, {10}}, {2, {5.2}}, {4, {5}}});
  ASSERT_TRUE(r.recommended_workers);
  EXPECT_EQ(*r.recommended_workers, 2u);
  EXPECT_NE(r.reason().find("Use 2 workers"), std::string::npos) << r.reason();
  EXPECT_NE(r.reason().find("4"), std::string::npos) << r.reason();
}

TEST(SweepRecommend, ExactlyFivePercentBelowTheBestCounts) {
  EXPECT_EQ(recommend_workers(rows_with_rates({1, 2}, {95, 100})), 1u);
  EXPECT_EQ(recommend_workers(rows_with_rates({1, 2}, {19, 20})), 1u);
  EXPECT_EQ(recommend_workers(rows_with_rates({1, 2}, {0.95, 1})), 1u);
  // Just past the boundary does not.
  EXPECT_EQ(recommend_workers(rows_with_rates({1, 2}, {94.999, 100})), 2u);
  EXPECT_EQ(recommend_workers(rows_with_rates({1, 2}, {18.99, 20})), 2u);
}

TEST(SweepRecommend, TiesGoToTheSmallestCount) {
  EXPECT_EQ(recommend_workers(rows_with_rates({1, 2, 4}, {10, 50, 50})), 2u);
  EXPECT_EQ(recommend_workers(rows_with_rates({2, 4, 8}, {7, 7, 7})), 2u);
}

TEST(SweepRecommend, NonMonotonicThroughput) {
  // A dip in the middle: the best is at the end, and nothing before it comes close.
  EXPECT_EQ(recommend_workers(rows_with_rates({1, 2, 4, 8}, {10, 20, 15, 40})), 8u);
  // A peak in the middle, and a later count within 5% of it: still the peak.
  EXPECT_EQ(recommend_workers(rows_with_rates({1, 2, 4, 8}, {10, 30, 20, 31})), 2u);
  EXPECT_EQ(recommend_workers(rows_with_rates({1, 2, 4, 8}, {10, 25, 40, 39})), 4u);
  // Rows in any order.
  EXPECT_EQ(recommend_workers(rows_with_rates({8, 1, 4, 2}, {31, 10, 20, 30})), 2u);
}

TEST(SweepRecommend, SingleCountAndNoCount) {
  EXPECT_EQ(recommend_workers(rows_with_rates({3}, {12})), 3u);
  EXPECT_EQ(recommend_workers({}), std::nullopt);
  const SweepReport one = report_of({{4, {2, 3}}});
  EXPECT_EQ(one.recommended_workers, 4u);
  EXPECT_NE(one.reason().find("only count"), std::string::npos) << one.reason();
  const SweepReport none = report_of({});
  EXPECT_EQ(none.recommended_workers, std::nullopt);
  EXPECT_EQ(none.reason(), "");
}

// ---- Statistics ---------------------------------------------------------------------------

TEST(SweepStatistics, MedianSpreadAndQuartiles) {
  const SweepReport odd = report_of({{1, {3, 1, 2}}});
  const SweepRow& o = odd.rows.at(0);
  EXPECT_EQ(o.seconds, (std::vector<double>{3, 1, 2}));  // kept in run order
  EXPECT_DOUBLE_EQ(o.median, 2);
  EXPECT_DOUBLE_EQ(o.min, 1);
  EXPECT_DOUBLE_EQ(o.max, 3);
  EXPECT_DOUBLE_EQ(o.q1, 1.5);
  EXPECT_DOUBLE_EQ(o.q3, 2.5);
  EXPECT_DOUBLE_EQ(o.jobs_per_second, 50);

  const SweepReport even = report_of({{1, {4, 1, 3, 2}}});
  const SweepRow& e = even.rows.at(0);
  EXPECT_DOUBLE_EQ(e.median, 2.5);
  EXPECT_DOUBLE_EQ(e.q1, 1.75);
  EXPECT_DOUBLE_EQ(e.q3, 3.25);

  const SweepReport one = report_of({{1, {0.5}}});
  const SweepRow& single = one.rows.at(0);
  EXPECT_DOUBLE_EQ(single.median, 0.5);
  EXPECT_DOUBLE_EQ(single.q1, 0.5);
  EXPECT_DOUBLE_EQ(single.q3, 0.5);
}

TEST(SweepStatistics, SpeedupAndEfficiencyOverOneWorker) {
  const SweepReport r = report_of({{1, {8}}, {2, {4}}, {4, {4}}});
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_DOUBLE_EQ(r.rows[0].speedup, 1);
  EXPECT_DOUBLE_EQ(r.rows[0].efficiency, 1);
  EXPECT_DOUBLE_EQ(r.rows[1].speedup, 2);
  EXPECT_DOUBLE_EQ(r.rows[1].efficiency, 1);
  EXPECT_DOUBLE_EQ(r.rows[2].speedup, 2);
  EXPECT_DOUBLE_EQ(r.rows[2].efficiency, 0.5);
}

TEST(SweepStatistics, WithoutOneWorkerTheSmallestCountIsTakenToScalePerfectly) {
  const SweepReport r = report_of({{2, {4}}, {4, {2}}, {8, {2}}});
  EXPECT_DOUBLE_EQ(r.rows[0].speedup, 2);
  EXPECT_DOUBLE_EQ(r.rows[0].efficiency, 1);
  EXPECT_DOUBLE_EQ(r.rows[1].speedup, 4);
  EXPECT_DOUBLE_EQ(r.rows[2].speedup, 4);
  EXPECT_DOUBLE_EQ(r.rows[2].efficiency, 0.5);
}

TEST(SweepStatistics, RowsAreSortedMergedAndNeverEmpty) {
  const SweepReport r = report_of({{4, {1}}, {1, {2}}, {4, {3}}, {2, {}}});
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.rows[0].workers, 1u);
  EXPECT_EQ(r.rows[1].workers, 4u);
  EXPECT_EQ(r.rows[1].seconds, (std::vector<double>{1, 3}));
}

TEST(SweepCounts, DefaultCountsDoubleUpToTheCpusAndIncludeThem) {
  EXPECT_EQ(default_worker_counts(0), (std::vector<unsigned>{1}));
  EXPECT_EQ(default_worker_counts(1), (std::vector<unsigned>{1}));
  EXPECT_EQ(default_worker_counts(2), (std::vector<unsigned>{1, 2}));
  EXPECT_EQ(default_worker_counts(6), (std::vector<unsigned>{1, 2, 4, 6}));
  EXPECT_EQ(default_worker_counts(8), (std::vector<unsigned>{1, 2, 4, 8}));
  EXPECT_EQ(default_worker_counts(12), (std::vector<unsigned>{1, 2, 4, 8, 12}));
  const std::vector<unsigned> here = default_worker_counts();
  ASSERT_FALSE(here.empty());
  EXPECT_EQ(here.front(), 1u);
}

TEST(SweepCounts, NormalizedSortedUniqueAndPositive) {
  EXPECT_EQ(normalize_worker_counts({4, 1, 4, 2}), (std::vector<unsigned>{1, 2, 4}));
  EXPECT_THROW(normalize_worker_counts({}), SweepError);
  EXPECT_THROW(normalize_worker_counts({2, 0}), SweepError);
}

// ---- The table, JSON, CSV, SVG ------------------------------------------------------------

TEST(SweepFormats, TableHasARowPerCountThenTheReason) {
  const SweepReport r = report_of({{1, {10, 11, 9}}, {2, {5.2}}, {4, {5}}});
  const std::string table = r.table();
  std::vector<std::string> lines;
  std::istringstream in(table);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 5u) << table;
  EXPECT_NE(lines[0].find("workers"), std::string::npos);
  EXPECT_NE(lines[0].find("jobs/s"), std::string::npos);
  EXPECT_NE(lines[0].find("efficiency"), std::string::npos);
  EXPECT_EQ(lines[1].rfind("      1", 0), 0u) << lines[1];
  EXPECT_NE(lines[1].find("9.00-11.0"), std::string::npos) << lines[1];  // the spread, in s
  EXPECT_NE(lines[1].find("100.0%"), std::string::npos) << lines[1];
  EXPECT_EQ(lines[3].rfind("      4", 0), 0u) << lines[3];
  EXPECT_EQ(lines[4], r.reason());
}

TEST(SweepFormats, JsonHasTheRowsAndTheRecommendation) {
  const SweepReport r = report_of({{1, {10, 12}}, {2, {5.2}}, {4, {5}}}, "echo \"x\"");
  const boost::json::value v = boost::json::parse(r.json());
  const boost::json::object& root = v.as_object();
  EXPECT_EQ(root.at("label").as_string(), "echo \"x\"");
  EXPECT_EQ(root.at("jobs").to_number<int>(), 100);
  EXPECT_EQ(root.at("recommended_workers").to_number<int>(), 2);
  EXPECT_EQ(root.at("reason").as_string(), r.reason());
  const boost::json::array& results = root.at("results").as_array();
  ASSERT_EQ(results.size(), 3u);
  for (std::size_t i = 0; i < results.size(); ++i) {
    const boost::json::object& row = results[i].as_object();
    const SweepRow& want = r.rows[i];
    EXPECT_EQ(row.at("workers").to_number<unsigned>(), want.workers);
    EXPECT_EQ(row.at("seconds").as_array().size(), want.seconds.size());
    EXPECT_DOUBLE_EQ(row.at("median_seconds").to_number<double>(), want.median);
    EXPECT_DOUBLE_EQ(row.at("min_seconds").to_number<double>(), want.min);
    EXPECT_DOUBLE_EQ(row.at("max_seconds").to_number<double>(), want.max);
    EXPECT_DOUBLE_EQ(row.at("jobs_per_second").to_number<double>(), want.jobs_per_second);
    EXPECT_DOUBLE_EQ(row.at("speedup").to_number<double>(), want.speedup);
    EXPECT_DOUBLE_EQ(row.at("efficiency").to_number<double>(), want.efficiency);
  }
  EXPECT_DOUBLE_EQ(results[0].at("median_seconds").to_number<double>(), 11);

  const boost::json::value empty = boost::json::parse(report_of({}).json());
  EXPECT_TRUE(empty.at("recommended_workers").is_null());
  EXPECT_TRUE(empty.at("results").as_array().empty());
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts(1);
  for (char c : text) {
    if (c == separator) {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  return parts;
}

TEST(SweepFormats, CsvHasAHeaderAndOneConsistentLinePerCount) {
  const SweepReport r = report_of({{1, {10, 12}}, {2, {5.2}}, {4, {5}}});
  std::vector<std::string> lines = split(r.csv(), '\n');
  ASSERT_EQ(lines.back(), "");  // ends with a newline
  lines.pop_back();
  ASSERT_EQ(lines.size(), 4u) << r.csv();
  const std::vector<std::string> header = split(lines[0], ',');
  EXPECT_EQ(header.front(), "workers");
  EXPECT_NE(std::find(header.begin(), header.end(), "jobs_per_second"), header.end());
  const auto column = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> fields = split(lines[i], ',');
    ASSERT_EQ(fields.size(), header.size()) << lines[i];
    const SweepRow& want = r.rows[i - 1];
    EXPECT_EQ(std::stoul(fields[0]), want.workers);
    EXPECT_EQ(std::stoul(fields[column("runs")]), want.seconds.size());
    EXPECT_DOUBLE_EQ(std::stod(fields[column("median_seconds")]), want.median);
    EXPECT_DOUBLE_EQ(std::stod(fields[column("jobs_per_second")]), want.jobs_per_second);
    EXPECT_DOUBLE_EQ(std::stod(fields[column("efficiency")]), want.efficiency);
  }
}

// Parses `svg` with Python's XML parser and prints the <text> of its title: the check does not
// trust this project's own idea of well-formed XML.
std::string parsed_svg_title(const std::string& svg) {
  TempDir dir;
  write_file(dir / "plot.svg", svg);
  write_file(dir / "check.py",
             "import sys, xml.etree.ElementTree as ET\n"
             "root = ET.parse(sys.argv[1]).getroot()\n"
             "assert root.tag == '{http://www.w3.org/2000/svg}svg', root.tag\n"
             "ns = {'s': 'http://www.w3.org/2000/svg'}\n"
             "assert root.findall('.//s:polyline', ns) or not root.findall('.//s:circle', ns)\n"
             "sys.stdout.write(root.find('s:text', ns).text)\n");
  const std::string command =
      "python3 " + (dir / "check.py") + " " + (dir / "plot.svg") + " > " + (dir / "title.txt");
  if (std::system(command.c_str()) != 0) return "<not well-formed>";
  return read_file(dir / "title.txt");
}

TEST(SweepFormats, SvgIsWellFormedWithTheCommandEscaped) {
  const std::string label = "grep -c '<a href=\"x\">' & echo done";
  const SweepReport r = report_of({{1, {10}}, {2, {5.2}}, {4, {5}}}, label);
  const std::string svg = r.svg();
  EXPECT_NE(svg.find("&lt;a href=&quot;x&quot;&gt;"), std::string::npos);
  EXPECT_NE(svg.find("&amp; echo done"), std::string::npos);
  EXPECT_EQ(svg.find(label), std::string::npos) << "the command appears unescaped";
  EXPECT_EQ(parsed_svg_title(svg), "forkpool bench: " + label);
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '\n') > 10, true);
  EXPECT_NE(svg.find("<polyline"), std::string::npos);
  EXPECT_NE(svg.find("throughput (jobs/s)"), std::string::npos);
  EXPECT_NE(svg.find("efficiency (%)"), std::string::npos);
}

TEST(SweepFormats, SvgOfOneOrNoCountIsStillWellFormed) {
  EXPECT_EQ(parsed_svg_title(report_of({{2, {1}}}, "true").svg()), "forkpool bench: true");
  EXPECT_EQ(parsed_svg_title(report_of({}, "a\x01 b").svg()), "forkpool bench: a  b");
}

TEST(SweepFormats, SvgUsesALogAxisForWideDoublingSweeps) {
  const SweepReport narrow = report_of({{1, {8}}, {2, {4}}, {4, {2}}});
  EXPECT_EQ(narrow.svg().find("log scale"), std::string::npos);
  const SweepReport wide = report_of({{1, {16}}, {2, {8}}, {4, {4}}, {8, {2}}, {16, {1}}});
  EXPECT_NE(wide.svg().find("workers (log scale)"), std::string::npos);
  EXPECT_EQ(parsed_svg_title(wide.svg()), "forkpool bench: sleep 1");
}

// ---- A real sweep -------------------------------------------------------------------------

TEST(SweepWorkers, MeasuresEveryCountWithARealPool) {
  LeakCheck leaks;
  {
    std::vector<SweepProgress> progress;
    const std::vector<int> inputs = {1, 2, 3, 4, 5, 6};
    const SweepReport r =
        sweep_workers(identity_task, inputs,
                      {.workers = {2, 1}, .runs = 2, .on_progress = [&](const SweepProgress& p) {
                         progress.push_back(p);
                       }});
    EXPECT_EQ(r.label, "identity_task");
    EXPECT_EQ(r.jobs, 6u);
    ASSERT_EQ(r.rows.size(), 2u);
    for (unsigned i = 0; i < 2; ++i) {
      EXPECT_EQ(r.rows[i].workers, i + 1);
      ASSERT_EQ(r.rows[i].seconds.size(), 2u);
      for (double s : r.rows[i].seconds) EXPECT_GT(s, 0);
      EXPECT_GT(r.rows[i].jobs_per_second, 0);
    }
    ASSERT_TRUE(r.recommended_workers);
    EXPECT_TRUE(*r.recommended_workers == 1 || *r.recommended_workers == 2);
    ASSERT_EQ(progress.size(), 4u);
    EXPECT_EQ(progress[0].workers, 1u);
    EXPECT_EQ(progress[0].run, 1u);
    EXPECT_EQ(progress[3].workers, 2u);
    EXPECT_EQ(progress[3].run, 2u);
    EXPECT_EQ(progress[3].count_index, 2u);
    EXPECT_EQ(progress[3].counts, 2u);
    // Any range will do, a view too.
    const SweepReport from_view =
        sweep_workers(identity_task, std::views::iota(0, 3), {.workers = {1}, .runs = 1});
    EXPECT_EQ(from_view.jobs, 3u);
    EXPECT_EQ(from_view.rows.size(), 1u);
  }
  leaks.check();
}

TEST(SweepWorkers, AFailingTaskStopsTheSweepWithWhatWasMeasured) {
  LeakCheck leaks;
  {
    const std::vector<std::string> inputs = {"boom"};
    try {
      sweep_workers(throw_runtime_error_task, inputs, {.workers = {1, 2}, .runs = 1});
      ADD_FAILURE() << "no SweepFailed";
    } catch (const SweepFailed& e) {
      EXPECT_EQ(e.workers, 1u);
      EXPECT_NE(std::string(e.what()).find("boom"), std::string::npos) << e.what();
      EXPECT_TRUE(e.report().rows.empty());
    }
  }
  leaks.check();
}

TEST(SweepWorkers, BadOptionsAreRefusedBeforeAnyPoolStarts) {
  LeakCheck leaks;
  const std::vector<int> inputs = {1};
  EXPECT_THROW(sweep_workers(identity_task, inputs, {.workers = {1}, .runs = 0}), SweepError);
  EXPECT_THROW(sweep_workers(identity_task, inputs, {.workers = {0, 1}}), SweepError);
  leaks.check();
}

}  // namespace
}  // namespace forkpool::testing
