// Report: the table core_bench prints (and writes as JSON), one row per figure, each against a
// peer measured in the same run.
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace forkpool_bench {

// Repeated measurements of one quantity.
class Samples {
 public:
  void add(double value) { values_.push_back(value); }
  std::size_t size() const { return values_.size(); }
  // NaN when empty; the mean of the middle two for an even count.
  double median() const;
  // Nearest rank: percentile(99) of 20,000 samples is the 19,800th smallest.
  double percentile(double p) const;
  double min() const;
  double max() const;

 private:
  std::vector<double> sorted() const;

  std::vector<double> values_;
};

// What a row must show to meet its goal.
struct Goal {
  enum class Kind { kNone, kRatioAtLeast, kRatioBelow, kRatioAtMost, kValueBelow, kValueAtLeast };
  Kind kind = Kind::kNone;
  double bound = 0;

  // ">= 10x", "< 3x", "< 100 ms", ">= 95 %", or "-".
  std::string text(const std::string& unit) const;
  // nullopt for a row without a goal.
  std::optional<bool> met(double value, double ratio) const;
};

// One line of the table. The ratio is always forkpool / peer in the row's unit: for a rate,
// above 1 means forkpool is faster; for a time, above 1 means forkpool is slower.
struct Row {
  std::string section;
  std::string name;
  std::string unit;
  double forkpool = 0;
  std::string peer;
  double peer_value = 0;
  Goal goal;

  double ratio() const { return forkpool / peer_value; }
};

class Report {
 public:
  void add(std::string section, std::string name, std::string unit, double forkpool,
           std::string peer, double peer_value, Goal goal = {}) {
    rows_.push_back(Row{std::move(section), std::move(name), std::move(unit), forkpool,
                        std::move(peer), peer_value, goal});
  }
  // Adds a note under the table unless the same text is there already.
  void note_once(const std::string& text);
  // Recorded in the JSON output only.
  void config(const std::string& key, boost::json::value value);

  void print(std::ostream& out) const;
  // Throws std::runtime_error if the file cannot be written.
  void write_json(const std::string& path) const;

 private:
  std::vector<Row> rows_;
  std::vector<std::string> notes_;
  boost::json::object config_;
};

}  // namespace forkpool_bench
