#include "cli/run_options.h"

#include <optional>
#include <string_view>

#include "cli/command_sources.h"
#include "cli/csv_fields.h"
#include "cli/option_table.h"
#include "cli/option_values.h"

namespace forkpool::cli {

const char* const kRunUsage =
    "usage: forkpool run [options] [COMMAND [ARGS...]] [::: VALUES...] [:::: FILES...]\n"
    "\n"
    "Runs COMMAND once per input line (or per combination of ::: / :::: values), like GNU\n"
    "parallel. Input comes from ::: values, :::: files, -a FILE, or stdin. :::+ and ::::+\n"
    "pair a source with the previous one instead of crossing it.\n"
    "\n"
    "Replacement strings: {} {.} {/} {//} {/.} {#} {%} and {N} {N.} {N/} {N//} {N/.} (N may\n"
    "be negative), {= perl expression =}. Without any, the arguments are appended,\n"
    "shell-quoted. Jobs run in the caller's shell ($PARALLEL_SHELL, else the nearest shell\n"
    "among the ancestors). Default options come from $PARALLEL and ~/.parallel/config.\n"
    "\n"
    "Options:\n"
    "  -j, --jobs N         job slots: N, N%, +N, -N (default 100% of the CPUs; 0: many)\n"
    "  -k, --keep-order     print output in input order\n"
    "  --group              print each job's output when it ends (default)\n"
    "  --line-buffer, --lb  print whole lines as they arrive\n"
    "  -u, --ungroup        let jobs write straight to the output\n"
    "  --tag                prefix output lines with the arguments and a tab\n"
    "  --tagstring STR      prefix output lines with STR (replacement strings allowed)\n"
    "  --color, --ctag, --ctagstring STR, --color-failed  each job's lines in a colour\n"
    "  -0, --null           input records end with NUL instead of newline\n"
    "  -C, --colsep REGEX   split input lines into columns {1} {2} ...\n"
    "  --csv                input records are CSV (split at --colsep, default ,)\n"
    "  --header :           the first input line names the columns: {name} (and the\n"
    "                       --results directories)\n"
    "  -L N                 N input lines per job (a line ending in a blank goes on)\n"
    "  -q, --quote          quote the command words\n"
    "  -n, --max-args N     arguments per command line\n"
    "  -N, --max-replace-args N  like -n, with context replace\n"
    "  -X                   as many arguments as fit, with context replace\n"
    "  -m                   as many arguments as fit\n"
    "  -s, --max-chars N    limit the length of a command line\n"
    "  -a, --arg-file FILE  read input from FILE (repeatable; - is stdin)\n"
    "  --dry-run            print the commands instead of running them\n"
    "  --joblog FILE        log finished jobs to FILE\n"
    "  --resume, --resume-failed  skip jobs the joblog shows as done (or succeeded)\n"
    "  --retries N          run a failing job up to N times\n"
    "  --timeout SECS|N%    kill jobs that run longer\n"
    "  --halt WHEN,WHY=N    stop early: e.g. now,fail=1 or soon,success=50%\n"
    "  --delay SECS         wait between job starts\n"
    "  --memfree SIZE, --load MAX, --limit CMD  start a job only when there is room for it\n"
    "  --nice N             run the jobs at niceness N\n"
    "  --termseq SIG,MS,... how jobs are stopped (default TERM,200,TERM,100,TERM,50,KILL,25)\n"
    "  --shuf               run the jobs in random order\n"
    "  --results DIR        save each job's output under DIR (or NAME.csv/.tsv/.json: one\n"
    "                       table; a name with replacement strings: one file per job)\n"
    "  --files              print the name of a file holding each job's output instead\n"
    "  --bar, --eta, --progress  show progress on stderr\n"
    "  --plus, -I STR, --rpl 'STR PERL', --er/--bnr/--dnr/--bner/--seqreplace/--slotreplace STR\n"
    "                       more replacement strings, or other spellings of the built-in ones\n"
    "  --parens STR, -i[STR], --replace[=STR]  other spellings of {= =} and of {}\n"
    "  -d, --delimiter C    input records end with C\n"
    "  -E STR               input ends at a record equal to STR\n"
    "  -r                   skip blank input records\n"
    "  --link               pair the input sources instead of crossing them\n"
    "  --arg-sep, --arg-file-sep SEP  other spellings of ::: and ::::\n"
    "  -t, --verbose        print each command on stderr as it starts\n"
    "  --shellquote         print the commands quoted instead of running them\n"
    "  --process-slot-var NAME, --total-jobs N, --env NAME, --record-env, --plain, -J NAME\n"
    "  --pipe, --pipepart   give each job a block of the input on stdin (--block SIZE,\n"
    "                       --recstart/--recend, -N, --header, --cat, --round-robin...)\n"
    "  -S, --sshlogin [N/]HOST[,...]  run jobs on HOST through ssh (N workers; : is here)\n"
    "  --sshloginfile FILE  read -S logins from FILE, one a line\n"
    "  --launcher srun      run the workers as steps of the Slurm allocation\n"
    "  --data-channel tcp|stdio|auto  how remote workers send results (default auto)\n"
    "  --tf FILE, --transfer, --return FILE, --cleanup, --trc FILE  move files with remote jobs\n"
    "  --wd, --workdir DIR  run each job in DIR (. and ... as GNU parallel)\n"
    "  --bf, --basefile FILE  send FILE to each remote worker before its first job\n"
    "  --will-cite          accepted and ignored\n"
    "Long options may be abbreviated. GNU parallel options not listed here are refused.\n";

namespace {

// Walks the words before the command, applying each option from the table.
class OptionParser {
 public:
  OptionParser(std::span<const std::string> args, RunOptions& o, ParseState& st)
      : args_(args), o_(o), table_(option_table(st)) {}

