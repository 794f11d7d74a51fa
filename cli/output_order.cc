#include "cli/output_order.h"

#include <unistd.h>

#include <cstdlib>

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
}

void OutputOrder::write(const FinishedOutput& output) {
  if (stdout_gone_) return;
  try {
    if (output.save) {
      output.save(output);
    } else {
      output.out.write_to(STDOUT_FILENO, output.prefix);
      output.err.write_to(STDERR_FILENO, output.prefix);
    }
  } catch (const StdoutClosed&) {
    stdout_gone_ = true;
    on_stdout_gone_();
    return;
  }
  if (output.after) output.after();
}

}  // namespace forkpool::cli
