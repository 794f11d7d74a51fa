// The sweep report as an SVG plot, written by hand: two lines over a shared worker axis, with
// throughput on the left axis and efficiency on the right. No script, no external font or
// stylesheet, so the file shows the same anywhere.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "forkpool/sweep.h"

namespace forkpool {
namespace {

constexpr double kWidth = 720, kHeight = 470;
constexpr double kLeft = 80, kRight = 640, kTop = 70, kBottom = 370;  // the plot area
constexpr const char* kThroughputColor = "#1f77b4";
constexpr const char* kEfficiencyColor = "#d62728";

// Text as XML character data or an attribute value.
std::string escape_xml(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // Control characters other than tab and newline are not allowed in XML 1.0 at all.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string num(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", v);
  return text;
}

// A "nice" axis maximum at or above `value` (1, 2 or 5 times a power of ten) and its step.
struct Axis {
  double max = 1, step = 0.2;
};
Axis nice_axis(double value) {
  if (!(value > 0)) return {};
  const double magnitude = std::pow(10, std::floor(std::log10(value)));
  for (double f : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (f * magnitude >= value) return {f * magnitude, f * magnitude / 5};
  }
  return {10 * magnitude, 2 * magnitude};
}

std::string tick_label(double v) {
  char text[32];
  std::snprintf(text, sizeof text, v == std::floor(v) ? "%.0f" : "%.2g", v);
  return text;
}

class Plot {
 public:
  explicit Plot(const SweepReport& report) : report_(report) {
    if (!report.rows.empty()) {
      low_ = report.rows.front().workers;
      high_ = report.rows.back().workers;
      // Doubling counts (1, 2, 4 ... 64) would crowd into the left edge on a linear axis.
      log_scale_ = high_ >= 8 * low_;
    }
    double best = 0, efficiency = 0;
    for (const SweepRow& row : report.rows) {
      best = std::max(best, row.jobs_per_second);
      efficiency = std::max(efficiency, row.efficiency * 100);
    }
    rate_ = nice_axis(best);
    efficiency_ = nice_axis(std::max(efficiency, 100.0));
  }

  std::string render() const {
    std::string svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(kWidth) + "\" height=\"" +
           num(kHeight) + "\" viewBox=\"0 0 " + num(kWidth) + " " + num(kHeight) +
           "\" font-family=\"sans-serif\" font-size=\"12\">\n";
    svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    svg += "<text x=\"" + num(kWidth / 2) + "\" y=\"28\" text-anchor=\"middle\" font-size=\"15\">" +
           escape_xml("forkpool bench: " + report_.label) + "</text>\n";
    svg += "<text x=\"" + num(kWidth / 2) + "\" y=\"48\" text-anchor=\"middle\" fill=\"#555\">" +
           escape_xml(subtitle()) + "</text>\n";
    svg += axes();
    svg += line(kThroughputColor, [this](const SweepRow& r) { return rate_y(r.jobs_per_second); });
    svg += line(kEfficiencyColor,
                [this](const SweepRow& r) { return efficiency_y(r.efficiency * 100); });
    svg += legend();
    svg += "</svg>\n";
    return svg;
  }

 private:
  std::string subtitle() const {
    std::string text = std::to_string(report_.jobs) + " jobs per run";
    if (report_.recommended_workers)
      text += "; recommended: " + std::to_string(*report_.recommended_workers) + " workers";
    return text;
  }

  double x(unsigned workers) const {
    if (high_ == low_) return (kLeft + kRight) / 2;
    if (log_scale_) {
      return kLeft + (kRight - kLeft) * std::log2(static_cast<double>(workers) / low_) /
                         std::log2(static_cast<double>(high_) / low_);
    }
    return kLeft + (kRight - kLeft) * (workers - low_) / static_cast<double>(high_ - low_);
  }
  double rate_y(double v) const { return kBottom - (kBottom - kTop) * v / rate_.max; }
  double efficiency_y(double v) const { return kBottom - (kBottom - kTop) * v / efficiency_.max; }

