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
                         const std::string& err_path, std::string prefix) {
  auto open = [](const std::string& path) {
    io::Fd f(::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0600));
    if (!f) throw std::system_error(errno, std::generic_category(), "cannot open " + path);
    return f;
  };
  followed_[order] = {open(out_path), open(err_path), 0, 0, std::move(prefix)};
  catch_up();
}

void OutputOrder::catch_up() {
  auto it = followed_.find(next_to_print_);
  if (it == followed_.end() || stdout_gone_) return;
  Followed& f = it->second;
  print_lines(f.out, f.out_printed, STDOUT_FILENO, f.prefix);
  print_lines(f.err, f.err_printed, STDERR_FILENO, f.prefix);
}

void OutputOrder::print_lines(const io::Fd& file, std::uint64_t& printed, int fd,
                              const std::string& prefix) {
  std::vector<char> chunk(std::size_t{1} << 16);
  std::string pending;  // read, not yet a whole line; at most about 1 MiB
  while (!stdout_gone_ && pending.size() < (std::size_t{1} << 20)) {
    const ssize_t n = ::pread(file.get(), chunk.data(), chunk.size(),
                              static_cast<off_t>(printed + pending.size()));
    if (n <= 0) return;
    pending.append(chunk.data(), static_cast<std::size_t>(n));
    const std::size_t end = pending.find_last_of("\n\r");
    if (end == std::string::npos) continue;
    std::string lines = pending.substr(0, end + 1);
    pending.erase(0, end + 1);
    printed += lines.size();
    try {
      JobStream(std::move(lines)).write_to(fd, prefix);
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
