// --colsep: splitting an input line into columns on a Perl regular expression.
#include <regex.h>

#include <cctype>
#include <memory>
#include <string>

#include "cli/job_internal.h"

namespace forkpool::cli::internal {

std::string perl_to_posix_regex(const std::string& perl) {
  std::string out;
  bool in_bracket = false;
  std::size_t bracket_start = 0;
  for (std::size_t i = 0; i < perl.size(); ++i) {
    char c = perl[i];
    if (c == '\\' && i + 1 < perl.size()) {
      char d = perl[++i];
      switch (d) {
        case 't':
          out += '\t';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 'f':
          out += '\f';
          break;
        case 'e':
          out += '\x1b';
          break;
        case 's':
          out += in_bracket ? "[:space:]" : "[[:space:]]";
          break;
        case 'd':
          out += in_bracket ? "0-9" : "[0-9]";
          break;
        case 'w':
          out += in_bracket ? "[:alnum:]_" : "[[:alnum:]_]";
          break;
        case 'S':
        case 'D':
        case 'W':
          if (in_bracket) {
            throw UsageError("--colsep '" + perl + "': \\" + std::string(1, d) +
                             " inside [...] is not supported");
          }
          out += d == 'S' ? "[^[:space:]]" : d == 'D' ? "[^0-9]" : "[^[:alnum:]_]";
          break;
        default:
          if (std::isalnum(static_cast<unsigned char>(d))) {
            throw UsageError("--colsep '" + perl + "': the escape \\" + std::string(1, d) +
                             " is not supported");
          }
          if (in_bracket) {
            out += d;
          } else {
            out += '\\';
            out += d;
          }
      }
      continue;
    }
    if (!in_bracket && c == '[') {
      in_bracket = true;
      out += c;
      if (i + 1 < perl.size() && perl[i + 1] == '^') out += perl[++i];
      bracket_start = out.size();
      continue;
    }
    if (in_bracket && c == ']' && out.size() > bracket_start) in_bracket = false;
    out += c;
  }
  return out;
}

struct ColumnSplitter::Impl {
  regex_t regex;
};

ColumnSplitter::ColumnSplitter(const std::string& perl_regex) {
  // Owned here until regcomp succeeds: either step may throw.
  auto impl = std::make_unique<Impl>();
  std::string posix = perl_to_posix_regex(perl_regex);
  if (int rc = ::regcomp(&impl->regex, posix.c_str(), REG_EXTENDED); rc != 0) {
    char message[256];
    ::regerror(rc, &impl->regex, message, sizeof message);
    throw UsageError("invalid --colsep regex '" + perl_regex + "': " + message);
  }
  impl_ = impl.release();
}

ColumnSplitter::~ColumnSplitter() {
  ::regfree(&impl_->regex);
  delete impl_;
}

std::vector<std::string> ColumnSplitter::split(const std::string& line) const {
  // Perl's split /RE/, $line, -1: empty fields are kept, except that an empty match never
  // makes a field at the start of the line or right where the previous match ended.
  std::vector<std::string> fields;
  std::size_t field_start = 0;
  std::size_t pos = 0;
  while (pos <= line.size()) {
    regmatch_t m;
    int flags = pos > 0 ? REG_NOTBOL : 0;
    if (::regexec(&impl_->regex, line.c_str() + pos, 1, &m, flags) != 0) break;
    std::size_t start = pos + static_cast<std::size_t>(m.rm_so);
    std::size_t end = pos + static_cast<std::size_t>(m.rm_eo);
    if (end == start) {
      if (start >= line.size()) break;
      if (start == field_start) {
        pos = start + 1;
        continue;
      }
    }
    fields.push_back(line.substr(field_start, start - field_start));
    field_start = end;
    pos = end == start ? end + 1 : end;
    if (end == start) field_start = start;
  }
  fields.push_back(line.substr(field_start));
  return fields;
}

}  // namespace forkpool::cli::internal
