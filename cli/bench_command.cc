// forkpool bench: for each worker count, `--runs` whole batches through forkpool run's own
// runner (run_batch), each timed from the first job's start to the last worker's exit, so a
// count's time includes what starting that many workers costs. The statistics, the
// recommendation and the report files are the library's SweepReport.
#include "cli/bench_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/bench_options.h"
#include "cli/job_source.h"
#include "cli/run_command.h"
#include "forkpool/sweep.h"

namespace forkpool::cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kExitForkpoolError = 255;
constexpr int kExitJobFailed = 1;

void say(const std::string& message) {
  std::fprintf(stderr, "forkpool bench: %s\n", message.c_str());
}

// A report file, opened (created or truncated) before any job runs, so that an unwritable path
// is a usage error and not an hour's sweep lost at the end.
class ReportFile {
 public:
  ReportFile() = default;
  ReportFile(const std::string& path, const char* what) : path_(path) {
    if (path.empty()) return;
    file_.reset(std::fopen(path.c_str(), "w"));
    if (!file_) {
      throw UsageError(std::string("cannot write the ") + what + " '" + path +
                       "': " + std::strerror(errno));
    }
  }
  // Returns false (after saying why) if the file could not be written.
  bool write(const std::string& text) {
    if (!file_) return true;
    const bool ok = std::fwrite(text.data(), 1, text.size(), file_.get()) == text.size() &&
                    std::fclose(file_.release()) == 0;
    if (!ok) say("cannot write '" + path_ + "': " + std::strerror(errno));
    return ok;
  }

 private:
  struct Close {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::string path_;
  std::unique_ptr<std::FILE, Close> file_;
};

// Every run reads the input afresh, so it must be there to read again: values, or regular
// files (not stdin, not a pipe).
void check_input_rereadable(const RunOptions& run) {
  if (run.sources.empty())
    throw UsageError(
        "no input: give the jobs' arguments with ::: VALUES or :::: FILE "
        "(stdin cannot be read again for every run)");
  for (const InputSource& source : run.sources) {
    if (source.kind == InputSource::Kind::kValues) continue;
    struct stat st {};
    if (source.path == "-")
      throw UsageError("input from stdin cannot be read again for every run: use a file");
    if (::stat(source.path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
      throw UsageError("'" + source.path +
                       "' is not a regular file: it cannot be read again "
                       "for every run");
  }
}

// The progress line: rewritten in place on a terminal, one line per run otherwise.
class Progress {
 public:
  Progress() : terminal_(::isatty(STDERR_FILENO) == 1) {}
  void show(const SweepProgress& p) {
    char line[160];
    std::snprintf(line, sizeof line, "forkpool bench: %u worker%s (%zu of %zu), run %u of %u",
                  p.workers, p.workers == 1 ? "" : "s", p.count_index, p.counts, p.run, p.runs);
    std::fprintf(stderr, terminal_ ? "\r%s\033[K" : "%s\n", line);
    std::fflush(stderr);
    shown_ = true;
  }
  void done() {
    if (terminal_ && shown_) std::fputs("\r\033[K", stderr);
    shown_ = false;
  }

 private:
  bool terminal_;
  bool shown_ = false;
};

void report_failure(unsigned workers, unsigned run, const BatchOutcome& outcome) {
  const JobFailure& first = outcome.failures.front();
  say("job '" + first.command + "' " + first.reason + " (with " + std::to_string(workers) +
      (workers == 1 ? " worker" : " workers") + ", run " + std::to_string(run) +
      "); a sweep over failing jobs measures nothing, " + "so it stopped" +
      (outcome.failures.size() > 1
           ? " (" + std::to_string(outcome.failures.size() - 1) + " more jobs failed)"
           : std::string()));
  if (first.err.empty()) return;
  std::string err = first.err.substr(0, 4000);
  if (err.back() != '\n') err += '\n';
  std::fprintf(stderr, "forkpool bench: its stderr:\n%s", err.c_str());
}

struct Sweep {
  std::vector<SweepMeasurement> measured;
  std::size_t jobs = 0;
  int status = 0;
};

Sweep sweep(const BenchOptions& options, const std::vector<unsigned>& counts) {
  Sweep result;
  Progress progress;
  const BatchSettings settings{.program = "forkpool bench", .discard_output = true};
  for (std::size_t c = 0; c < counts.size() && result.status == 0; ++c) {
    SweepMeasurement m{counts[c], {}};
    for (unsigned run = 1; run <= options.runs; ++run) {
      progress.show({counts[c], c + 1, counts.size(), run, options.runs});
      const auto start = Clock::now();
      BatchOutcome outcome;
      try {
        outcome = run_batch(options.run, counts[c], settings);
      } catch (const std::exception& e) {
        // The pool itself failed (it could not start workers, say): what was measured before
        // still counts.
        progress.done();
        say(e.what());
        result.status = kExitForkpoolError;
        break;
      }
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      if (!outcome.failures.empty()) {
        progress.done();
        report_failure(counts[c], run, outcome);
        result.status = kExitJobFailed;
      } else if (outcome.exit_status != 0) {
        // Interrupted (128+N), or input that went bad half-way (255; the runner said why).
        progress.done();
        result.status = outcome.exit_status;
      }
      if (result.status != 0) break;
      m.seconds.push_back(seconds);
      result.jobs = outcome.completed;
    }
    result.measured.push_back(std::move(m));
  }
  progress.done();
  return result;
}

}  // namespace

int bench_command(std::span<const std::string> args) {
  try {
    const BenchOptions options = parse_bench_options(args);
    if (options.help) {
      std::fputs(kBenchUsage, stdout);
      return 0;
    }
    check_input_rereadable(options.run);
    // What a batch would refuse (an unreadable file, a bad --colsep or template), refused
    // now, before the first progress line.
    { JobSource source(options.run); }
    { CommandTemplate templ(options.run); }
    const std::vector<unsigned> counts =
        options.workers.empty() ? default_worker_counts(available_cpus()) : options.workers;
    ReportFile json(options.json, "JSON report"), csv(options.csv, "CSV report"),
        plot(options.plot, "plot");

    const Sweep result = sweep(options, counts);
    const SweepReport report = make_sweep_report(options.label, result.jobs, result.measured);
    if (!report.rows.empty()) std::fputs(report.table().c_str(), stdout);
    std::fflush(stdout);
    // Every file is written even when one fails: each write is its own statement.
    const bool json_written = json.write(report.json());
    const bool csv_written = csv.write(report.csv());
    const bool plot_written = plot.write(report.svg());
    const bool written = json_written && csv_written && plot_written;
    if (result.status != 0) return result.status;
    return written ? 0 : kExitForkpoolError;
  } catch (const std::exception& e) {
    say(e.what());
    return kExitForkpoolError;
  }
}

}  // namespace forkpool::cli
