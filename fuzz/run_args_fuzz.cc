// libFuzzer target: the input is a `forkpool run` command line, its words separated by NUL
// bytes. It goes through parse_run_options(); an option set that parses is then expanded into a
// few jobs' command lines, tags and --results directories by JobSource and CommandTemplate, as
// `forkpool run --dry-run` would. Nothing is ever run and no file is opened.
//
// The documented failure for bad input is UsageError (from the parser, resolve_jobs, the
// template and the job source); anything else escaping, or a sanitizer report, is a finding.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/job_source.h"
#include "cli/run_options.h"

namespace forkpool::cli {
namespace {

// Enough jobs to cross sources, fill -m/-X lines and spread them over the slots.
constexpr int kMaxJobs = 32;
// -m and -X fill each line to the limit (63,664 bytes unless -s lowers it): a few milliseconds a
// job even without sanitizers. Short lines keep the fuzzer fast and "line too long" reachable.
constexpr std::size_t kMaxLineLength = 2048;

std::vector<std::string> split_words(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return {};
  std::vector<std::string> words(1);
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == '\0') {
      words.emplace_back();
    } else {
      words.back() += static_cast<char>(data[i]);
    }
  }
  return words;
}

// Makes a parsed option set safe and quick to expand: no file or stdin is read (a file source
// becomes values derived from its name), the order does not depend on a random seed, and lines
// are short.
void make_safe_to_expand(RunOptions& options) {
  for (InputSource& source : options.sources) {
    if (source.kind != InputSource::Kind::kFile) continue;
    source.kind = InputSource::Kind::kValues;
    source.values = {source.path, "a b", "dir/x.tar.gz"};
  }
  if (options.sources.empty()) {
    options.sources.push_back(
        {.kind = InputSource::Kind::kValues, .values = {"one", "two\tthree", "'q'"}});
  }
  options.shuffle = false;
  options.max_line_length = std::min(options.max_line_length, kMaxLineLength);
}

void expand_jobs(const RunOptions& options) {
  const CommandTemplate command(options);
  JobSource jobs(options);
  for (int i = 0; i < kMaxJobs; ++i) {
    std::optional<JobInput> job = jobs.next();
    if (!job) break;
    const unsigned slot = static_cast<unsigned>(i) % std::max(options.job_slots, 1u) + 1;
    (void)command.command(*job, slot);
    (void)command.tag(*job, slot);
    (void)command.results_subdir(*job);
  }
}

}  // namespace
}  // namespace forkpool::cli

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace cli = forkpool::cli;
  const std::vector<std::string> words = cli::split_words(data, size);
  try {
    cli::RunOptions options = cli::parse_run_options(words);
    options.job_slots = cli::resolve_jobs(options.jobs, 2);
    cli::make_safe_to_expand(options);
    cli::expand_jobs(options);
  } catch (const cli::UsageError&) {
    // The documented answer to a bad command line.
  }
  return 0;
}
