// --results NAME.csv, NAME.tsv or NAME.json: one table of every job, as GNU parallel 20221122
// writes it, instead of a directory of files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/job_output.h"
#include "io/fd.h"

namespace forkpool::cli {

// What a --results name asks for. GNU parallel goes by the name's ending, in any case.
enum class ResultsFormat { kDirectory, kCsv, kTsv, kJson };
ResultsFormat results_format(std::string_view name);

// One finished job's row.
struct ResultsRow {
  std::uint64_t seq = 0;
  double start_time = 0;  // seconds since the epoch
  double runtime = 0;     // seconds
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  int exitval = 0;
  int signal = 0;
  std::string command;
  std::vector<std::string> values;  // the job's arguments, untrimmed: V1..Vn
};

class ResultsTable {
 public:
  ResultsTable() = default;  // writes nothing
  // Opens `name` for writing (truncated), or stdout for "-.csv", "-.tsv" and "-.json" (GNU
  // parallel then prints nothing else on stdout). Throws UsageError if it cannot be opened.
  ResultsTable(const std::string& name, ResultsFormat format);

  bool active() const { return fd_ >= 0; }
  // Whether the table is written to stdout: the jobs' own output is then dropped.
  bool on_stdout() const { return owned_.get() < 0 && fd_ >= 0; }
  // Appends the row with the job's output; CSV and TSV start with a header line naming
  // V1..Vn after the first row's arguments. Streams the output a chunk at a time, so a spooled
  // stream is never held whole. Throws StdoutClosed (on stdout) or std::system_error.
  void write(const ResultsRow& row, const JobStream& out, const JobStream& err);
  // --header: the CSV and TSV header names the value columns after the input's columns
  // instead of V1..Vn, leaving out those without a name (as GNU parallel does).
  void name_columns(std::vector<std::optional<std::string>> names) {
    names_ = std::move(names);
    named_ = true;
  }

 private:
  void write_csv(const ResultsRow& row, const JobStream& out, const JobStream& err);
  void write_json(const ResultsRow& row, const JobStream& out, const JobStream& err);
  void put(std::string_view text);

  ResultsFormat format_ = ResultsFormat::kDirectory;
  io::Fd owned_;
  int fd_ = -1;
  bool header_written_ = false;
  bool named_ = false;
  std::vector<std::optional<std::string>> names_;
};

}  // namespace forkpool::cli
