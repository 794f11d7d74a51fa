// --files: each job's stdout kept in a file of its own under $TMPDIR, whose name is printed
// instead of the output. The files outlive the run: they are the user's to read and remove.
#pragma once

#include <string>

#include "cli/job_output.h"

namespace forkpool::cli {

// Moves a job's stdout into a new file $TMPDIR/parXXXXXX.par and returns its name. Output a
// worker spooled (`spooled_path`, in the run's spool directory under the same $TMPDIR) is
// renamed, not copied; output in memory (`out`) is written. Throws std::system_error.
std::string keep_output_file(const JobStream& out, const std::string& spooled_path);

}  // namespace forkpool::cli
