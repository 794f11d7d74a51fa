// How a finished job's output reaches forkpool's stdout and stderr: --tag prefixes, the
// writes themselves, and output that a worker spooled to a file instead of sending it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "cli/tag_colors.h"
#include "io/fd.h"

namespace forkpool::cli {

// GNU parallel 20221122's --tag: the prefix starts the output and every line, where a line
// ends at '\n' or at '\r' (so "a\r\n" becomes TAG "a\r" TAG "\n"). The state carries from one
// append to the next, so output can be prefixed a chunk at a time.
//
// With a colour (--color, --ctag): each line is COLOR TAG text RESET, and each '\r' in it
// RESET '\r' COLOR TAG; a last line without a newline gets one (finish()), as GNU parallel
// prints a coloured job's output line by line.
class LinePrefixer {
 public:
  explicit LinePrefixer(std::string prefix, LineColor color = {})
      : prefix_(std::move(prefix)), color_(std::move(color)) {}
  // Appends `text` to `out`, each line preceded by the prefix.
  void append(std::string_view text, std::string& out);
  // Appends what ends the last line, if anything does (with a colour only).
  void finish(std::string& out);

 private:
  void append_colored(std::string_view text, std::string& out);

  std::string prefix_;
  LineColor color_;
  bool at_line_start_ = true;
};

// --line-buffer with --color, --ctag or --ctagstring, as GNU parallel 20221122 prints a job's
// output one read at a time: the whole lines of a read (up to its last '\n', or its last '\r'
// when it has none) as COLOR TAG text RESET '\n', every other '\n' or '\r' in them as
// RESET c COLOR TAG (so lines that end in '\r' get a '\n' of their own). What follows them
// waits for the next read; at the job's end it is printed after the tag alone, uncoloured.
// Appends the coloured form of `lines` (whole lines: ending in '\n' or '\r') to `out`.
void append_colored_lines(std::string_view lines, const std::string& prefix, const LineColor& color,
                          std::string& out);

// Thrown by write_stdout when stdout's reader went away (EPIPE): the run stops, cleans up and
// exits 141, as GNU parallel does (the status a shell shows for death by SIGPIPE).
class StdoutClosed : public std::runtime_error {
 public:
  StdoutClosed() : std::runtime_error("stdout's reader went away") {}
};

// Writes everything to stdout. Throws StdoutClosed if its reader went away.
void write_stdout(std::string_view data);
// Writes everything to `fd` (a --joblog or a --results table): through write_stdout when `fd`
// is stdout, so that a reader gone away stops the run as for job output; to any other file a
// failed write is dropped.
void write_log_file(int fd, std::string_view data);
// Writes to stderr, and drops the message if stderr cannot take it (/dev/full, a closed pipe):
// an unwritable stderr loses messages, never the run.
void write_stderr(std::string_view data) noexcept;
// Writes a job's output to where it goes: `fd` is STDOUT_FILENO (write_stdout) or
// STDERR_FILENO (write_stderr).
void write_job_output(int fd, std::string_view data);

// One stream of a finished job's output: the bytes themselves, or the file a worker spooled
// them to. The file is opened and unlinked as soon as the result arrives, so nothing is left
// on disk however the run ends from then on.
class JobStream {
 public:
  JobStream() = default;
  explicit JobStream(std::string bytes) : bytes_(std::move(bytes)), size_(bytes_.size()) {}
  // Opens and unlinks `path`, a file of `size` bytes. Throws std::system_error.
  static JobStream spooled(const std::string& path, std::size_t size);

  std::size_t size() const { return size_; }

  // Writes every byte from offset `from` on, each line preceded by `prefix` (and coloured by
  // `color`, see LinePrefixer), to stdout (or stderr: errors dropped), a bounded chunk at a
  // time. `from` must start a line.
  void write_to(int fd, const std::string& prefix, std::uint64_t from = 0,
                const LineColor& color = {}) const;
  // The rest of a --line-buffer job's output from `from` (just past a '\n', or 0; the bytes
  // before it are not read, and may be gone), tagged with
  // `prefix` and coloured by `color` as GNU parallel prints it when it reads it at once (see
  // append_colored_lines).
  void write_line_buffered_to(int fd, const std::string& prefix, std::uint64_t from,
                              const LineColor& color) const;
  // Writes every byte unchanged to the open file `out`; false on a write error (errno set).
  bool copy_to(int out) const;
  // The first `max` bytes, for a failure message.
  std::string head(std::size_t max) const;
  // Calls `sink` with every byte in order, in chunks of at most 1 MiB.
  void read_chunks(const std::function<void(std::string_view)>& sink) const;

 private:
  // Calls `sink(chunk)` for the bytes in order, in chunks of at most 1 MiB.
  template <typename Sink>
  void for_each_chunk(Sink sink) const;

  std::string bytes_;
  io::Fd file_;
  std::size_t size_ = 0;
};

}  // namespace forkpool::cli
