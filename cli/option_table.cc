#include "cli/option_table.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "cli/gnu_options.h"
#include "cli/job_gate.h"
#include "cli/jobs_file.h"
#include "cli/option_values.h"

namespace forkpool::cli {
namespace {

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

// How many jobs run at once, and when they start, retry, time out or stop the run.
std::vector<OptionSpec> job_control_options([[maybe_unused]] ParseState& st) {
  using O = RunOptions;
  using S = const std::string&;
  return {
      {{"jobs", "max-procs", "maxprocs"},
       'j',
       Arity::kValue,
       [](O& o, S n, S v) {
         if (!names_jobs_file(v)) check_jobs(n, v);
         o.jobs = v;
       }},
      {{},
       'P',
       Arity::kValue,
       [](O& o, S n, S v) {
         if (!names_jobs_file(v)) check_jobs(n, v);
         o.jobs = v;
       }},
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
      // The resource gate (cli/job_gate.h) and how jobs run and stop.
      {{"memfree"}, 0, Arity::kValue, [](O& o, S, S v) { o.resources.memfree = parse_memfree(v); }},
      {{"load"},
       0,
       Arity::kValue,
       [](O& o, S, S v) {
         if (!names_load_file(v)) check_load(v);
         o.resources.load = v;
       }},
      {{"limit"},
       0,
       Arity::kValue,
       [](O& o, S n, S v) {
         if (v.find_first_not_of(" \t") == std::string::npos) bad_value(n, v, "expected a command");
         o.resources.limit = v;
       }},
      {{"nice"}, 0, Arity::kValue, [](O& o, S, S v) { o.nice = parse_nice(v); }},
      {{"term-seq", "termseq"},
       0,
       Arity::kValue,
       [](O& o, S, S v) { o.termseq = parse_termseq(v); }},
      {{"dry-run", "dryrun", "dr"}, 0, Arity::kFlag, [](O& o, S, S) { o.dry_run = true; }},
  };
}

// Where and how job output goes.
std::vector<OptionSpec> output_options([[maybe_unused]] ParseState& st) {
  using O = RunOptions;
  using S = const std::string&;
  return {
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
      // As GNU parallel: --ctag is --tag, --ctagstring is --tagstring, each with --color.
      {{"ctag"},
       0,
       Arity::kFlag,
       [](O& o, S, S) {
         o.tag = true;
         o.color = true;
       },
       false},
      {{"ctag-string", "ctagstring"},
       0,
       Arity::kValue,
       [&st](O& o, S, S v) {
         st.tagstring = v;
         o.color = true;
       },
       false},
      {{"color", "colour"}, 0, Arity::kFlag, [](O& o, S, S) { o.color = true; }, false},
      {{"color-failed", "colour-failed", "colorfailed", "colourfailed", "color-fail", "colour-fail",
        "colorfail", "colourfail", "cf"},
       0,
       Arity::kFlag,
       [](O& o, S, S) { o.color_failed = true; },
       false},
      {{"process-slot-var", "processslotvar"},
       0,
       Arity::kValue,
       [](O& o, S n, S v) {
         if (v.empty() || v.find('=') != std::string::npos) bad_value(n, v, "expected a name");
         o.process_slot_var = v;
       }},
      {{"total-jobs", "totaljobs", "total"},
       0,
       Arity::kValue,
       [](O& o, S n, S v) { o.total_jobs = parse_count(n, v); }},
      {{"verbose"}, 't', Arity::kFlag, [](O& o, S, S) { o.verbose = true; }, false},
      {{"shell-quote", "shellquote", "shell_quote"},
       0,
       Arity::kFlag,
       [](O& o, S, S) { ++o.shellquote; },
       false},
      {{"tag-string", "tagstring"}, 0, Arity::kValue, [&st](O&, S, S v) { st.tagstring = v; }},
      {{"results", "result", "res"},
       0,
       Arity::kValue,
       [](O& o, S n, S v) {
         if (v.empty()) bad_value(n, v, "expected a directory or a file name");
         o.results = v;
       }},
      {{"output-as-files", "outputasfiles", "files"},
       0,
       Arity::kFlag,
       [](O& o, S, S) { o.files = true; }},
      {{"bar"}, 0, Arity::kFlag, [](O& o, S, S) { o.bar = true; }},
      {{"eta"}, 0, Arity::kFlag, [](O& o, S, S) { o.eta = true; }},
      {{"progress"}, 0, Arity::kFlag, [](O& o, S, S) { o.progress = true; }},
  };
}

// How input is read and becomes arguments.
std::vector<OptionSpec> input_options([[maybe_unused]] ParseState& st) {
  using O = RunOptions;
  using S = const std::string&;
  return {
      {{"null"}, '0', Arity::kFlag, [](O& o, S, S) { o.null_separated = true; }},
      {{"delimiter"},
       'd',
       Arity::kValue,
       [](O& o, S n, S v) {
         const std::string d = unquote_printf(v);
         if (d.size() != 1)
           bad_value(n, v, "only a single-character delimiter is supported (after \\n, \\t...)");
         o.delimiter = d[0];
       }},
      {{}, 'E', Arity::kValue, [](O& o, S, S v) { o.end_of_file = v; }},
      {{"no-run-if-empty", "norunifempty"},
       'r',
       Arity::kFlag,
       [](O& o, S, S) { o.skip_blank = true; }},
      {{"link", "xapply"}, 0, Arity::kFlag, [](O& o, S, S) { o.link = true; }},
      {{"trim"},
       0,
       Arity::kValue,
       [](O& o, S n, S v) {
         if (v != "n" && v != "l" && v != "r" && v != "lr" && v != "rl")
           bad_value(n, v, "expected n, l, r, lr or rl");
         o.trim = v;
       }},
      {{"arg-sep", "argsep"},
       0,
       Arity::kValue,
       [](O& o, S n, S v) {
         if (v.empty()) bad_value(n, v, "expected a separator");
         o.arg_sep = v;
       }},
      {{"arg-file-sep", "argfilesep"},
       0,
       Arity::kValue,
       [](O& o, S n, S v) {
         if (v.empty()) bad_value(n, v, "expected a separator");
         o.arg_file_sep = v;
       }},
      {{"col-sep", "colsep"}, 'C', Arity::kValue, [](O& o, S, S v) { o.colsep = v; }},
      {{"csv"}, 0, Arity::kFlag, [](O& o, S, S) { o.csv = true; }},
      {{"arg-file", "argfile"},
       'a',
       Arity::kValue,
       [&st](O&, S, S v) { st.arg_files.push_back(v); }},
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
  };
}

// How arguments become command lines: quoting, replacement strings, arguments per line.
std::vector<OptionSpec> command_line_options([[maybe_unused]] ParseState& st) {
  using O = RunOptions;
  using S = const std::string&;
  return {
      {{"quote"}, 'q', Arity::kFlag, [](O& o, S, S) { o.quote = true; }},
      {{"plus"}, 0, Arity::kFlag, [](O& o, S, S) { o.replacements.plus = true; }},
      {{}, 'I', Arity::kValue, [](O& o, S, S v) { o.replacements.replace = v; }},
      {{"replace"}, 'i', Arity::kOptional, [](O& o, S, S v) { o.replacements.replace_i = v; }},
      {{"extensionreplace", "er"},
       0,
       Arity::kValue,
       [](O& o, S, S v) { o.replacements.extension = v; }},
      {{"basenamereplace", "bnr"},
       0,
       Arity::kValue,
       [](O& o, S, S v) { o.replacements.basename = v; }},
      {{"dirnamereplace", "dnr"},
       0,
       Arity::kValue,
       [](O& o, S, S v) { o.replacements.dirname = v; }},
      {{"basenameextensionreplace", "bner"},
       0,
       Arity::kValue,
       [](O& o, S, S v) { o.replacements.basename_extension = v; }},
      {{"seqreplace"}, 0, Arity::kValue, [](O& o, S, S v) { o.replacements.seq = v; }},
      {{"slotreplace"}, 0, Arity::kValue, [](O& o, S, S v) { o.replacements.slot = v; }},
      {{"rpl"}, 0, Arity::kValue, [](O& o, S, S v) { o.replacements.rpl.push_back(v); }},
      {{"parens"},
       0,
       Arity::kValue,
       [](O& o, S n, S v) {
         if (v.size() < 2) bad_value(n, v, "expected two halves, such as {==} or ,,");
         o.replacements.parens = v;
       }},
  };
}

// The job log, and resuming from it.
std::vector<OptionSpec> logging_options([[maybe_unused]] ParseState& st) {
  using O = RunOptions;
  using S = const std::string&;
  return {
      {{"joblog", "jl"},
       0,
       Arity::kValue,
       [](O& o, S n, S v) {
         // GNU parallel appends to the log after a '+', and writes no header then.
         o.joblog_append = !v.empty() && v[0] == '+';
         o.joblog = o.joblog_append ? v.substr(1) : v;
         if (o.joblog.empty()) bad_value(n, v, "expected a file name");
       }},
      {{"resume"}, 0, Arity::kFlag, [](O& o, S, S) { o.resume = true; }},
      {{"resume-failed", "resumefailed"},
       0,
       Arity::kFlag,
       [](O& o, S, S) { o.resume_failed = true; }},
  };
}

// Options that change nothing about the jobs.
std::vector<OptionSpec> other_options([[maybe_unused]] ParseState& st) {
  using O = RunOptions;
  using S = const std::string&;
  return {
      {{"will-cite", "willcite", "nn", "nonotice", "no-notice"}, 0, Arity::kFlag, [](O&, S, S) {}},
      {{"help"}, 'h', Arity::kFlag, [](O& o, S, S) { o.help = true; }},
      // Locally a job inherits the whole environment: --env only has its checks (--env _).
      {{"env"},
       0,
       Arity::kValue,
       [](O& o, S n, S v) {
         if (v.empty()) bad_value(n, v, "expected a variable name");
         for (std::size_t start = 0; start <= v.size();) {
           const std::size_t comma = std::min(v.find(',', start), v.size());
           o.env_names.push_back(v.substr(start, comma - start));
           start = comma + 1;
         }
       },
       false},
      {{"record-env", "recordenv"},
       0,
       Arity::kFlag,
       [](O& o, S, S) { o.record_env = true; },
       false},
      // Read before parsing (default_option_groups()): nothing left to do here.
      {{"plain"}, 0, Arity::kFlag, [](O&, S, S) {}, false},
      {{"profile"}, 'J', Arity::kValue, [](O&, S, S) {}, false},
  };
}

// --pipe and friends (cli/pipe_options.h): each job gets a block of the input on its stdin.
std::vector<OptionSpec> pipe_options([[maybe_unused]] ParseState& st) {
  using O = RunOptions;
  using S = const std::string&;
  return {
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
         // Without --pipe, GNU parallel's -L (not --max-lines) also turns on context replace.
         o.lines_context = n == "-L";
       }},
  };
}

