#include "cli/run_options.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string_view>

#include "orchestrator/cpu_count.h"

namespace forkpool::cli {

const char* const kRunUsage =
    "usage: forkpool run [options] [COMMAND [ARGS...]] [::: VALUES...] [:::: FILES...]\n"
    "\n"
    "Runs COMMAND once per input line (or per combination of ::: / :::: values), like GNU\n"
    "parallel. Input comes from ::: values, :::: files, -a FILE, or stdin. :::+ and ::::+\n"
    "pair a source with the previous one instead of crossing it.\n"
    "\n"
    "Replacement strings: {} {.} {/} {//} {/.} {#} {%} and {N} {N.} {N/} {N//} {N/.} (N may\n"
    "be negative). Without any, the arguments are appended, shell-quoted.\n"
    "\n"
    "Options:\n"
    "  -j, --jobs N         job slots: N, N%, +N, -N (default 100% of the CPUs; 0: many)\n"
    "  -k, --keep-order     print output in input order\n"
    "  --group              print each job's output when it ends (default)\n"
    "  --line-buffer, --lb  print whole lines as they arrive\n"
    "  -u, --ungroup        let jobs write straight to the output\n"
    "  --tag                prefix output lines with the arguments and a tab\n"
    "  --tagstring STR      prefix output lines with STR (replacement strings allowed)\n"
    "  -0, --null           input records end with NUL instead of newline\n"
    "  -C, --colsep REGEX   split input lines into columns {1} {2} ...\n"
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
    "  --shuf               run the jobs in random order\n"
    "  --results DIR        save each job's output under DIR\n"
    "  --bar, --eta, --progress  show progress on stderr\n"
    "  --pipe, --pipepart   give each job a block of the input on stdin (--block SIZE,\n"
    "                       --recstart/--recend, -N, --header, --cat, --round-robin...)\n"
    "  --will-cite          accepted and ignored\n";

namespace {

bool is_digits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// "12" or "12.5": GNU parallel's /^\d+(\.\d+)?$/.
bool is_decimal(std::string_view s) {
  std::size_t dot = s.find('.');
  if (dot == std::string_view::npos) return is_digits(s);
  return is_digits(s.substr(0, dot)) && is_digits(s.substr(dot + 1));
}

[[noreturn]] void bad_value(std::string_view option, std::string_view value, std::string_view why) {
  throw UsageError("invalid value '" + std::string(value) + "' for " + std::string(option) + ": " +
                   std::string(why));
}

// A decimal number already checked for its syntax; inf when it overflows, 0 when it underflows
// (std::stod throws std::out_of_range for both).
double to_double(std::string_view text) { return std::strtod(std::string(text).c_str(), nullptr); }

// A count as -n / -N / -s / --retries take it: digits, optionally followed by one of GNU
// parallel's multipliers (k = 1000, K = 1024, M = 1024^2, G = 1024^3, m = 10^6, g = 10^9).
std::size_t parse_count(std::string_view option, std::string_view value) {
  std::string_view digits = value;
  std::size_t multiplier = 1;
  if (!value.empty() && !std::isdigit(static_cast<unsigned char>(value.back()))) {
    switch (value.back()) {
      case 'k':
        multiplier = 1000;
        break;
      case 'K':
        multiplier = 1024;
        break;
      case 'm':
        multiplier = 1000 * 1000;
        break;
      case 'M':
        multiplier = 1024 * 1024;
        break;
      case 'g':
        multiplier = 1000 * 1000 * 1000;
        break;
      case 'G':
        multiplier = 1024 * 1024 * 1024;
        break;
      default:
        bad_value(option, value, "expected a non-negative whole number");
    }
    digits.remove_suffix(1);
  }
  if (!is_digits(digits) || digits.size() > 12) {
    bad_value(option, value, "expected a non-negative whole number");
  }
  const std::size_t count = std::stoull(std::string(digits));
  if (count > std::numeric_limits<std::size_t>::max() / multiplier) {
    bad_value(option, value, "the number is too large");
  }
  return count * multiplier;
}

// --halt: GNU parallel's parse_halt(), including the numeric shorthands and "N%".
HaltPolicy parse_halt(const std::string& value) {
  std::string spec = value;
  if (spec == "0") spec = "never";
  if (spec == "1") spec = "soon,fail=1";
  if (spec == "2") spec = "now,fail=1";
  if (spec == "-1") spec = "soon,success=1";
  if (spec == "-2") spec = "now,success=1";
  if (spec.size() > 1 && spec.back() == '%' &&
      is_digits(std::string_view(spec).substr(0, spec.size() - 1))) {
    spec = "soon,fail=" + spec;
  }
  // GNU parallel splits on both separators: when, condition, threshold.
  std::vector<std::string> parts(1);
  for (char c : spec) {
    if (c == ',' || c == '=') {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  HaltPolicy halt;
  const std::string& when = parts[0];
  if (when == "never") return halt;
  if (when == "soon") {
    halt.when = HaltPolicy::When::kSoon;
  } else if (when == "now") {
    halt.when = HaltPolicy::When::kNow;
  } else {
    bad_value("--halt", value, "expected never, soon or now (e.g. now,fail=1)");
  }
  const std::string why = parts.size() > 1 ? parts[1] : "";
  if (why == "fail") {
    halt.condition = HaltPolicy::Condition::kFail;
  } else if (why == "success") {
    halt.condition = HaltPolicy::Condition::kSuccess;
  } else if (why == "done") {
    halt.condition = HaltPolicy::Condition::kDone;
  } else {
    bad_value("--halt", value, "'" + when + "' must be followed by ,fail ,success or ,done");
  }
  std::string_view threshold = parts.size() > 2 ? std::string_view(parts[2]) : std::string_view();
  if (!threshold.empty() && threshold.back() == '%') {
    threshold.remove_suffix(1);
    halt.percent = true;
  }
  if (!is_digits(threshold) || threshold.size() > 12) {
    bad_value("--halt", value, "expected =N or =N% after " + when + "," + why);
  }
  halt.threshold = to_double(threshold);
  return halt;
}

// --timeout: GNU parallel's /^\d+(\.\d+)?%?$|^(\d+(\.\d+)?[dhms])+$/i.
TimeoutSpec parse_timeout(const std::string& value) {
  TimeoutSpec timeout;
  std::string_view number = value;
  if (!number.empty() && number.back() == '%') {
    number.remove_suffix(1);
    if (!is_decimal(number)) bad_value("--timeout", value, "expected seconds or a percentage");
    timeout.percent = true;
    timeout.value = to_double(number);
    if (!std::isfinite(timeout.value)) bad_value("--timeout", value, "the number is too large");
    return timeout;
  }
  std::optional<double> seconds = parse_duration(value);
  if (!seconds) bad_value("--timeout", value, "expected seconds or a percentage");
  timeout.value = *seconds;
  return timeout;
}

// -j: the forms resolve_jobs() accepts. GNU parallel also reads the value from a file when it
// names one; forkpool does not.
void check_jobs(std::string_view option, const std::string& value) {
  std::string_view v = value;
  if (!v.empty() && (v[0] == '+' || v[0] == '-')) {
    if (is_digits(v.substr(1))) return;
  } else if (!v.empty() && v.back() == '%') {
    if (is_decimal(v.substr(0, v.size() - 1))) return;
  } else if (is_digits(v)) {
    return;
  }
  bad_value(option, value, "expected N, N%, +N or -N");
}

// Expands \t \n \r \NNN (octal) and \N in --tagstring, as GNU parallel's unquote_printf().
std::string unquote_printf(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '\\' || i + 1 == text.size()) {
      out += c;
      continue;
    }
    char next = text[i + 1];
    if (next == 't' || next == 'n' || next == 'r') {
      out += next == 't' ? '\t' : next == 'n' ? '\n' : '\r';
      ++i;
      continue;
    }
    std::size_t digits = 0;
    while (digits < 3 && i + 1 + digits < text.size() && text[i + 1 + digits] >= '0' &&
           text[i + 1 + digits] <= '7') {
      ++digits;
    }
    if (digits == 3 || digits == 1) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, digits), nullptr, 8));
      i += digits;
      continue;
    }
    out += c;
  }
  return out;
}

