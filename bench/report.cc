#include "report.h"

#include <algorithm>
#include <boost/json.hpp>  // compiled once, in forkpool::sweep (sweep/boost_json.cc)
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace forkpool_bench {
namespace {

constexpr std::size_t kNameWidth = 50;
constexpr std::size_t kValueWidth = 15;
constexpr std::size_t kPeerWidth = 43;
constexpr std::size_t kRatioWidth = 9;
constexpr std::size_t kGoalWidth = 10;

std::string format_value(double value, const std::string& unit) {
  char text[64];
  const int decimals = value >= 1000 ? 0 : value >= 10 ? 1 : value >= 1 ? 2 : 3;
  std::snprintf(text, sizeof text, "%.*f %s", decimals, value, unit.c_str());
  return text;
}

std::string format_ratio(double ratio) {
  char text[32];
  std::snprintf(text, sizeof text, ratio >= 10 ? "%.1fx" : "%.2fx", ratio);
  return text;
}

std::string pad(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

std::string pad_left(std::string text, std::size_t width) {
  if (text.size() < width) text.insert(0, width - text.size(), ' ');
  return text;
}

std::string met_text(const Row& row) {
  const std::optional<bool> met = row.goal.met(row.forkpool, row.ratio());
  return met ? (*met ? "yes" : "NO") : "-";
}

void print_row(std::ostream& out, const Row& row) {
  out << pad(row.name, kNameWidth) << pad_left(format_value(row.forkpool, row.unit), kValueWidth)
      << "  " << pad(row.peer, kPeerWidth)
      << pad_left(format_value(row.peer_value, row.unit), kValueWidth)
      << pad_left(format_ratio(row.ratio()), kRatioWidth) << "  "
      << pad(row.goal.text(row.unit), kGoalWidth) << met_text(row) << "\n";
}

boost::json::object to_json(const Row& row) {
  const std::optional<bool> met = row.goal.met(row.forkpool, row.ratio());
  boost::json::object o{{"section", row.section}, {"name", row.name},
                        {"unit", row.unit},       {"forkpool", row.forkpool},
                        {"peer", row.peer},       {"peer_value", row.peer_value},
                        {"ratio", row.ratio()},   {"goal", row.goal.text(row.unit)}};
  o["met"] = met ? boost::json::value(*met) : boost::json::value(nullptr);
  return o;
}

}  // namespace

std::vector<double> Samples::sorted() const {
  std::vector<double> s = values_;
  std::sort(s.begin(), s.end());
  return s;
}

double Samples::median() const {
  if (values_.empty()) return std::nan("");
  const std::vector<double> s = sorted();
  const std::size_t half = s.size() / 2;
  return s.size() % 2 == 1 ? s[half] : (s[half - 1] + s[half]) / 2;
}

double Samples::percentile(double p) const {
  if (values_.empty()) return std::nan("");
  const std::vector<double> s = sorted();
  auto rank = static_cast<std::size_t>(std::ceil(p / 100 * static_cast<double>(s.size())));
  return s[std::clamp<std::size_t>(rank, 1, s.size()) - 1];
}

double Samples::min() const {
  return values_.empty() ? std::nan("") : *std::min_element(values_.begin(), values_.end());
}

double Samples::max() const {
  return values_.empty() ? std::nan("") : *std::max_element(values_.begin(), values_.end());
}

std::string Goal::text(const std::string& unit) const {
  std::ostringstream out;
  switch (kind) {
    case Kind::kNone:
      return "-";
    case Kind::kRatioAtLeast:
      out << ">= " << bound << "x";
      break;
    case Kind::kRatioBelow:
      out << "< " << bound << "x";
      break;
    case Kind::kRatioAtMost:
      out << "<= " << bound << "x";
      break;
    case Kind::kValueBelow:
      out << "< " << bound << " " << unit;
      break;
    case Kind::kValueAtLeast:
      out << ">= " << bound << " " << unit;
      break;
  }
  return out.str();
}

std::optional<bool> Goal::met(double value, double ratio) const {
  switch (kind) {
    case Kind::kNone:
      return std::nullopt;
    case Kind::kRatioAtLeast:
      return ratio >= bound;
    case Kind::kRatioBelow:
      return ratio < bound;
    case Kind::kRatioAtMost:
      return ratio <= bound;
    case Kind::kValueBelow:
      return value < bound;
    case Kind::kValueAtLeast:
      return value >= bound;
  }
  return std::nullopt;
}

void Report::note_once(const std::string& text) {
  if (std::find(notes_.begin(), notes_.end(), text) == notes_.end()) notes_.push_back(text);
}

void Report::config(const std::string& key, boost::json::value value) {
  config_[key] = std::move(value);
}

void Report::print(std::ostream& out) const {
  out << pad("benchmark", kNameWidth) << pad_left("forkpool", kValueWidth) << "  "
      << pad("peer", kPeerWidth) << pad_left("peer value", kValueWidth)
      << pad_left("ratio", kRatioWidth) << "  " << pad("goal", kGoalWidth) << "met\n";
  out << std::string(
             kNameWidth + 2 * kValueWidth + 2 + kPeerWidth + kRatioWidth + 2 + kGoalWidth + 3, '-')
      << "\n";
  std::string section;
  for (const Row& row : rows_) {
    if (row.section != section && !section.empty()) out << "\n";
    section = row.section;
    print_row(out, row);
  }
  for (const std::string& n : notes_) out << "note: " << n << "\n";
}

void Report::write_json(const std::string& path) const {
  boost::json::array rows;
  for (const Row& row : rows_) rows.push_back(to_json(row));
  boost::json::array notes;
  for (const std::string& n : notes_) notes.push_back(boost::json::string(n));
  boost::json::object root{{"rows", rows}, {"notes", notes}, {"config", config_}};
  std::ofstream file(path);
  file << boost::json::serialize(root) << "\n";
  if (!file) throw std::runtime_error("cannot write " + path);
}

}  // namespace forkpool_bench
