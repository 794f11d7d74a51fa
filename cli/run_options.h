// The options of `forkpool run`: GNU parallel's everyday subset, parsed from the words that
// follow `run` on the command line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/pipe_options.h"
#include "cli/remote_options.h"

namespace forkpool::cli {

// A malformed command line: the message is one line, without a prefix or a newline; the
// caller prints "forkpool run: <message>" and exits 255 before any job starts.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One input source, in command-line order.
struct InputSource {
  enum class Kind {
    kValues,  // ::: a b c
    kFile,    // :::: FILE, -a FILE ("-" is stdin), or stdin when no source is given
  };
  Kind kind = Kind::kValues;
  std::vector<std::string> values;  // kValues
  std::string path;                 // kFile
  // :::+ / ::::+ : paired element by element with the previous source instead of crossed
  // with it.
  bool linked = false;
  // kFile: its first record is a --header, already read (cli/input_header.h): skip it.
  bool skip_header = false;
};

// How job output reaches forkpool's stdout and stderr.
enum class OutputMode {
  kGroup,       // default: each job's output written whole when the job ends
  kLineBuffer,  // --line-buffer: whole lines as they arrive, never half a line
  kUngroup,     // -u / --ungroup: the job writes straight to forkpool's stdout and stderr
};

// --halt when,why=N: e.g. "now,fail=1", "soon,success=30%", "now,done=3". Also GNU parallel's
// numeric shorthands (0 never, 1 soon,fail=1, 2 now,fail=1).
struct HaltPolicy {
  enum class When { kNever, kSoon, kNow };
  enum class Condition { kFail, kSuccess, kDone };
  When when = When::kNever;
  Condition condition = Condition::kFail;
  double threshold = 1;  // a count of jobs, or a percentage when `percent`
  bool percent = false;
};

// --timeout SECS or --timeout N% (of the median run time of the jobs finished so far).
struct TimeoutSpec {
  double value = 0;  // 0: no timeout
  bool percent = false;
};

// How many input arguments one command line takes.
struct ArgsPerJob {
  // -n N / -N N; 1 by default. 0: no count limit, only the line length (-m / -X without -n).
  std::size_t max_args = 1;
  // -N: {1}..{N} name the arguments. Like GNU parallel, -N also turns on context replace,
  // and a command without replacement strings still gets the arguments appended.
  bool numbered = false;
  bool context = false;   // -X (or -N): context replace (the word around {} repeats per argument)
  bool multiple = false;  // -m: as many arguments as fit on the line (-n caps them)
  // -m or -X: fill the line, and at the end of input spread the last arguments over the job
  // slots (RunOptions::job_slots).
  bool fill_line = false;
  // -n 0 / -N 0: each job still consumes one input record, but inserts nothing for it.
  bool no_args = false;
};

// How the replacement strings are spelled and what they do (see ReplacementStrings).
struct ReplacementOptions {
  bool plus = false;                              // --plus
  std::optional<std::string> replace;             // -I STR: {}
  std::optional<std::string> replace_i;           // -i[STR], --replace[=STR]: after -I ("": {})
  std::optional<std::string> extension;           // --extensionreplace, --er, -U: {.}
  std::optional<std::string> basename;            // --basenamereplace, --bnr: {/}
  std::optional<std::string> dirname;             // --dirnamereplace, --dnr: {//}
  std::optional<std::string> basename_extension;  // --basenameextensionreplace, --bner: {/.}
  std::optional<std::string> seq;                 // --seqreplace: {#}
  std::optional<std::string> slot;                // --slotreplace: {%}
  std::vector<std::string> rpl;                   // --rpl 'STRING PERL', in order
  std::string parens = "{==}";  // --parens: its first half opens {= perl =}, the rest closes it
};

// GNU parallel's usable command-line length on Linux: (measured maximum - 3000) / 2. -m and
// -X fill a command line up to this many bytes; -s / --max-chars may lower it.
inline constexpr std::size_t kDefaultMaxLineLength = 63664;

// --memfree, --load and --limit: the rules that say when a job may start (cli/job_gate.h).
struct ResourceLimits {
  double memfree = 0;  // --memfree SIZE, in bytes; 0: no rule
  // --load MAX as given: N, N.N, N%, +N or -N, as -j counts CPUs ("": no rule).
  std::string load;
  std::string limit;  // --limit "COMMAND" ("": no rule)

  bool any() const { return memfree > 0 || !load.empty() || !limit.empty(); }
};

struct RunOptions {
  // The command template's words as given. Empty: each input line is itself a command.
  std::vector<std::string> command;
  // In order; empty means one kFile source reading stdin.
  std::vector<InputSource> sources;