enum class Arity { kFlag, kValue };

struct OptionSpec {
  std::vector<std::string_view> long_names;  // without "--"
  char short_name;                           // 0: none
  Arity arity;
  std::function<void(RunOptions&, const std::string& name, const std::string& value)> apply;
};

void set_output(RunOptions& o, OutputMode mode, OutputMode& seen_mode, bool& seen,
                const std::string& name) {
  // GNU parallel refuses the combinations outright rather than letting the last one win.
  if (seen && seen_mode != mode) {
    throw UsageError("option " + name + " cannot be combined with an earlier output option");
  }
  seen = true;
  seen_mode = mode;
  o.output = mode;
}

struct ParseState {
  bool output_seen = false;
  OutputMode output_mode = OutputMode::kGroup;
  bool max_args_given = false;
  bool max_replace_args_given = false;
  std::size_t max_args = 0;
  std::size_t max_replace_args = 0;
  bool x = false;
  bool m = false;
  std::vector<std::string> arg_files;  // -a, in order
  std::optional<std::string> tagstring;
};

std::vector<OptionSpec> option_table(ParseState& st) {
  using O = RunOptions;
  using S = const std::string&;
  return {
      {{"jobs", "max-procs", "maxprocs"},
       'j',
       Arity::kValue,
       [](O& o, S n, S v) {
         check_jobs(n, v);
         o.jobs = v;
       }},
      {{},
       'P',
       Arity::kValue,
       [](O& o, S n, S v) {
         check_jobs(n, v);
         o.jobs = v;
       }},
      {{"keep-order", "keeporder"}, 'k', Arity::kFlag, [](O& o, S, S) { o.keep_order = true; }},
      {{"no-keep-order", "nokeeporder", "nok", "no-k"},
       0,
       Arity::kFlag,
       [](O& o, S, S) { o.keep_order = false; }},
      {{"group"},
       0,
       Arity::kFlag,
       [&st](O& o, S n, S) {
         set_output(o, OutputMode::kGroup, st.output_mode, st.output_seen, n);
       }},
      {{"line-buffer", "line-buffered", "linebuffer", "linebuffered", "lb"},
       0,
       Arity::kFlag,
       [&st](O& o, S n, S) {
         set_output(o, OutputMode::kLineBuffer, st.output_mode, st.output_seen, n);
       }},
      {{"ungroup"},
       'u',
       Arity::kFlag,
       [&st](O& o, S n, S) {
         set_output(o, OutputMode::kUngroup, st.output_mode, st.output_seen, n);
       }},
      {{"tag"}, 0, Arity::kFlag, [](O& o, S, S) { o.tag = true; }},
      {{"tag-string", "tagstring"}, 0, Arity::kValue, [&st](O&, S, S v) { st.tagstring = v; }},
      {{"null"}, '0', Arity::kFlag, [](O& o, S, S) { o.null_separated = true; }},
      {{"col-sep", "colsep"}, 'C', Arity::kValue, [](O& o, S, S v) { o.colsep = v; }},
      {{"quote"}, 'q', Arity::kFlag, [](O& o, S, S) { o.quote = true; }},
      {{"max-args", "maxargs"},
       'n',
       Arity::kValue,
       [&st](O&, S n, S v) {
         st.max_args = parse_count(n, v);
         st.max_args_given = true;
       }},
      {{"max-replace-args", "maxreplaceargs"},
       'N',
       Arity::kValue,
       [&st](O&, S n, S v) {
         st.max_replace_args = parse_count(n, v);
         st.max_replace_args_given = true;
       }},
      {{}, 'X', Arity::kFlag, [&st](O&, S, S) { st.x = true; }},
      {{}, 'm', Arity::kFlag, [&st](O&, S, S) { st.m = true; }},
      {{"max-chars", "maxchars"},
       's',
       Arity::kValue,
       [](O& o, S n, S v) {
         std::size_t chars = parse_count(n, v);
         if (chars == 0) bad_value(n, v, "expected a positive whole number");
         // Like GNU parallel, -s can only lower the limit (it warns and ignores a larger one).
         o.max_line_length = std::min(chars, kDefaultMaxLineLength);
       }},
      {{"dry-run", "dryrun", "dr"}, 0, Arity::kFlag, [](O& o, S, S) { o.dry_run = true; }},
      {{"joblog", "jl"},
       0,
       Arity::kValue,
       [](O& o, S n, S v) {
         if (v.empty()) bad_value(n, v, "expected a file name");
         o.joblog = v;
       }},
      {{"resume"}, 0, Arity::kFlag, [](O& o, S, S) { o.resume = true; }},
      {{"resume-failed", "resumefailed"},
       0,
       Arity::kFlag,
       [](O& o, S, S) { o.resume_failed = true; }},
      {{"retries"},
       0,
       Arity::kValue,
       [](O& o, S n, S v) {
         std::size_t retries = parse_count(n, v);
         if (retries > 1000000) bad_value(n, v, "too large");
         o.retries = static_cast<unsigned>(retries);
       }},
      {{"timeout"}, 0, Arity::kValue, [](O& o, S, S v) { o.timeout = parse_timeout(v); }},
      {{"halt", "halt-on-error", "haltonerror"},
       0,
       Arity::kValue,
       [](O& o, S, S v) { o.halt = parse_halt(v); }},
      {{"delay"},
       0,
       Arity::kValue,
       [](O& o, S n, S v) {
         std::optional<double> d = parse_duration(v);
         if (!d) bad_value(n, v, "expected seconds (e.g. 0.5, 2s, 1m)");
         o.delay = *d;
       }},
      {{"shuf"}, 0, Arity::kFlag, [](O& o, S, S) { o.shuffle = true; }},
      {{"results", "result", "res"},
       0,
       Arity::kValue,
       [](O& o, S n, S v) {
         if (v.empty()) bad_value(n, v, "expected a directory");
         o.results = v;
       }},
      {{"bar"}, 0, Arity::kFlag, [](O& o, S, S) { o.bar = true; }},
      {{"eta"}, 0, Arity::kFlag, [](O& o, S, S) { o.eta = true; }},
      {{"progress"}, 0, Arity::kFlag, [](O& o, S, S) { o.progress = true; }},
      {{"arg-file", "argfile"},
       'a',
       Arity::kValue,
       [&st](O&, S, S v) { st.arg_files.push_back(v); }},
      {{"will-cite", "willcite", "nn", "nonotice", "no-notice"}, 0, Arity::kFlag, [](O&, S, S) {}},
      {{"help"}, 'h', Arity::kFlag, [](O& o, S, S) { o.help = true; }},
      // --pipe and friends (cli/pipe_options.h).
      {{"pipe", "spreadstdin"},
       0,
       Arity::kFlag,
       [](O& o, S, S) {
         if (o.pipe.mode == PipeOptions::Mode::kOff) o.pipe.mode = PipeOptions::Mode::kPipe;
       }},
      {{"pipepart", "pipe-part"},
       0,
       Arity::kFlag,
       [](O& o, S, S) { o.pipe.mode = PipeOptions::Mode::kPipePart; }},
      {{"block", "block-size", "blocksize", "bs"},
       0,
       Arity::kValue,
       [](O& o, S n, S v) { o.pipe.block = parse_block_size(n, v); }},
      {{"recstart"}, 0, Arity::kValue, [](O& o, S, S v) { o.pipe.recstart = v; }},
      {{"recend"}, 0, Arity::kValue, [](O& o, S, S v) { o.pipe.recend = v; }},
      {{"regexp", "regex"}, 0, Arity::kFlag, [](O& o, S, S) { o.pipe.regexp = true; }},
      {{"header"}, 0, Arity::kValue, [](O& o, S, S v) { o.pipe.header = v; }},
      {{"cat"}, 0, Arity::kFlag, [](O& o, S, S) { o.pipe.cat = true; }},
      {{"fifo"}, 0, Arity::kFlag, [](O& o, S, S) { o.pipe.fifo = true; }},
      {{"round-robin", "roundrobin", "round"},
       0,
       Arity::kFlag,
       [](O& o, S, S) { o.pipe.round_robin = true; }},
      {{"max-lines", "maxlines"},
       'L',
       Arity::kValue,
       [](O& o, S n, S v) {
         o.pipe.lines_per_record = std::max<std::size_t>(parse_count(n, v), 1);
       }},
  };
}

