#include "cli/option_table.h"

#include <algorithm>

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
      {{"tag-string", "tagstring"}, 0, Arity::kValue, [&st](O&, S, S v) { st.tagstring = v; }},
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
  };
}

// How input becomes arguments, and arguments become command lines.
std::vector<OptionSpec> input_options([[maybe_unused]] ParseState& st) {
  using O = RunOptions;
  using S = const std::string&;
  return {
      {{"null"}, '0', Arity::kFlag, [](O& o, S, S) { o.null_separated = true; }},
      {{"col-sep", "colsep"}, 'C', Arity::kValue, [](O& o, S, S v) { o.colsep = v; }},
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
      {{"quote"}, 'q', Arity::kFlag, [](O& o, S, S) { o.quote = true; }},
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
         if (v.empty()) bad_value(n, v, "expected a file name");
         o.joblog = v;
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
  };
}

}  // namespace

std::vector<OptionSpec> option_table(ParseState& st) {
  std::vector<OptionSpec> table;
  for (auto* family :
       {job_control_options, output_options, input_options, logging_options, other_options}) {
    for (OptionSpec& spec : family(st)) table.push_back(std::move(spec));
  }
  return table;
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
