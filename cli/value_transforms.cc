// The value transforms behind the replacement strings ({.} {/} {//} {/.}), Perl's \s trim,
// and GNU parallel's shell quoting, each after the Perl it imitates.
#include <algorithm>
#include <string>

#include "cli/job_internal.h"

namespace forkpool::cli::internal {
namespace {

bool is_quote_safe(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '+' || c == '/';
}

// File::Basename's _strip_trailing_sep(): s{(.)/*\z}{$1}s.
void strip_trailing_slashes(std::string& dir) {
  std::size_t end = dir.size();
  while (end > 1 && dir[end - 1] == '/') --end;
  dir.resize(end);
}

// File::Basename's fileparse() on Unix: m{^(.*/)?(.*)}s, with "./" for no directory.
std::pair<std::string, std::string> fileparse(const std::string& path) {
  std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {"./", path};
  return {path.substr(0, slash + 1), path.substr(slash + 1)};
}

std::string perl_dirname(const std::string& path) {
  auto [dir, base] = fileparse(path);
  strip_trailing_slashes(dir);
  if (base.empty()) {
    std::tie(dir, base) = fileparse(dir);
    strip_trailing_slashes(dir);
  }
  return dir;
}

// s:.*/:: without /s: '.' stops at newlines, so the match lies in the first line that has a
// slash, and runs from that line's start to its last slash.
std::string strip_to_basename(const std::string& value) {
  std::size_t line_start = 0;
  while (line_start <= value.size()) {
    std::size_t line_end = value.find('\n', line_start);
    if (line_end == std::string::npos) line_end = value.size();
    std::size_t slash = value.rfind('/', line_end == 0 ? 0 : line_end - 1);
    if (slash != std::string::npos && slash >= line_start && slash < line_end) {
      return value.substr(0, line_start) + value.substr(slash + 1);
    }
    line_start = line_end + 1;
  }
  return value;
}

// s:\.[^/.]*$:: — the last dot, unless a slash follows it.
std::string strip_extension(const std::string& value) {
  std::size_t dot = value.rfind('.');
  if (dot == std::string::npos || value.find('/', dot) != std::string::npos) return value;
  return value.substr(0, dot);
}

}  // namespace

std::string shell_quote(std::string_view value) {
  if (value.empty()) return "''";
  if (std::all_of(value.begin(), value.end(), [](char c) { return is_quote_safe(c); })) {
    return std::string(value);
  }
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') {
      out += "'\"'\"'";
    } else {
      out += c;
    }
  }
  out += '\'';
  if (out.compare(0, 2, "''") == 0) out.erase(0, 2);
  if (out.size() >= 2 && out.compare(out.size() - 2, 2, "''") == 0) out.resize(out.size() - 2);
  return out;
}

std::string csh_quote(std::string_view value) {
  // GNU parallel's shell_quote_scalar_csh(): a backslash before each special character
  // (control characters but NUL, \n and ESC; #?`(){}[]^*<=>~|; "!$&'\\ and space; bytes from
  // 0x82 up), and a newline as "\\\n".
  static constexpr std::string_view kSpecial = "\\#?`(){}[]^*<=>~|; \"!$&'";
  std::string out;
  bool replaced = false;
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\"\\\n\"";
      replaced = true;
      continue;
    }
    if ((byte >= 0x02 && byte <= 0x09) || (byte >= 0x0b && byte <= 0x1a) || byte >= 0x82 ||
        kSpecial.find(c) != std::string_view::npos) {
      out += '\\';
      replaced = true;
    }
    out += c;
  }
  if (replaced) return out;
  if (value.empty()) return "''";
  if (value == std::string_view("\0", 1)) return "";
  return out;
}

std::string quote_for(std::string_view value, bool csh) {
  return csh ? csh_quote(value) : shell_quote(value);
}

std::string trim_value(std::string_view value, Trim trim) {
  std::size_t begin = 0;
  std::size_t end = value.size();
  if (trim == Trim::kLeft || trim == Trim::kBoth)
    while (begin < end && is_perl_space(value[begin])) ++begin;
  if (trim == Trim::kRight || trim == Trim::kBoth)
    while (end > begin && is_perl_space(value[end - 1])) --end;
  return std::string(value.substr(begin, end - begin));
}

Trim trim_of(const RunOptions& options) {
  if (!options.trim) return options.colsep ? Trim::kBoth : Trim::kNone;
  const std::string& t = *options.trim;
  if (t == "n") return Trim::kNone;
  if (t == "l") return Trim::kLeft;
  if (t == "r") return Trim::kRight;
  if (t == "lr" || t == "rl") return Trim::kBoth;
  throw UsageError("--trim must be one of: r l rl lr");
}

std::string trim_space(std::string_view value) {
  std::size_t begin = 0;
  std::size_t end = value.size();
  while (begin < end && is_perl_space(value[begin])) ++begin;
  while (end > begin && is_perl_space(value[end - 1])) --end;
  return std::string(value.substr(begin, end - begin));
}

std::string apply_transform(std::string value, Transform transform) {
  switch (transform) {
    case Transform::kDot:
      return strip_extension(value);
    case Transform::kBase:
      return strip_to_basename(value);
    case Transform::kDir:
      return perl_dirname(value);
    case Transform::kBaseDot:
      return strip_extension(strip_to_basename(value));
    default:
      return value;
  }
}

}  // namespace forkpool::cli::internal
