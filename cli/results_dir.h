// --results DIR: each job's output saved in files instead of printed, as GNU parallel
// 20221122 lays them out.
#pragma once

#include <cstdint>
#include <string>

#include "cli/job_output.h"

namespace forkpool::cli {

// Writes `dir`/seq, `dir`/stdout and `dir`/stderr, creating `dir` as needed. On failure
// returns false with `failed_path` naming the file that could not be written (errno set).
bool save_results(const std::string& dir, std::uint64_t seq, const JobStream& out,
                  const JobStream& err, std::string& failed_path);

}  // namespace forkpool::cli
