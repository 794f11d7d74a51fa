#include "cli/bench_options.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <optional>
#include <string_view>

namespace forkpool::cli {

const char* const kBenchUsage =
    "usage: forkpool bench [options] [--] COMMAND [ARGS...] ::: VALUES... | :::: FILES...\n"
    "\n"
    "Runs the whole batch of jobs, as forkpool run would, with each worker count in turn, a\n"
    "few times each, and prints a table: the median wall time with its spread (min-max),\n"
    "jobs/s, speedup over 1 worker and parallel efficiency; then recommends the smallest\n"
    "worker count whose throughput is within 5% of the best, and says why. The jobs' output\n"
    "is discarded; a job that fails stops the sweep, which still reports what it measured.\n"
    "Progress goes to stderr.\n"
    "\n"
    "Options:\n"
    "  --workers LIST  worker counts to measure: 1,2,4 or ranges 1-8 (default: 1, 2, 4, ...\n"
    "                  doubling up to the CPUs this process may use, plus that count itself)\n"
    "  --runs N        whole batches per worker count (default 3)\n"
    "  --json FILE     write the results as JSON\n"
    "  --csv FILE      write the results as CSV\n"
    "  --plot FILE     write an SVG plot of throughput and efficiency against workers\n"
    "  --help          print this help and exit\n"
    "\n"
    "The job takes forkpool run's syntax: ::: values, :::: files, -a FILE (input is read once\n"
    "per run, so not from stdin), replacement strings, and its options -0, --colsep, -q, -n,\n"
    "-N, -X, -m, -s, --retries, --timeout, --delay.\n"
    "\n"
    "Exit status: 0 when every job succeeded, 1 when a job failed, 128+N after signal N,\n"
    "255 for a malformed command line or an unwritable report file (before any job), or\n"
    "when forkpool itself fails.\n";

namespace {

constexpr unsigned kMaxWorkers = 250;  // resolve_jobs()'s largest number of job slots

// bench's own options that take a value; --help and -h are its flags.
constexpr std::string_view kValueOptions[] = {"--workers", "--runs", "--json", "--csv", "--plot"};

bool is_value_option(std::string_view name) {
  return std::find(std::begin(kValueOptions), std::end(kValueOptions), name) !=
         std::end(kValueOptions);
}

bool is_digits(std::string_view s) {
  return !s.empty() && s.size() <= 9 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

[[noreturn]] void bad_value(std::string_view option, std::string_view value, std::string_view why) {
  throw UsageError("invalid value '" + std::string(value) + "' for " + std::string(option) + ": " +
                   std::string(why));
}

unsigned parse_count(const std::string& text, std::string_view item) {
  if (!is_digits(item)) bad_value("--workers", text, "expected counts like 1,2,4 or 1-8");
  const unsigned long n = std::stoul(std::string(item));
  if (n == 0) bad_value("--workers", text, "a worker count must be at least 1");
  if (n > kMaxWorkers) bad_value("--workers", text, "at most 250 workers");
  return static_cast<unsigned>(n);
}

unsigned parse_runs(const std::string& value) {
  if (!is_digits(value) || std::stoul(value) == 0 || std::stoul(value) > 1000)
    bad_value("--runs", value, "expected a whole number from 1 to 1000");
  return static_cast<unsigned>(std::stoul(value));
}

// Refuses the forkpool run options that a sweep would silently ignore or that contradict it.
void check_run_options(const RunOptions& run) {
  auto refuse = [](const std::string& option, const std::string& why) {
    throw UsageError("option " + option + " has no meaning in forkpool bench: " + why);
  };
  const std::string discarded = "the jobs' output is discarded";
  if (run.jobs != "100%") refuse("-j", "--workers gives the job slots");
  if (run.keep_order) refuse("-k", discarded);
  if (run.output != OutputMode::kGroup) refuse("--line-buffer/--ungroup", discarded);
  if (run.tagstring) refuse("--tag/--tagstring", discarded);
  if (run.dry_run) refuse("--dry-run", "it runs nothing to measure");
  if (!run.joblog.empty() || run.resume || run.resume_failed)
    refuse("--joblog/--resume", "every run repeats the whole batch");
  if (run.halt.when != HaltPolicy::When::kNever) refuse("--halt", "a failing job stops the sweep");
  if (run.shuffle) refuse("--shuf", "every run repeats the same batch");
  if (!run.results.empty()) refuse("--results", discarded);
  if (run.files) refuse("--files", discarded);
  if (run.bar || run.eta || run.progress) refuse("--bar/--eta/--progress", "bench shows its own");
  if (!run.run_only.empty()) refuse(run.run_only.front(), "it concerns forkpool run only");
  const PipeOptions& pipe = run.pipe;
  if (pipe.on() || pipe.block || pipe.recstart || pipe.recend || pipe.regexp || pipe.header ||
      pipe.round_robin || pipe.lines_per_record != 0)
    refuse("--pipe and its options", "bench gives its jobs arguments, not blocks of input");
  if (run.remote.given()) {
    refuse("-S/--sshloginfile/--launcher/--data-channel", "bench sweeps workers on this machine");
  }
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

}  // namespace

std::vector<unsigned> parse_worker_list(const std::string& text) {
  std::vector<unsigned> counts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view item = std::string_view(text).substr(start, comma - start);
    const std::size_t dash = item.find('-');
    if (dash == std::string_view::npos) {
      counts.push_back(parse_count(text, item));
    } else {
      const unsigned low = parse_count(text, item.substr(0, dash));
      const unsigned high = parse_count(text, item.substr(dash + 1));
      if (low > high) bad_value("--workers", text, "a range goes from low to high, like 1-8");
      for (unsigned n = low; n <= high; ++n) counts.push_back(n);
    }
    start = comma + 1;
  }
  std::sort(counts.begin(), counts.end());
  counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
  return counts;
}

std::vector<OptionName> bench_option_names() {
  std::vector<OptionName> names{{"--help", false}, {"-h", false}};
  for (std::string_view name : kValueOptions) names.push_back({std::string(name), true});
  return names;
}

BenchOptions parse_bench_options(std::span<const std::string> args) {
  BenchOptions o;
  std::vector<std::string> job_words;
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    std::string name = args[i];
    if (name == "--") {
      job_words.push_back("--");  // forkpool run's parser: the command starts after it
      ++i;
      break;
    }
    if (name == "--help" || name == "-h") {
      o.help = true;
      continue;
    }
    std::optional<std::string> value;
    if (const std::size_t eq = name.find('=');
        name.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (!is_value_option(name)) {
      break;  // not ours: forkpool run's parser gets this word and the rest, whole
    }
    if (!value) {
      if (i + 1 == args.size()) throw UsageError("option " + name + " needs a value");
      value = args[++i];
    }
    if (name == "--workers") {
      o.workers = parse_worker_list(*value);
    } else if (name == "--runs") {
      o.runs = parse_runs(*value);
    } else {
      if (value->empty()) bad_value(name, *value, "expected a file name");
      (name == "--json" ? o.json : name == "--csv" ? o.csv : o.plot) = *value;
    }
  }
  job_words.insert(job_words.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  o.run = parse_run_options(job_words);
  if (o.run.help) o.help = true;
  if (o.help) return o;
  check_run_options(o.run);
  if (o.run.command.empty())
    throw UsageError("no command to measure (forkpool bench [options] -- COMMAND ::: VALUES)");
  o.label = join(o.run.command);
  return o;
}

}  // namespace forkpool::cli
