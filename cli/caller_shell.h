// Which shell runs the jobs: the one GNU parallel 20221122 would pick, so that what works in
// the caller's shell (bash's exported functions: `export -f f; parallel f ::: a`) works in
// the jobs.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace forkpool::cli {

// $PARALLEL_SHELL, else the nearest shell among this process's ancestors (GNU parallel's
// parent_shell(): argv[0] of each ancestor, read from /proc, matched against the names of
// the known shells, then looked up in $PATH), else $SHELL, else /bin/sh. Resolved to a path
// through $PATH when it has no slash. Throws UsageError ("shell 'X' not found") when the
// chosen shell is not an executable file, as GNU parallel stops with exit 255.
std::string caller_shell();

// The shell named by an ancestor's argv[0] ("/bin/bash", "-bash", "[sh]", "busybox sh"), as
// parent_shell() recognizes it: the shell's name and whether it had a login dash. Nothing
// for anything else ("sshd", "foo.sh", "/usr/bin/perl").
struct ShellName {
  std::string name;
  bool login_dash = false;
};
std::optional<ShellName> shell_in_argv0(std::string_view argv0);

// GNU parallel's which(): the executable, non-directory files named `program` in each $PATH
// directory (and `program` itself when it has a slash), in that order.
std::vector<std::string> which(const std::string& program);

}  // namespace forkpool::cli

namespace forkpool::cli {

// Whether a plain command (see direct_argv) may be exec'd without `shell`: true for sh, dash
// and bash, unless the environment carries what bash would run first (exported functions,
// BASH_ENV), which could redefine the command.
bool shell_can_be_skipped(const std::string& shell);

// Whether GNU parallel quotes values for (t)csh: a shell whose path matches
// m:(/[-a-z]*)?csh:.
bool is_csh(const std::string& shell);

// GNU parallel quotes values its own way for rc (m:(^|/)rc$:), which forkpool does not do,
// and for csh also in the commands it sends to other hosts, whose jobs forkpool runs in sh:
// such a run is refused rather than quoted differently. Throws UsageError, which suggests
// PARALLEL_SHELL=/bin/sh.
void check_quoting_for(const std::string& shell, bool remote);

}  // namespace forkpool::cli
