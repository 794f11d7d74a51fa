// `forkpool run`: GNU parallel's everyday subset, with jobs started by persistent forkpool
// workers running the built-in exec task.
#pragma once

#include <span>
#include <string>

namespace forkpool::cli {

// Runs `forkpool run` with the words after "run". Returns the exit status: 0 when every job
// succeeded, the number of failed jobs (1-100), 101 for more, --halt's status when it
// stopped the run, 128+N after signal N stopped it, 255 for an error of forkpool's own
// (a malformed option, an unreadable file), reported in one line on stderr before any job.
int run_command(std::span<const std::string> args);

}  // namespace forkpool::cli
