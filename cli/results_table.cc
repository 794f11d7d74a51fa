// The --results table: GNU parallel 20221122's print_csv (with its combine_ref quoting) and
// print_json, column for column.
#include "cli/results_table.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "cli/run_options.h"
#include "io/syscalls.h"

namespace forkpool::cli {
namespace {

bool ends_with_nocase(std::string_view text, std::string_view suffix) {
  if (text.size() < suffix.size()) return false;
  return std::equal(suffix.begin(), suffix.end(), text.end() - suffix.size(),
                    [](char a, char b) { return std::tolower(a) == std::tolower(b); });
}

// GNU parallel quotes a CSV/TSV column holding a double quote, the separator, a NUL or what
// Perl's \s matches in a byte string: space, \t, \n, \v, \f, \r.
bool needs_quotes(std::string_view text, char separator) {
  return text.find_first_of(std::string_view("\" \t\n\v\f\r\0", 8)) != std::string_view::npos ||
         text.find(separator) != std::string_view::npos;
}

void append_doubling_quotes(std::string_view text, std::string& out) {
  for (char c : text) {
    out += c;
    if (c == '"') out += '"';
  }
}

// print_json's jsonquote: backslash and double quote escaped, control bytes as \u00XX, every
// other byte as it is (GNU parallel does not check UTF-8).
void append_json_quoted(std::string_view text, std::string& out) {
  for (unsigned char c : text) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
}

std::string format_number(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

}  // namespace

ResultsFormat results_format(std::string_view name) {
  if (ends_with_nocase(name, ".csv")) return ResultsFormat::kCsv;
  if (ends_with_nocase(name, ".tsv")) return ResultsFormat::kTsv;
  if (ends_with_nocase(name, ".json")) return ResultsFormat::kJson;
  return ResultsFormat::kDirectory;
}

ResultsTable::ResultsTable(const std::string& name, ResultsFormat format) : format_(format) {
  if (name == "-.csv" || name == "-.tsv" || name == "-.json") {
    fd_ = STDOUT_FILENO;
    return;
  }
  owned_ = io::Fd(::open(name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
  if (!owned_)
    throw UsageError("cannot open the results file '" + name + "': " + std::strerror(errno));
  fd_ = owned_.get();
}

void ResultsTable::write(const ResultsRow& row, const JobStream& out, const JobStream& err) {
  if (!active()) return;
  if (format_ == ResultsFormat::kJson) {
    write_json(row, out, err);
  } else {
    write_csv(row, out, err);
  }
}

void ResultsTable::write_csv(const ResultsRow& row, const JobStream& out, const JobStream& err) {
  const char sep = format_ == ResultsFormat::kTsv ? '\t' : ',';
  auto column = [sep](std::string_view text, std::string& line) {
    if (!needs_quotes(text, sep)) {
      line.append(text);
      return;
    }
    line += '"';
    append_doubling_quotes(text, line);
    line += '"';
  };
  std::string line;
  if (!header_written_) {
    header_written_ = true;
    for (const char* name : {"Seq", "Host", "Starttime", "JobRuntime", "Send", "Receive", "Exitval",
                             "Signal", "Command"})
      (line += name) += sep;
    for (std::size_t i = 1; i <= row.values.size(); ++i) {
      if (!named_) {
        (line += "V" + std::to_string(i)) += sep;
      } else if (i <= names_.size() && names_[i - 1]) {  // GNU parallel leaves out the rest
        column(*names_[i - 1], line);
        line += sep;
      }
    }
    line += "Stdout";
    line += sep;
    line += "Stderr\n";
  }
  for (const std::string& field :
       {std::to_string(row.seq), std::string(":"), format_number("%.3f", row.start_time),
        format_number("%0.3f", row.runtime), std::to_string(row.sent), std::to_string(row.received),
        std::to_string(row.exitval), std::to_string(row.signal)})
    (line += field) += sep;
  column(row.command, line);
  for (const std::string& value : row.values) column(value, (line += sep));
  put(line);
  // The output columns, streamed: one pass decides the quoting, the second writes.
  for (const JobStream* stream : {&out, &err}) {
    bool quote = false;
    stream->read_chunks([&](std::string_view chunk) { quote = quote || needs_quotes(chunk, sep); });
    put(std::string(1, sep) + (quote ? "\"" : ""));
    stream->read_chunks([&](std::string_view chunk) {
      std::string text;
      append_doubling_quotes(chunk, text);
      put(text);
    });
    if (quote) put("\"");
  }
  put("\n");
}

void ResultsTable::write_json(const ResultsRow& row, const JobStream& out, const JobStream& err) {
  std::string line = "{ \"Seq\": " + std::to_string(row.seq) +
                     ", \"Host\": \":\", \"Starttime\": " + format_number("%.3f", row.start_time) +
                     ", \"JobRuntime\": " + format_number("%0.3f", row.runtime) +
                     ", \"Send\": " + std::to_string(row.sent) +
                     ", \"Receive\": " + std::to_string(row.received) +
                     ", \"Exitval\": " + std::to_string(row.exitval) +
                     ", \"Signal\": " + std::to_string(row.signal) + ", \"Command\": \"";
  append_json_quoted(row.command, line);
  line += "\", \"V\": [ ";
  for (std::size_t i = 0; i < row.values.size(); ++i) {
    line += i == 0 ? "\"" : ",\"";
    append_json_quoted(row.values[i], line);
    line += '"';
  }
  line += " ], \"Stdout\": \"";
  put(line);
  for (const JobStream* stream : {&out, &err}) {
    if (stream == &err) put("\", \"Stderr\": \"");
    stream->read_chunks([&](std::string_view chunk) {
      std::string text;
      append_json_quoted(chunk, text);
      put(text);
    });
  }
  put("\" }\n");
}

void ResultsTable::put(std::string_view text) { write_log_file(fd_, text); }

}  // namespace forkpool::cli
