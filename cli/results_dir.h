// --results DIR, or a --results name with replacement strings: each job's output saved in
// files instead of printed, as GNU parallel 20221122 lays them out.
#pragma once

#include <cstdint>
#include <string>

#include "cli/job_output.h"

namespace forkpool::cli {

// Where one job's output goes.
struct ResultsFiles {
  std::string seq, out, err;
};

// GNU parallel's layout for a job, from the --results name as given (`option`), the same name
// with the job's replacement strings expanded (`expanded`), and the job's arguments as a
// directory path (CommandTemplate::results_subdir):
//  - a name without replacement strings (it expands to itself) is a directory:
//    option/subdir/seq, .../stdout and .../stderr;
//  - an expansion ending in '/' is that directory, without the arguments' subdirectories;
//  - any other expansion names the stdout file itself, with .err and .seq beside it.
// The paths are spelled as GNU parallel spells them (--files prints the stdout one).
ResultsFiles results_files(const std::string& option, const std::string& expanded,
                           const std::string& subdir);

// Writes the seq, stdout and stderr files, creating the directories they need. On failure
// returns false with `failed_path` naming the file that could not be written (errno set).
bool save_results(const ResultsFiles& files, std::uint64_t seq, const JobStream& out,
                  const JobStream& err, std::string& failed_path);

// --dry-run: the seq file and an empty stderr file, and no stdout file, as GNU parallel
// leaves them. Returns false as save_results does.
bool save_dry_run_results(const ResultsFiles& files, std::uint64_t seq, std::string& failed_path);

}  // namespace forkpool::cli