const OptionSpec* find_long(const std::vector<OptionSpec>& table, std::string_view name) {
  for (const OptionSpec& spec : table) {
    for (std::string_view n : spec.long_names) {
      if (n == name) return &spec;
    }
  }
  return nullptr;
}

const OptionSpec* find_short(const std::vector<OptionSpec>& table, char name) {
  for (const OptionSpec& spec : table) {
    if (spec.short_name == name) return &spec;
  }
  return nullptr;
}

bool is_separator(std::string_view word) {
  return word == ":::" || word == ":::+" || word == "::::" || word == "::::+";
}

// Splits the words after the options into the command and the ::: / :::: sources, the way
// GNU parallel's read_args_from_command_line() does, quirks included:
//  - each file after :::: is a source of its own; after ::::+ each is linked;
//  - a separator that is the very last word, before any other separator, is dropped;
//  - link flags are counted over these sources only, but applied to the list that starts
//    with the -a files, so with -a a later :::+ links one source early (as GNU parallel does).
void split_command_and_sources(std::span<const std::string> words, RunOptions& o,
                               const std::vector<std::string>& arg_files) {
  std::vector<InputSource> sources;
  std::vector<bool> link_flags;
  for (const std::string& file : arg_files) {
    InputSource s;
    s.kind = InputSource::Kind::kFile;
    s.path = file;
    sources.push_back(std::move(s));
  }
  bool any_separator =
      std::any_of(words.begin(), words.end(), [](const std::string& w) { return is_separator(w); });
  if (!any_separator) {
    o.command.assign(words.begin(), words.end());
  } else {
    std::size_t next = 0;
    std::string arg = words[next++];
    while (next < words.size()) {
      if (!is_separator(arg)) {
        o.command.push_back(arg);
        arg = words[next++];
        continue;
      }
      // One group of values or files, up to the next separator.
      std::string separator = arg;
      std::vector<std::string> group;
      std::optional<std::string> following;
      while (next < words.size()) {
        const std::string& w = words[next++];
        if (is_separator(w)) {
          following = w;
          break;
        }
        group.push_back(w);
      }
      bool linked = separator.back() == '+';
      if (separator.rfind("::::", 0) == 0) {
        for (std::string& file : group) {
          InputSource s;
          s.kind = InputSource::Kind::kFile;
          s.path = std::move(file);
          sources.push_back(std::move(s));
          link_flags.push_back(linked);
        }
      } else {
        InputSource s;
        s.kind = InputSource::Kind::kValues;
        s.values = std::move(group);
        sources.push_back(std::move(s));
        link_flags.push_back(linked);
      }
      if (!following) break;
      arg = *following;
      // GNU parallel `redo`es here without re-testing the loop condition, so a separator
      // that ends the words still opens an (empty) source.
      if (next == words.size()) {
        InputSource s;
        s.kind = arg.rfind("::::", 0) == 0 ? InputSource::Kind::kFile : InputSource::Kind::kValues;
        if (s.kind == InputSource::Kind::kValues) {
          sources.push_back(std::move(s));
          link_flags.push_back(arg.back() == '+');
        }
        break;
      }
    }
  }
  for (std::size_t i = 0; i < sources.size(); ++i) {
    sources[i].linked = i > 0 && i < link_flags.size() && link_flags[i];
  }
  o.sources = std::move(sources);
}

}  // namespace

