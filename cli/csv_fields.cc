#include "cli/csv_fields.h"

namespace forkpool::cli {
namespace {

[[noreturn]] void unexpected(std::string_view record, std::string_view why) {
  // One line: the record's newlines are shown as \n.
  std::string shown;
  for (char c : record.substr(0, 200)) shown += c == '\n' ? std::string("\\n") : std::string(1, c);
  if (record.size() > 200) shown += "...";
  throw UsageError("CSV has unexpected format (" + std::string(why) + "): " + shown);
}

}  // namespace

void settle_csv_options(RunOptions& options) {
  if (!options.csv) return;
  // GNU parallel's --pipe cuts blocks at CSV records; --pipepart ignores --csv.
  options.pipe.csv = options.pipe.mode == PipeOptions::Mode::kPipe;
  if (!options.colsep) {
    options.colsep = ",";
    if (!options.trim) options.trim = "n";
  }
  CsvFields check(*options.colsep);  // refuses a separator Text::CSV would refuse, now
}

CsvFields::CsvFields(std::string separator) : separator_(std::move(separator)) {
  if (separator_.empty()) throw UsageError("--csv needs a non-empty --colsep");
  if (separator_.find('"') != std::string::npos)
    throw UsageError("--csv cannot use a --colsep holding '\"', the quote character");
}

std::vector<std::string> CsvFields::split(std::string_view record) const {
  std::vector<std::string> fields;
  std::size_t at = 0;
  for (;;) {
    std::string field;
    if (at < record.size() && record[at] == '"') {
      // A quoted field: up to the '"' that is not doubled, which a separator or the end of
      // the record must follow.
      for (++at;; ++at) {
        if (at == record.size()) unexpected(record, "a quoted field is not terminated");
        if (record[at] != '"') {
          field += record[at];
        } else if (at + 1 < record.size() && record[at + 1] == '"') {
          field += '"';
          ++at;
        } else {
          ++at;
          break;
        }
      }
      const bool ends = at == record.size() || record[at] == '\n' ||
                        record.compare(at, separator_.size(), separator_) == 0;
      if (!ends) unexpected(record, "text after a quoted field");
    } else {
      const std::size_t sep = record.find(separator_, at);
      const std::size_t end = std::min(sep, record.find('\n', at));
      field = std::string(record.substr(at, end == std::string_view::npos ? end : end - at));
      if (field.find('"') != std::string::npos) unexpected(record, "a '\"' in an unquoted field");
      at += field.size();
    }
    fields.push_back(std::move(field));
    if (at == record.size() || record[at] == '\n') return fields;
    at += separator_.size();  // a separator: another field follows, if only an empty one
  }
}

}  // namespace forkpool::cli
