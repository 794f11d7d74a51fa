#include "cli/parse_words.h"

#include <optional>

namespace forkpool::cli {
namespace {

bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

std::string unescape_all(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out += s[i];
  }
  return out;
}

// The end of a quoted string that opens at s[0] (the index of its closing quote), skipping
// backslash escapes; npos when it never closes.
std::size_t closing_quote(std::string_view s) {
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == s[0]) {
      return i;
    }
  }
  return std::string_view::npos;
}

}  // namespace

std::vector<std::string> perl_shellwords(std::string_view line) {
  while (!line.empty() && is_space(line.front())) line.remove_prefix(1);
  std::vector<std::string> words;
  std::optional<std::string> word;
  while (!line.empty()) {
    if (line[0] == '"' || line[0] == '\'') {
      const std::size_t close = closing_quote(line);
      if (close == std::string_view::npos) return {};
      const std::string_view quoted = line.substr(1, close - 1);
      word = word.value_or("") + (line[0] == '"' ? unescape_all(quoted) : std::string(quoted));
      line.remove_prefix(close + 1);
    } else {
      // Unquoted text up to whitespace, a quote or the end.
      std::size_t i = 0;
      while (i < line.size() && !is_space(line[i]) && line[i] != '"' && line[i] != '\'') {
        if (line[i] == '\\') {
          if (i + 1 == line.size()) return {};
          ++i;
        }
        ++i;
      }
      word = word.value_or("") + unescape_all(line.substr(0, i));
      std::size_t delim = i;
      while (delim < line.size() && is_space(line[delim])) ++delim;
      line.remove_prefix(delim);
      if (delim > i) {
        words.push_back(std::move(*word));
        word.reset();
        continue;
      }
    }
    if (line.empty() && word) words.push_back(std::move(*word));
  }
  return words;
}

}  // namespace forkpool::cli
