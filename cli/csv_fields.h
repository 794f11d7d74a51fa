// --csv: splitting an input record into fields as GNU parallel 20221122 does it, through Perl's
// Text::CSV with { binary => 1, sep_char => --colsep or "," }.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cli/run_options.h"

namespace forkpool::cli {

// --csv as GNU parallel settles it: the separator is --colsep, else ","; --trim's default
// (lr under --colsep) is settled before --csv supplies its ",", so without --colsep nothing is
// trimmed. Refuses --csv with --pipe and with -L (GNU parallel splits blocks at CSV records
// there; not done).
void settle_csv_options(RunOptions& options);

// A record parser with Text::CSV's defaults: the quote and escape character are '"', a quoted
// field may hold the separator, newlines and "" (one '"'); no whitespace is allowed around a
// quoted field, and a '"' inside an unquoted field is an error. The separator is taken
// literally, whatever its length (Text::CSV_PP, the module GNU parallel loads here, does so).
class CsvFields {
 public:
  // Throws UsageError for an empty separator or one holding '"' (Text::CSV refuses them).
  explicit CsvFields(std::string separator);

  // The fields of `record`. An unquoted newline ends the record (Text::CSV's end of line).
  // Throws UsageError ("CSV has unexpected format: ...") for a record Text::CSV cannot parse:
  // GNU parallel stops there.
  std::vector<std::string> split(std::string_view record) const;

 private:
  std::string separator_;
};

}  // namespace forkpool::cli
