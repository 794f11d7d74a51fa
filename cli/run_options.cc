#include "cli/run_options.h"

namespace forkpool::cli {

const char* const kRunUsage = "usage: forkpool run [options] COMMAND [ARGS] ::: values :::: files\n";

RunOptions parse_run_options(std::span<const std::string>) {
  throw UsageError("not implemented yet");
}

unsigned resolve_jobs(const std::string&, unsigned cpus) { return cpus; }

}  // namespace forkpool::cli