  std::string axes() const {
    std::string s = "<g stroke=\"#333\" fill=\"none\">\n";
    s += "<rect x=\"" + num(kLeft) + "\" y=\"" + num(kTop) + "\" width=\"" + num(kRight - kLeft) +
         "\" height=\"" + num(kBottom - kTop) + "\"/>\n</g>\n";
    // Horizontal grid lines and both y axes' labels, at the same five heights.
    for (int i = 0; i <= 5; ++i) {
      const double y = kBottom - (kBottom - kTop) * i / 5;
      s += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(y) + "\" x2=\"" + num(kRight) +
           "\" y2=\"" + num(y) + "\" stroke=\"#ddd\"/>\n";
      s += "<text x=\"" + num(kLeft - 6) + "\" y=\"" + num(y + 4) +
           "\" text-anchor=\"end\" fill=\"" + kThroughputColor + "\">" +
           tick_label(rate_.step * i) + "</text>\n";
      s += "<text x=\"" + num(kRight + 6) + "\" y=\"" + num(y + 4) + "\" fill=\"" +
           kEfficiencyColor + "\">" + tick_label(efficiency_.step * i) + "%</text>\n";
    }
    // A tick per measured count, skipping labels that would overlap the previous one.
    double last_label = -1e9;
    for (const SweepRow& row : report_.rows) {
      const double px = x(row.workers);
      s += "<line x1=\"" + num(px) + "\" y1=\"" + num(kBottom) + "\" x2=\"" + num(px) + "\" y2=\"" +
           num(kBottom + 5) + "\" stroke=\"#333\"/>\n";
      if (px - last_label < 22) continue;
      last_label = px;
      s += "<text x=\"" + num(px) + "\" y=\"" + num(kBottom + 19) + "\" text-anchor=\"middle\">" +
           std::to_string(row.workers) + "</text>\n";
    }
    s += "<text x=\"" + num((kLeft + kRight) / 2) + "\" y=\"" + num(kBottom + 40) +
         "\" text-anchor=\"middle\">" + (log_scale_ ? "workers (log scale)" : "workers") +
         "</text>\n";
    s += "<text transform=\"translate(22 " + num((kTop + kBottom) / 2) +
         ") rotate(-90)\" text-anchor=\"middle\" fill=\"" + kThroughputColor +
         "\">throughput (jobs/s)</text>\n";
    s += "<text transform=\"translate(" + num(kWidth - 18) + " " + num((kTop + kBottom) / 2) +
         ") rotate(90)\" text-anchor=\"middle\" fill=\"" + kEfficiencyColor +
         "\">parallel efficiency (%)</text>\n";
    return s;
  }

  template <typename Y>
  std::string line(const char* color, Y y) const {
    std::string points;
    std::string markers;
    for (const SweepRow& row : report_.rows) {
      const std::string at = num(x(row.workers)) + "," + num(y(row));
      points += (points.empty() ? "" : " ") + at;
      markers += "<circle cx=\"" + num(x(row.workers)) + "\" cy=\"" + num(y(row)) +
                 "\" r=\"3.5\" fill=\"" + color + "\"/>\n";
    }
    if (points.empty()) return "";
    return "<polyline fill=\"none\" stroke=\"" + std::string(color) +
           "\" stroke-width=\"2\" points=\"" + points + "\"/>\n" + markers;
  }

  // Below the x axis's title, in one row: inside the plot it would hide a line's end.
  std::string legend() const {
    std::string s;
    const double y = kHeight - 20;
    const double x0[] = {(kLeft + kRight) / 2 - 170, (kLeft + kRight) / 2 + 30};
    const char* colors[] = {kThroughputColor, kEfficiencyColor};
    const char* names[] = {"throughput (jobs/s)", "efficiency (%)"};
    for (int i = 0; i < 2; ++i) {
      s += "<line x1=\"" + num(x0[i]) + "\" y1=\"" + num(y) + "\" x2=\"" + num(x0[i] + 24) +
           "\" y2=\"" + num(y) + "\" stroke=\"" + colors[i] + "\" stroke-width=\"2\"/>\n";
      s += "<text x=\"" + num(x0[i] + 32) + "\" y=\"" + num(y + 4) + "\">" + names[i] + "</text>\n";
    }
    return s;
  }

  const SweepReport& report_;
  unsigned low_ = 1, high_ = 1;
  bool log_scale_ = false;
  Axis rate_, efficiency_;
};

}  // namespace

std::string SweepReport::svg() const { return Plot(*this).render(); }

}  // namespace forkpool
