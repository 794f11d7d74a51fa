// The command lines `forkpool run` is compared on against GNU parallel (run_compat_test.cc
// runs them), and the fixture files they read. A table, kept apart from the harness.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace forkpool::testing {

// What a case compares besides stdout and the exit status.
enum Check : unsigned {
  kStderr = 1u << 0,     // stderr too (only where both tools' stderr is the jobs' own)
  kSorted = 1u << 1,     // stdout as sorted lines: the order is random by design (--shuf)
  kExitOnly = 1u << 2,   // an error of the tool itself: the messages differ, compare the status
  kJoblog = 1u << 3,     // the joblog ./log (all columns but the times; those are checked)
  kResults = 1u << 4,    // the tree under ./res, every file's bytes
  kBash = 1u << 5,       // run from `bash -c`, after kBashPrelude (exported functions)
  kShellSh = 1u << 6,    // PARALLEL_SHELL=/bin/sh in the environment of both
  kShellBash = 1u << 7,  // PARALLEL_SHELL=bash (a name, looked up in $PATH)
  // --results tables (./res.csv, ./res.tsv, ./res.json, or rows on stdout): the Starttime and
  // JobRuntime columns checked as GNU parallel formats them, then left out of the comparison.
  kTimes = 1u << 8,
  // --files: the names of $TMPDIR/parXXXXXX.par files in stdout compared as "<file>", and the
  // contents of every such file compared (as a sorted list).
  kTempFiles = 1u << 9,
  // Run from `tcsh -f -c`, with SHELL=/bin/tcsh and no PARALLEL_SHELL: the jobs run in tcsh
  // and values are quoted for it. The case's text must mean the same to tcsh (no '!').
  kTcsh = 1u << 10,
};

// What a kBash case's shell has done before it runs the tool.
constexpr const char* kBashPrelude =
    "greet() { echo \"hi $1\"; }; export -f greet; "
    "twice() { echo \"$1$1\"; echo \"${2:-none}\"; }; export -f twice; "
    "notexported() { echo bad; }; ";

struct CompatCase {
  const char* name;
  const char* args;                  // shell text after the tool's name
  const char* stdin_file = nullptr;  // a fixture file in the working directory, or /dev/null
  unsigned checks = 0;
  const char* first_run = nullptr;  // run first with the same tool (e.g. to write a joblog
                                    // for --resume); its stdout and status are compared too
  // Where forkpool is known to differ: the case is skipped with this reason (but still runs
  // when GNU parallel is on both sides). Remove it once forkpool is fixed.
  const char* known_failure = nullptr;
  // One more NAME=VALUE in the environment of both tools (e.g. PARALLEL=...).
  const char* env = nullptr;
};

inline void PrintTo(const CompatCase& c, std::ostream* out) { *out << c.name << ": " << c.args; }

// Every case, in a stable order; names are unique.
const std::vector<CompatCase>& compat_cases();

// Writes the files every case may use into `dir`, afresh.
void write_fixtures(const std::string& dir);

}  // namespace forkpool::testing
