// --colsep: splitting an input line into columns on a Perl regular expression (PCRE2).
#include <cctype>
#include <memory>
#include <string>

#include "cli/job_internal.h"
#include "cli/regex.h"

namespace forkpool::cli::internal {

struct ColumnSplitter::Impl {
  Regex regex;
};

ColumnSplitter::ColumnSplitter(const std::string& perl_regex)
    : impl_(new Impl{Regex::compile(perl_regex, "--colsep")}) {}

ColumnSplitter::~ColumnSplitter() { delete impl_; }

std::vector<std::string> ColumnSplitter::split(const std::string& line) const {
  // Perl's split /RE/, $line, -1: empty fields are kept, except that an empty match never
  // makes a field at the start of the line or right where the previous match ended; each
  // capture group's text (or "" when it took no part) is a field of its own after the
  // field it ends.
  std::vector<std::string> fields;
  std::size_t field_start = 0;
  std::size_t pos = 0;
  while (pos <= line.size()) {
    const auto groups = impl_->regex.search_groups(line, pos);
    if (groups.empty()) break;
    const auto [start, end] = groups[0];
    if (end == start) {
      if (start >= line.size()) break;
      if (start == field_start) {
        pos = start + 1;
        continue;
      }
    }
    fields.push_back(line.substr(field_start, start - field_start));
    for (std::size_t g = 1; g < groups.size(); ++g) {
      const auto [b, e] = groups[g];
      fields.push_back(b == std::string::npos ? std::string() : line.substr(b, e - b));
    }
    field_start = end;
    pos = end == start ? end + 1 : end;
  }
  fields.push_back(line.substr(field_start));
  return fields;
}

}  // namespace forkpool::cli::internal