  std::string jobs = "100%";  // -j / --jobs / -P as given; see resolve_jobs()
  bool keep_order = false;    // -k / --keep-order
  OutputMode output = OutputMode::kGroup;
  bool tag = false;                      // --tag
  std::optional<std::string> tagstring;  // --tagstring STR (replacement strings allowed)
  bool color = false;             // --color, --ctag, --ctagstring: each job's lines in its colour
  bool color_failed = false;      // --color-failed: a failed job's lines white on red
  bool null_separated = false;    // -0 / --null
  std::optional<char> delimiter;  // -d / --delimiter: the record separator (wins over -0)
  std::string end_of_file;        // -E: input ends at a record equal to it ("": never)
  bool skip_blank = false;        // -r / --no-run-if-empty: skip blank records
  bool link = false;              // --link / --xapply: every source linked, as :::+
  std::string arg_sep = ":::";    // --arg-sep
  std::string arg_file_sep = "::::";        // --arg-file-sep
  std::optional<std::string> trim;          // --trim n|l|r|lr|rl (lr by default with --colsep)
  bool verbose = false;                     // -t / --verbose: each command on stderr first
  std::string process_slot_var;             // --process-slot-var NAME: NAME=slot-1 in each job
  std::optional<std::uint64_t> total_jobs;  // --total-jobs N: total_jobs() without reading ahead
  // The jobs' shell is csh or tcsh: values are quoted for it, as GNU parallel quotes them
  // (set by the runner from caller_shell(); cli/caller_shell.h).
  bool csh_quoting = false;
  unsigned shellquote = 0;            // --shellquote, repeatable: print commands quoted
  std::optional<std::string> colsep;  // --colsep REGEX (POSIX extended)
  bool csv = false;  // --csv: records are CSV, split on --colsep taken literally (cli/csv_fields.h)
  bool quote = false;  // -q / --quote
  ReplacementOptions replacements;
  ArgsPerJob args_per_job;
  bool dry_run = false;  // --dry-run: print the commands, run nothing

  std::string joblog;          // --joblog FILE ("" none, "-" stdout), without a leading '+'
  bool joblog_append = false;  // --joblog +FILE: append, without a header
  bool resume = false;
  bool resume_failed = false;
  unsigned retries = 0;  // --retries N: a failing job runs up to N times in all
  TimeoutSpec timeout;
  HaltPolicy halt;
  double delay = 0;  // --delay SECS between job starts
  bool shuffle = false;
  std::string results;  // --results DIR, NAME.csv/.tsv/.json or a template ("" none)
  // --header: GNU parallel's names of the columns (counted across the sources; nullopt where
  // it has none), which --results uses for its directories and its table's header
  // (cli/input_header.h).
  std::vector<std::optional<std::string>> column_names;
  bool files = false;  // --files: print the name of a file holding each job's output

  bool bar = false;       // --bar
  bool eta = false;       // --eta
  bool progress = false;  // --progress

  RemoteRunOptions remote;  // -S, --sshloginfile, --launcher, --data-channel

  bool help = false;  // --help / -h: the runner prints kRunUsage; parsing does not exit
  std::vector<std::string> env_names;  // --env NAME[,NAME...], in order
  bool record_env = false;             // --record-env
  // The options given, as written, that only `forkpool run` itself honours (not run_batch).
  std::vector<std::string> run_only;
  std::size_t max_line_length = kDefaultMaxLineLength;  // -s / --max-chars (lowers only)
  // The job slots JobSource assumes when -m / -X spread the last arguments over the slots
  // (GNU parallel does that at end of input). 0: resolve_jobs(jobs, usable CPUs).
  unsigned job_slots = 0;
  PipeOptions pipe;  // --pipe, --pipepart and their options (cli/pipe_options.h)
  // -L N / --max-lines N without --pipe: N input lines per job (unless -n or -N says how
  // many), and a line that ends in whitespace goes on on the next one (`continue_lines`).
  // -L, not --max-lines, also turns on context replace (`lines_context`), as in GNU parallel.
  bool continue_lines = false;
  bool lines_context = false;
  ResourceLimits resources;  // --memfree, --load, --limit
  int nice = 0;              // --nice N: the jobs' niceness (0: forkpool's own)
  // --termseq SEQ: how jobs are stopped, as ExecRequest::stop_sequence (empty: GNU
  // parallel's TERM,200,TERM,100,TERM,50,KILL,25).
  std::vector<int> termseq;
};

// Parses the words after `run` (argv[2..]), after the `defaults` (default_option_groups():
// the profiles, then $PARALLEL), as GNU parallel does: each group's options are parsed on
// their own, and the words left after them come before the command line's own command.
// Throws UsageError naming the offending option or value. Does not open files (they are opened
// when jobs are read); it only looks whether a -j value names one.
RunOptions parse_run_options(std::span<const std::string> args,
                             const std::vector<std::vector<std::string>>& defaults = {});

// The number of job slots for a -j value, given the CPUs this process may use:
// "N" (0: as many as possible, capped), "N%", "+N", "-N" (at least 1), or a file holding one
// of those (cli/jobs_file.h). Throws UsageError.
unsigned resolve_jobs(const std::string& spec, unsigned cpus);

// The CPUs -j counts from: the affinity mask and cgroup quota (orchestrator::usable_cpus()).
unsigned available_cpus();

// A duration as GNU parallel writes it: "2.5", "30s", "1m30s", "1h", "2d" (units s m h d,
// any case). Returns nullopt for anything else.
std::optional<double> parse_duration(const std::string& text);

// `forkpool run --help`.
extern const char* const kRunUsage;

// One spelling of an option the parser accepts ("-j", "--jobs", "--max-procs", ...).
struct OptionName {
  std::string name;
  bool takes_value = false;  // the next word (an optional value: unless it looks like an option)
};

// Every spelling parse_run_options() accepts, read from its own table: what the manual page
// and the shell completion are checked against, so that they cannot drift from the parser.
std::vector<OptionName> run_option_names();

}  // namespace forkpool::cli
