// The options of `forkpool run --pipe` and `--pipepart`: how the input is cut into blocks and
// how each block reaches its job. GNU parallel 20221122 is the reference for every default.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace forkpool::cli {

struct RunOptions;

struct PipeOptions {
  enum class Mode {
    kOff,       // jobs take arguments, not blocks
    kPipe,      // --pipe: blocks read from stdin (or -a FILE / :::: FILE) in order
    kPipePart,  // --pipepart -a FILE: blocks found by seeking in a regular file
  };
  Mode mode = Mode::kOff;
  // --block SIZE in bytes. Negative (--pipepart only): -N blocks per job slot. nullopt: 1M
  // for --pipe, -10 for --pipepart (-1 with --round-robin), as GNU parallel.
  std::optional<double> block;
  // --recstart / --recend as given (before \n-style expansion); recend defaults to "\n" when
  // neither is given.
  std::optional<std::string> recstart;
  std::optional<std::string> recend;
  bool regexp = false;                // --regexp: recstart and recend are Perl regexps
  std::optional<std::string> header;  // --header REGEXP (":" one line, "N" N lines)
  bool cat = false;                   // --cat: the block in a temporary file, {} is its name
  bool fifo = false;                  // --fifo: the block through a named pipe, {} is its name
  bool round_robin = false;           // --round-robin: one job per slot, blocks dealt to them
  // --csv with --pipe: a block ends where a CSV record does (a newline after an even number
  // of '"'), and -N, --recstart and --recend are ignored, as GNU parallel does (not -L).
  bool csv = false;
  // Records per job: -N / -n (0: as many as fit in the block). -L N makes a record N lines.
  std::size_t records_per_job = 0;
  std::size_t lines_per_record = 0;  // -L / --max-lines (0: not given)
  // The jobs run on other hosts (-S, --launcher srun): each block travels inside its job's
  // request (ExecRequest::stdin_bytes) instead of through a named pipe on this machine.
  bool in_request = false;

  bool on() const { return mode != Mode::kOff; }
};

// --block's value: GNU parallel's multiply_binary_prefix() for one number and one unit:
// "1M", "1.5k", "-2", "512Ki". K M G T P are powers of 1024 (so are Ki..Pi, any case);
// k m g t p powers of 1000. Throws UsageError for anything else, and for 0.
double parse_block_size(std::string_view option, std::string_view value);

// Completes the pipe options once the command line is parsed: what -n/-N (`records`, when
// given) mean for --pipe, and no argument for the jobs. Throws UsageError for a combination
// GNU parallel refuses or forkpool does not do: --cat with --fifo, a negative --block without
// --pipepart, --retries with --round-robin, --dry-run, and what forkpool does not do with
// blocks yet: --results, --resume, --shuf, --halt with a percentage.
void finish_pipe_options(RunOptions& options, std::optional<std::size_t> records);

// What forkpool run (not forkpool bench, which refuses every pipe option) checks before it
// starts: ::: values with --pipe, --pipepart without -a FILE.
// Throws UsageError.
void check_pipe_input(const RunOptions& options);

}  // namespace forkpool::cli