std::optional<double> parse_duration(const std::string& text) {
  if (is_decimal(text)) {
    const double seconds = to_double(text);
    if (!std::isfinite(seconds)) return std::nullopt;
    return seconds;
  }
  // One or more NUMBER UNIT pairs, summed: GNU parallel's multiply_time_units().
  double total = 0;
  std::size_t i = 0;
  if (text.empty()) return std::nullopt;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    std::string number = text.substr(start, i - start);
    if (!is_decimal(number) || i == text.size()) return std::nullopt;
    double unit = 0;
    switch (std::tolower(static_cast<unsigned char>(text[i]))) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return std::nullopt;
    }
    total += to_double(number) * unit;
    ++i;
  }
  if (!std::isfinite(total)) return std::nullopt;
  return total;
}

RunOptions parse_run_options(std::span<const std::string> args) {
  RunOptions o;
  ParseState st;
  const std::vector<OptionSpec> table = option_table(st);
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word == "--") {
      ++i;
      break;
    }
    if (word.size() < 2 || word[0] != '-') break;  // the command starts here
    if (word[1] == '-') {
      std::string name = word.substr(2);
      std::optional<std::string> value;
      if (std::size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
      }
      const OptionSpec* spec = find_long(table, name);
      if (!spec) throw UsageError("unknown option '--" + name + "'");
      std::string shown = "--" + name;
      if (spec->arity == Arity::kFlag) {
        if (value) throw UsageError("option " + shown + " does not take a value");
        spec->apply(o, shown, "");
      } else {
        if (!value) {
          if (i + 1 == args.size()) throw UsageError("option " + shown + " needs a value");
          value = args[++i];
        }
        spec->apply(o, shown, *value);
      }
      continue;
    }
    // A bundle of short options: -kq, -j2, -kj 2.
    for (std::size_t k = 1; k < word.size(); ++k) {
      const OptionSpec* spec = find_short(table, word[k]);
      std::string shown = std::string("-") + word[k];
      if (!spec) throw UsageError("unknown option '" + shown + "'");
      if (spec->arity == Arity::kFlag) {
        spec->apply(o, shown, "");
        continue;
      }
      std::string value;
      if (k + 1 < word.size()) {
        value = word.substr(k + 1);
      } else {
        if (i + 1 == args.size()) throw UsageError("option " + shown + " needs a value");
        value = args[++i];
      }
      spec->apply(o, shown, value);
      break;
    }
  }

  // -n / -N / -X / -m as GNU parallel combines them: -N wins over -n, and turns on context
  // replace; -m / -X without a count fill the line.
  ArgsPerJob& apj = o.args_per_job;
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
  if (o.tag && !st.tagstring) st.tagstring = "{}";
  if (st.tagstring) o.tagstring = unquote_printf(*st.tagstring);
  if (o.dry_run) o.output = OutputMode::kGroup;  // as GNU parallel: --dry-run forces --group

  split_command_and_sources(args.subspan(i), o, st.arg_files);
  finish_pipe_options(o, count);
  return o;
}