// Jobs on other hosts (cli/remote_options.h).
std::vector<OptionSpec> remote_options([[maybe_unused]] ParseState& st) {
  using O = RunOptions;
  using S = const std::string&;
  return {
      {{"sshlogin"}, 'S', Arity::kValue, [](O& o, S, S v) { o.remote.sshlogins.push_back(v); }},
      {{"sshloginfile", "slf"},
       0,
       Arity::kValue,
       [](O& o, S, S v) { o.remote.sshloginfiles.push_back(v); }},
      {{"launcher"}, 0, Arity::kValue, [](O& o, S, S v) { o.remote.launcher = v; }},
      {{"data-channel"}, 0, Arity::kValue, [](O& o, S, S v) { o.remote.data_channel = v; }},
      // The file movers (cli/file_movers.h). Not in a forkpool bench batch: it runs here.
      {{"transfer-file", "transferfile", "transfer-files", "transferfiles", "tf"},
       0,
       Arity::kValue,
       [](O& o, S, S v) { o.remote.movers.transfer_files.push_back(v); },
       false},
      {{"transfer"}, 0, Arity::kFlag, [](O& o, S, S) { o.remote.movers.transfer = true; }, false},
      {{"return"},
       0,
       Arity::kValue,
       [](O& o, S, S v) { o.remote.movers.returns.push_back(v); },
       false},
      {{"trc"}, 0, Arity::kValue, [](O& o, S, S v) { o.remote.movers.trc.push_back(v); }, false},
      {{"cleanup"}, 0, Arity::kFlag, [](O& o, S, S) { o.remote.movers.cleanup = true; }, false},
      {{"basefile", "bf"},
       0,
       Arity::kValue,
       [](O& o, S, S v) { o.remote.movers.basefiles.push_back(v); },
       false},
      {{"work-dir", "workdir", "wd"},
       0,
       Arity::kValue,
       [](O& o, S n, S v) {
         if (v.empty()) bad_value(n, v, "expected a directory");
         o.remote.movers.workdir = v;
       },
       false},
  };
}

}  // namespace

