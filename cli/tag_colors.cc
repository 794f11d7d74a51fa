// GNU parallel 20221122's init_color() and color().
#include "cli/tag_colors.h"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <utility>
#include <vector>

namespace forkpool::cli {
namespace {

// The output of `sh -c "tput CAPABILITY </dev/tty" 2>/dev/null`, its last newline removed.
std::string tput(const char* capability) {
  const std::string command =
      std::string("sh -c \"tput ") + capability + " </dev/tty\" 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");  // NOLINT(cert-env33-c): GNU parallel's own way
  if (pipe == nullptr) return "";
  std::string text;
  char buffer[256];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) text.append(buffer, n);
  ::pclose(pipe);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

// GNU parallel's @color: readable pairs (black or white text on a coloured background, each
// code three digits wide), reordered by (index % 23, then index % 7 descending) so that
// neighbours differ. Perl's sort is stable, hence stable_sort.
std::vector<std::string> palette() {
  std::vector<std::pair<int, int>> pairs;
  auto add = [&](int first, int last, int foreground) {
    for (int c = first; c <= last; ++c) pairs.emplace_back(c, foreground);
  };
  for (auto [first, last] : {std::pair{6, 7},
                             {9, 11},
                             {13, 15},
                             {40, 51},
                             {75, 87},
                             {113, 123},
                             {147, 159},
                             {171, 182},
                             {185, 231},
                             {249, 254}})
    add(first, last, 0);
  for (auto [first, last] : {std::pair{1, 9},
                             {12, 13},
                             {16, 45},
                             {52, 81},
                             {88, 114},
                             {124, 149},
                             {160, 178},
                             {180, 180},
                             {182, 184},
                             {196, 214},
                             {232, 250}})
    add(first, last, 231);
  std::vector<int> order(pairs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [](int a, int b) {
    if (a % 23 != b % 23) return a % 23 < b % 23;
    return a % 7 > b % 7;
  });
  std::vector<std::string> colors;
  for (int i : order) {
    char code[40];
    std::snprintf(code, sizeof code, "\033[48;5;%03d;38;5;%03dm", pairs[i].first, pairs[i].second);
    colors.emplace_back(code);
  }
  return colors;
}

}  // namespace

const LineColor& terminal_codes() {
  static const LineColor codes = [] {
    LineColor c{tput("el"), tput("sgr0")};
    if (c.start.empty()) c.start = "\033[K";
    if (c.reset.empty()) c.reset = "\033[m";
    return c;
  }();
  return codes;
}

LineColor color_of_job(std::uint64_t seq) {
  static const std::vector<std::string> colors = palette();
  return {colors[seq % colors.size()] + terminal_codes().start, terminal_codes().reset};
}

LineColor failed_color() {
  return {"\033[48;5;196;38;5;231m" + terminal_codes().start, terminal_codes().reset};
}

}  // namespace forkpool::cli
