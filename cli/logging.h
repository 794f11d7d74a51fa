// The forkpool command line's log level: FORKPOOL_LOG in the environment, then -v/--verbose.
#pragma once

#include <spdlog/common.h>

#include <string>

namespace forkpool::cli {

// The environment variable that sets the log level, in spdlog's SPDLOG_LEVEL syntax:
// "debug", or per logger "forkpool=debug", or both ("warn,forkpool=trace").
inline constexpr const char* kLogEnvironmentVariable = "FORKPOOL_LOG";

// Sets the level of forkpool's logger (forkpool::task_logger(), which also prints the lines
// that workers log): from `log_spec` (the value of FORKPOOL_LOG; "" or null leaves the default,
// info), parsed by spdlog's own cfg::helpers::load_levels; then each -v on the command line
// (`verbosity`) lowers it one step from info, to debug and then trace, whatever the
// environment said. Returns a warning for level names spdlog does not know (it ignores
// them), or "" when there is nothing to say.
std::string configure_logging(const char* log_spec, int verbosity);

}  // namespace forkpool::cli