  // Applies every option; returns the index of the first word after them.
  std::size_t parse() {
    for (; i_ < args_.size(); ++i_) {
      const std::string& word = args_[i_];
      if (word == "--") return i_ + 1;
      if (word.size() < 2 || word[0] != '-') break;  // the command starts here
      if (word[1] == '-') {
        parse_long(word.substr(2));
      } else {
        parse_short_bundle(word);
      }
    }
    return i_;
  }

 private:
  // --name, --name=value or --name value.
  void parse_long(std::string name) {
    std::optional<std::string> value;
    if (std::size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const OptionSpec* spec = &resolve_long(table_, name);
    std::string shown = "--" + name;
    if (!spec->in_batch) o_.run_only.push_back(shown);
    if (spec->arity == Arity::kFlag) {
      if (value) throw UsageError("option " + shown + " does not take a value");
      spec->apply(o_, shown, "");
      return;
    }
    if (!value) value = spec->arity == Arity::kOptional ? optional_word() : next_word(shown);
    spec->apply(o_, shown, *value);
  }

  // A bundle of short options: -kq, -j2, -kj 2.
  void parse_short_bundle(const std::string& word) {
    for (std::size_t k = 1; k < word.size(); ++k) {
      const OptionSpec* spec = &resolve_short(table_, word[k]);
      std::string shown = std::string("-") + word[k];
      if (!spec->in_batch) o_.run_only.push_back(shown);
      if (spec->arity == Arity::kFlag) {
        spec->apply(o_, shown, "");
        continue;
      }
      if (k + 1 < word.size()) {
        spec->apply(o_, shown, word.substr(k + 1));
      } else {
        spec->apply(o_, shown,
                    spec->arity == Arity::kOptional ? optional_word() : next_word(shown));
      }
      return;
    }
  }

  // The word after an option that needs a value.
  std::string next_word(const std::string& shown) {
    if (i_ + 1 == args_.size()) throw UsageError("option " + shown + " needs a value");
    return args_[++i_];
  }

  // The value of an option whose value may be left out (-i, --replace), as Getopt::Long
  // takes it: the next word, unless there is none, or it is "--" or looks like an option
  // ("-" alone is a value); then "" and the word stays.
  std::string optional_word() {
    if (i_ + 1 == args_.size()) return "";
    const std::string& word = args_[i_ + 1];
    if (word == "--" || (word.size() > 1 && word[0] == '-')) return "";
    return args_[++i_];
  }

  std::span<const std::string> args_;
  RunOptions& o_;
  const std::vector<OptionSpec> table_;
  std::size_t i_ = 0;
};

// -n / -N / -X / -m as GNU parallel combines them: -N wins over -n, and turns on context
// replace; -m / -X without a count fill the line.
ArgsPerJob settle_args_per_job(const ParseState& st) {
  ArgsPerJob apj;
  apj.multiple = st.m;
  apj.fill_line = st.m || st.x;
  apj.context = st.x || st.max_replace_args_given;
  apj.numbered = st.max_replace_args_given;
  std::optional<std::size_t> count;
  if (st.max_args_given) count = st.max_args;
  if (st.max_replace_args_given) count = st.max_replace_args;
  if (count && *count == 0) {
    apj.no_args = true;
    apj.max_args = (st.m || st.x) ? 0 : 1;
  } else if (count) {
    apj.max_args = *count;
  } else {
    apj.max_args = (st.m || st.x) ? 0 : 1;
  }
  return apj;
}

}  // namespace

RunOptions parse_run_options(std::span<const std::string> args,
                             const std::vector<std::vector<std::string>>& defaults) {
  RunOptions o;
  ParseState st;
  std::vector<std::string> words;  // after the options: the command and the sources
  for (const std::vector<std::string>& group : defaults) {
    const std::size_t rest = OptionParser(group, o, st).parse();
    words.insert(words.end(), group.begin() + static_cast<std::ptrdiff_t>(rest), group.end());
  }
  const std::size_t command_start = OptionParser(args, o, st).parse();
  words.insert(words.end(), args.begin() + static_cast<std::ptrdiff_t>(command_start), args.end());
  o.args_per_job = settle_args_per_job(st);
  // GNU parallel's --tag is an empty {= =}: the arguments, whatever -I renames {} to.
  if (o.tag && !st.tagstring) st.tagstring = o.replacements.parens;
  if (st.tagstring) o.tagstring = unquote_printf(*st.tagstring);
  if (o.dry_run) o.output = OutputMode::kGroup;  // as GNU parallel: --dry-run forces --group
  split_command_and_sources(words, o, st.arg_files);
  std::optional<std::size_t> records;  // -N: records per job under --pipe
  if (st.max_replace_args_given) records = st.max_replace_args;
  if (st.max_args_given && !st.max_replace_args_given) records = st.max_args;
  finish_pipe_options(o, records);
  settle_csv_options(o);
  if (!o.pipe.on() && o.pipe.lines_per_record != 0) {
    if (!records) o.args_per_job.max_args = o.pipe.lines_per_record;
    o.args_per_job.context = o.args_per_job.context || o.lines_context;
    o.continue_lines = true;
  }
  return o;
}

}  // namespace forkpool::cli