unsigned resolve_jobs(const std::string& spec, unsigned cpus) {
  constexpr unsigned kMaxSlots = 250;  // "-j 0": as many as possible, within reason
  check_jobs("-j", spec);
  cpus = std::max(cpus, 1u);
  double slots = 0;
  if (spec[0] == '+') {
    slots = cpus + to_double(spec.substr(1));
  } else if (spec[0] == '-') {
    // GNU parallel stops with "Cannot run any jobs" when this is 0 or less; run one instead.
    slots = static_cast<double>(cpus) - to_double(spec.substr(1));
  } else if (spec.back() == '%') {
    // Rounded up, as GNU parallel does: 51% of 2 CPUs is 2 slots, 50% is 1.
    slots = std::ceil(cpus * to_double(spec.substr(0, spec.size() - 1)) / 100);
  } else {
    if (spec.size() > 9) return kMaxSlots;
    slots = to_double(spec);
    if (slots == 0) return kMaxSlots;
  }
  if (slots < 1) return 1;
  if (slots > kMaxSlots) return kMaxSlots;
  return static_cast<unsigned>(slots);
}

unsigned available_cpus() { return orchestrator::usable_cpus(); }

std::vector<OptionName> run_option_names() {
  ParseState unused;
  std::vector<OptionName> names;
  for (const OptionSpec& spec : option_table(unused)) {
    const bool takes_value = spec.arity == Arity::kValue;
    if (spec.short_name != 0) names.push_back({std::string("-") + spec.short_name, takes_value});
    for (std::string_view name : spec.long_names) {
      names.push_back({"--" + std::string(name), takes_value});
    }
  }
  return names;
}

}  // namespace forkpool::cli