std::vector<OptionSpec> option_table(ParseState& st) {
  std::vector<OptionSpec> table;
  for (auto* family : {job_control_options, output_options, input_options, command_line_options,
                       logging_options, pipe_options, remote_options, other_options}) {
    for (OptionSpec& spec : family(st)) table.push_back(std::move(spec));
  }
  return table;
}

namespace {

// GNU parallel's option names: each name, and the index of the option it belongs to.
const std::vector<std::pair<std::string, int>>& gnu_names() {
  static const std::vector<std::pair<std::string, int>> names = [] {
    std::vector<std::pair<std::string, int>> out;
    int index = 0;
    for (std::string_view spec : gnu_option_specs()) {
      spec = spec.substr(0, spec.find_first_of("=:"));
      for (std::size_t start = 0; start <= spec.size();) {
        const std::size_t bar = std::min(spec.find('|', start), spec.size());
        if (bar > start) out.emplace_back(std::string(spec.substr(start, bar - start)), index);
        start = bar + 1;
      }
      ++index;
    }
    return out;
  }();
  return names;
}

std::optional<int> gnu_option_of(std::string_view name) {
  for (const auto& [n, index] : gnu_names())
    if (n == name) return index;
  return std::nullopt;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

[[noreturn]] void not_supported(const std::string& shown) {
  throw UsageError("option " + shown + " of GNU parallel is not supported by forkpool run");
}

}  // namespace

const OptionSpec& resolve_long(const std::vector<OptionSpec>& table, std::string_view written) {
  const std::string name = lowercase(written);
  for (const OptionSpec& spec : table)
    for (std::string_view n : spec.long_names)
      if (n == name) return spec;
  if (name.size() > 1 && gnu_option_of(name)) not_supported("--" + std::string(written));
  // Abbreviations: the options whose names start with `name`.
  std::set<std::string> hits;
  std::set<int> owners;  // GNU parallel's option index, or -1 - forkpool's for its own
  const OptionSpec* found = nullptr;
  for (std::size_t i = 0; i < table.size(); ++i) {
    for (std::string_view n : table[i].long_names) {
      if (n.substr(0, name.size()) != name) continue;
      hits.emplace(n);
      owners.insert(gnu_option_of(n).value_or(-1 - static_cast<int>(i)));
      found = &table[i];
    }
  }
  for (const auto& [n, index] : gnu_names()) {
    if (n.size() < 2 || n.compare(0, name.size(), name) != 0) continue;
    hits.insert(n);
    owners.insert(index);
  }
  if (owners.empty() || name.empty())
    throw UsageError("unknown option '--" + std::string(written) + "'");
  if (owners.size() > 1) {
    std::string list;
    for (const std::string& h : hits) list += (list.empty() ? "" : ", ") + h;
    throw UsageError("option --" + std::string(written) + " is ambiguous (" + list + ")");
  }
  if (found == nullptr) not_supported("--" + *hits.begin());
  return *found;
}

const OptionSpec& resolve_short(const std::vector<OptionSpec>& table, char name) {
  for (const OptionSpec& spec : table)
    if (spec.short_name == name) return spec;
  const std::string shown = std::string("-") + name;
  if (gnu_option_of(std::string(1, name))) not_supported(shown);
  throw UsageError("unknown option '" + shown + "'");
}

std::vector<OptionName> run_option_names() {
  ParseState unused;
  std::vector<OptionName> names;
  for (const OptionSpec& spec : option_table(unused)) {
    // An optional value is the next word too, unless that looks like an option.
    const bool takes_value = spec.arity != Arity::kFlag;
    if (spec.short_name != 0) names.push_back({std::string("-") + spec.short_name, takes_value});
    for (std::string_view name : spec.long_names) {
      names.push_back({"--" + std::string(name), takes_value});
    }
  }
  return names;
}
}  // namespace forkpool::cli
