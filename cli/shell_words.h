// Whether a shell command line is a plain program call that can be exec'd without a shell.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace forkpool::cli {

// The argv of `command` if running it through `/bin/sh -c` (or `bash -c`) would do nothing but exec
// a program with those words: plain words and single-quoted strings only (GNU parallel's quoting),
// no expansion, redirection, assignment, comment or control operator, and a program that is not a
// shell builtin or keyword (whose behaviour may differ from the program of the same name: dash's
// echo interprets backslashes, /bin/echo does not). Otherwise nullopt, and the command runs through
// the shell. `true` and `false` are exec'd: the programs behave as the builtins do, except for a
// lone --help or --version, which stays with the shell.
std::optional<std::vector<std::string>> direct_argv(std::string_view command);

}  // namespace forkpool::cli
