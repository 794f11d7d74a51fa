#include "cli/pipe_options.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "cli/run_options.h"

namespace forkpool::cli {
namespace {

[[noreturn]] void bad_block(std::string_view option, std::string_view value, std::string_view why) {
  throw UsageError("invalid value '" + std::string(value) + "' for " + std::string(option) + ": " +
                   std::string(why));
}

// The multiplier of a --block unit; 0 for an unknown unit.
double unit_multiplier(std::string_view unit) {
  if (unit.empty()) return 1;
  static constexpr std::string_view kUnits = "kmgtp";
  const char first = unit[0];
  const std::size_t power =
      kUnits.find(static_cast<char>(std::tolower(static_cast<unsigned char>(first))));
  if (power == std::string_view::npos) return 0;
  const bool binary = unit.size() == 2 && (unit[1] == 'i' || unit[1] == 'I');
  if (unit.size() > 2 || (unit.size() == 2 && !binary)) return 0;
  // GNU parallel: upper case (or an "i" after the letter) counts in 1024s, lower case in 1000s.
  const double base = (binary || std::isupper(static_cast<unsigned char>(first))) ? 1024 : 1000;
  return std::pow(base, static_cast<double>(power + 1));
}

}  // namespace

double parse_block_size(std::string_view option, std::string_view value) {
  std::string_view number = value;
  bool negative = false;
  if (!number.empty() && (number[0] == '-' || number[0] == '+')) {
    negative = number[0] == '-';
    number.remove_prefix(1);
  }
  std::size_t digits = 0;
  bool dot = false;
  while (digits < number.size() && (std::isdigit(static_cast<unsigned char>(number[digits])) ||
                                    (number[digits] == '.' && !dot))) {
    dot = dot || number[digits] == '.';
    ++digits;
  }
  const std::string_view mantissa = number.substr(0, digits);
  const double multiplier = unit_multiplier(number.substr(digits));
  if (mantissa.empty() || mantissa == "." || multiplier == 0)
    bad_block(option, value, "expected a size such as 1M, 512k or 1.5G");
  const double size = std::strtod(std::string(mantissa).c_str(), nullptr) * multiplier;
  if (size < 1 || !std::isfinite(size))
    bad_block(option, value, "the size must be at least one byte (or -N blocks per job slot)");
  return negative ? -std::floor(size) : size;
}

void finish_pipe_options(RunOptions& options, std::optional<std::size_t> records) {
  PipeOptions& pipe = options.pipe;
  // GNU parallel: --cat and --fifo imply --pipe.
  if ((pipe.cat || pipe.fifo) && !pipe.on()) pipe.mode = PipeOptions::Mode::kPipe;
  if (!pipe.on()) return;
  if (pipe.cat && pipe.fifo) throw UsageError("--fifo cannot be combined with --cat");
  if (pipe.round_robin && options.retries > 0)
    throw UsageError("--retries cannot be combined with --round-robin");
  if (pipe.mode == PipeOptions::Mode::kPipe && pipe.block && *pipe.block < 0) {
    throw UsageError(
        "a negative --block (blocks per job slot) needs --pipepart: the size of a stream is not "
        "known in advance");
  }
  if (options.dry_run) throw UsageError("--dry-run cannot be combined with --pipe");
  // Not done (yet) with blocks: refused rather than done differently from GNU parallel.
  if (!options.results.empty()) throw UsageError("--results cannot be combined with --pipe yet");
  if (options.resume || options.resume_failed)
    throw UsageError("--resume cannot be combined with --pipe yet");
  if (options.shuffle) throw UsageError("--shuf cannot be combined with --pipe");
  if (options.halt.percent)
    throw UsageError(
        "--halt with a percentage cannot be combined with --pipe: the number of "
        "blocks is not known in advance");
  if (records) pipe.records_per_job = *records == 0 ? 1 : *records;
  // Arguments are not taken from the input: each job's only input is its block.
  options.args_per_job = ArgsPerJob{};
  options.args_per_job.no_args = !(pipe.cat || pipe.fifo);
}

void check_pipe_input(const RunOptions& options) {
  const PipeOptions& pipe = options.pipe;
  if (!pipe.on()) {
    // GNU parallel ignores --round-robin, --block, --recstart, --recend and --regexp without
    // --pipe; so does forkpool. -L and --header mean something else then (cli/run_options.h,
    // cli/input_header.h), with --colsep, -0, -d, -m and -X too (the job source reads the
    // continued lines as GNU parallel's read_arg_from_fh() does).
    return;
  }
  for (const InputSource& source : options.sources) {
    if (source.kind == InputSource::Kind::kValues)
      throw UsageError("--pipe reads its blocks from stdin, -a FILE or :::: FILE, not ::: values");
  }
  if (pipe.mode == PipeOptions::Mode::kPipePart && options.sources.empty())
    throw UsageError("--pipepart needs the file to split: --pipepart -a FILE");
}

}  // namespace forkpool::cli
