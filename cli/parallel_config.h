// GNU parallel's per-user configuration, which forkpool run honours as GNU parallel 20221122
// does: its config directories, the option profiles, $PARALLEL, and --env's ignored_vars.
#pragma once

#include <span>
#include <string>
#include <vector>

namespace forkpool::cli {

// The existing directories among $PARALLEL_HOME, $XDG_CONFIG_HOME/parallel, each
// $XDG_CONFIG_DIRS/parallel and ~/.parallel, in that order.
std::vector<std::string> config_dirs();
// The first of config_dirs(), else ~/.parallel.
std::string config_dir();

// The default options, before the command line's own, as groups of words: one group for all
// profiles (/etc/parallel/config, each config dir's `config`, ~/.parallelrc; or the profiles
// -J / --profile name instead), then one for $PARALLEL. Each line of a profile and $PARALLEL
// are split like Perl's shellwords(); '#' lines are comments. Nothing with --plain. `args` is
// the command line, scanned (before the command) for --plain and -J. Throws UsageError for a
// -J profile that cannot be read.
std::vector<std::vector<std::string>> default_option_groups(std::span<const std::string> args);

// --record-env: writes the name of every environment variable to config_dir()/ignored_vars.
// Throws UsageError if it cannot.
void record_env();

// --env NAME,...: checks what GNU parallel checks for a local run: `_` needs ignored_vars
// (written by --record-env). Throws UsageError.
void check_env_names(const std::vector<std::string>& names);

}  // namespace forkpool::cli
