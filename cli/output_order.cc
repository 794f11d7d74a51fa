#include "cli/output_order.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>
#include <vector>

namespace forkpool::cli {

std::size_t held_output_limit() {
  const char* text = ::getenv("FORKPOOL_RUN_HELD_OUTPUT_LIMIT");
  if (text != nullptr && *text != '\0') {
    char* end = nullptr;
    const unsigned long long limit = std::strtoull(text, &end, 10);
    if (*end == '\0') return static_cast<std::size_t>(limit);
  }
  return std::size_t{256} << 20;
}

void OutputOrder::deliver(std::uint64_t order, FinishedOutput output) {
  if (auto node = followed_.extract(order)) {
    // What was printed while it ran is skipped; the rest comes from the same bytes.
    output.out_printed = node.mapped().out_printed;
    output.err_printed = node.mapped().err_printed;
    if (node.mapped().colored) output.color = node.mapped().color;
  }
  if (!keep_order_) {
    write(output);
    return;
  }
  held_bytes_ += output.size();
  held_.emplace(order, std::move(output));
  flush(false);
}

void OutputOrder::flush(bool everything) {
  while (!held_.empty() && (everything || held_.begin()->first == next_to_print_)) {
    auto node = held_.extract(held_.begin());
    held_bytes_ -= node.mapped().size();
    write(node.mapped());
    next_to_print_ = node.key() + 1;
  }
  // Order numbers are given to started jobs only (not to jobs --resume skips), so there is
  // no gap to step over except where a stopped run killed a job.
  if (!everything) catch_up();
}

void OutputOrder::follow(std::uint64_t order, const std::string& out_path,
                         const std::string& err_path, std::string prefix, LineColor color) {
  auto open = [](const std::string& path) {
    io::Fd f(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!f) throw std::system_error(errno, std::generic_category(), "cannot open " + path);
    return f;
  };
  followed_[order] = {open(out_path), open(err_path), 0, 0, std::move(prefix), std::move(color)};
  catch_up();
}

void OutputOrder::catch_up() {
  if (!keep_order_) {
    for (auto& [order, job] : followed_) catch_up(job);
    return;
  }
  auto it = followed_.find(next_to_print_);
  if (it != followed_.end()) catch_up(it->second);
}

void OutputOrder::catch_up(Followed& job) {
  if (stdout_gone_) return;
  print_lines(job.out, job.out_printed, STDOUT_FILENO, job);
  print_lines(job.err, job.err_printed, STDERR_FILENO, job);
}

void OutputOrder::print_lines(const io::Fd& file, std::uint64_t& printed, int fd, Followed& job) {
  std::vector<char> chunk(std::size_t{1} << 16);
  std::string pending;  // read, not yet a whole line; at most about 1 MiB
  while (!stdout_gone_ && pending.size() < (std::size_t{1} << 20)) {
    const ssize_t n = ::pread(file.get(), chunk.data(), chunk.size(),
                              static_cast<off_t>(printed + pending.size()));
    if (n <= 0) return;
    pending.append(chunk.data(), static_cast<std::size_t>(n));
    // Tagged or coloured, lines that end in '\r' wait for a '\n', as GNU parallel, reading
    // them with the rest, would print them (see JobStream::write_line_buffered_to).
    const bool marked = job.color.on() || !job.prefix.empty();
    const std::size_t end = marked ? pending.rfind('\n') : pending.find_last_of("\n\r");
    if (end == std::string::npos) continue;
    std::string lines = pending.substr(0, end + 1);
    pending.erase(0, end + 1);
    printed += lines.size();
    // What is printed is no longer needed: a job that prints forever (`--lb --tag ping`)
    // does not fill the disk. (Where holes are not supported, the bytes stay.)
    const off_t printed_pages = static_cast<off_t>(printed & ~std::uint64_t{4095});
    if (printed_pages > 0)
      (void)::fallocate(file.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, printed_pages);
    try {
      if (job.color.on()) {
        std::string colored;
        append_colored_lines(lines, job.prefix, job.color, colored);
        job.colored = true;
        write_job_output(fd, colored);
      } else {
        JobStream(std::move(lines)).write_to(fd, job.prefix);
      }
    } catch (const StdoutClosed&) {
      stdout_gone_ = true;
      on_stdout_gone_();
    }
  }
}

void OutputOrder::write(const FinishedOutput& output) {
  if (stdout_gone_) return;
  try {
    if (output.save) {
      output.save(output);
    } else if (output.line_buffered && (output.color.on() || !output.prefix.empty())) {
      output.out.write_line_buffered_to(STDOUT_FILENO, output.prefix, output.out_printed,
                                        output.color);
      output.err.write_line_buffered_to(STDERR_FILENO, output.prefix, output.err_printed,
                                        output.color);
    } else {
      output.out.write_to(STDOUT_FILENO, output.prefix, output.out_printed, output.color);
      output.err.write_to(STDERR_FILENO, output.prefix, output.err_printed, output.color);
    }
  } catch (const StdoutClosed&) {
    stdout_gone_ = true;
    on_stdout_gone_();
    return;
  }
  if (output.after) output.after();
}

}  // namespace forkpool::cli
