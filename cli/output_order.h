// Finished jobs' output on its way to stdout and stderr: at once, or held back and printed in
// job order (-k).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "cli/job_output.h"
#include "io/fd.h"

namespace forkpool::cli {

// One finished job's output.
struct FinishedOutput {
  JobStream out, err;
  std::string prefix;           // --tag: before every line of both
  LineColor color;              // --color, --ctag: the colour of every line of both
  bool line_buffered = false;   // tagged or coloured: --line-buffer's form of it
                                // (JobStream::write_line_buffered_to)
  std::function<void()> after;  // once both are written (the --joblog line)
  // When set, takes the output in its turn instead of it being printed (--results as a
  // table); `after` still follows. May throw StdoutClosed.
  std::function<void(const FinishedOutput&)> save;
  // -k --line-buffer: the bytes of each stream already printed while the job ran.
  std::uint64_t out_printed = 0, err_printed = 0;
  std::size_t size() const { return out.size() + err.size(); }
};

// Output held for an earlier job (-k) holds back new jobs once it passes this size, so that
// one slow job cannot make memory grow without bound: 256 MiB, or
// FORKPOOL_RUN_HELD_OUTPUT_LIMIT bytes (for machines with little memory, and for the tests).
std::size_t held_output_limit();

class OutputOrder {
 public:
  // `keep_order`: -k. `on_stdout_gone` is called (once per failed write) when stdout's
  // reader went away; from then on nothing more is written.
  OutputOrder(bool keep_order, std::size_t held_limit, std::function<void()> on_stdout_gone)
      : keep_order_(keep_order),
        held_limit_(held_limit),
        on_stdout_gone_(std::move(on_stdout_gone)) {}

  // The output of the job that was `order`-th to start (0-based): written now, or with -k
  // held until every earlier job's output is written.
  void deliver(std::uint64_t order, FinishedOutput output);
  // -k: prints held output in job order, up to the first job still running. At the end of a
  // run stopped early, `everything` prints what did finish, in order, past the gaps.
  void flush(bool everything);
  // --line-buffer (with -k, or with a colour): the job that was `order`-th to start writes its
  // stdout and stderr to these files as it runs. Its whole lines are printed as they come
  // (catch_up; with -k, while it is the oldest job not yet printed), in `color` if it is on;
  // the rest, when it is delivered (in that colour if any line had it). Throws
  // std::system_error if a file cannot be opened.
  void follow(std::uint64_t order, const std::string& out_path, const std::string& err_path,
              std::string prefix, LineColor color = {});
  // Prints the whole lines the followed jobs (with -k, the oldest) have written since the
  // last call.
  void catch_up();
  // True while held output is over the limit: no new job should start (a retry may).
  bool holds_back_jobs() const { return !held_.empty() && held_bytes_ >= held_limit_; }
  // Drops what is held (before the spooled files' directory goes).
  void clear() {
    held_.clear();
    followed_.clear();
  }
  void mark_stdout_gone() { stdout_gone_ = true; }

 private:
  // A running job's output files, and how much of each is printed.
  struct Followed {
    io::Fd out, err;
    std::uint64_t out_printed = 0, err_printed = 0;
    std::string prefix;
    LineColor color;
    bool colored = false;  // a line was printed in `color`: GNU parallel keeps it
  };

  void write(const FinishedOutput& output);
  // Prints the whole lines of `file` past `printed` to `fd`; advances `printed`.
  void print_lines(const io::Fd& file, std::uint64_t& printed, int fd, Followed& job);
  void catch_up(Followed& job);

  bool keep_order_;
  std::size_t held_limit_;
  std::function<void()> on_stdout_gone_;
  bool stdout_gone_ = false;
  std::map<std::uint64_t, FinishedOutput> held_;  // by order
  std::map<std::uint64_t, Followed> followed_;    // by order: running, -k --line-buffer
  std::size_t held_bytes_ = 0;
  std::uint64_t next_to_print_ = 0;
};

}  // namespace forkpool::cli
