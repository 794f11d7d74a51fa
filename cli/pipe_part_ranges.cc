#include "cli/pipe_part_ranges.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "cli/pipe_record_matcher.h"

namespace forkpool::cli {
namespace {

// GNU parallel reads 128 KiB at a time when it looks for a boundary (its $dd_block_size).
constexpr std::size_t kWindow = 131072;

// Appends up to `length` bytes of `fd` at `offset` to `out`; returns how many came (0 at
// the end of the file).
std::size_t read_at(int fd, std::uint64_t offset, std::size_t length, std::string& out) {
  const std::size_t old = out.size();
  out.resize(old + length);
  for (;;) {
    const ssize_t n = ::pread(fd, out.data() + old, length, static_cast<off_t>(offset));
    if (n >= 0) {
      out.resize(old + static_cast<std::size_t>(n));
      return static_cast<std::size_t>(n);
    }
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "--pipepart read");
  }
}

}  // namespace

std::uint64_t part_block_size(const PipeOptions& options, std::uint64_t total_size,
                              unsigned slots) {
  double block = options.block.value_or(-10);
  if (options.round_robin) block = -1;
  if (block > 0) return static_cast<std::uint64_t>(block);
  const double per_slot = static_cast<double>(total_size) / std::max(slots, 1u) / -block;
  return 1 + static_cast<std::uint64_t>(per_slot);
}

PartRanges::PartRanges(io::Fd file, std::uint64_t size, std::uint64_t block_size,
                       const SplitRules& rules)
    : file_(std::move(file)), size_(size), block_(std::max<std::uint64_t>(block_size, 1)) {
  if (rules.regexp) {
    last_in_window_ = std::make_unique<RecordMatcher>(
        "^(.*(?:(?-x:" + rules.recend + ")))(?:(?-x:" + rules.recstart + "))", PCRE2_DOTALL,
        "--recstart/--recend");
  } else {
    recend_recstart_ = rules.recend + rules.recstart;
    recend_size_ = rules.recend.size();
  }
  if (rules.header) {
    // GNU parallel's find_header(): read a block at a time until the header matches.
    const RecordMatcher header("^(" + *rules.header + ")", 0, "--header");
    std::string start;
    while (read_at(file_.get(), start.size(), block_, start) > 0) {
      if (auto m = header.search(start, 0, 1)) {
        header_ = start.substr(0, m->second - m->first);
        break;
      }
    }
  }
  skip_ = header_.size();
  start_ = skip_;
}

PartRanges::~PartRanges() = default;
PartRanges::PartRanges(PartRanges&&) noexcept = default;

std::optional<FileRange> PartRanges::next() {
  if (start_ >= size_) return std::nullopt;
  // GNU parallel cuts from the header's end when the file is only the header: no range.
  const std::uint64_t end = find_boundary(start_ + block_);
  FileRange range{static_cast<off_t>(start_), static_cast<std::size_t>(end - start_)};
  start_ = end;
  return range;
}

// The end of the block whose nominal end is `from`: the first boundary at or after it, or
// the end of the file.
std::uint64_t PartRanges::find_boundary(std::uint64_t from) {
  if (from >= size_) return size_;
  if (!last_in_window_ && recend_recstart_.empty()) return from;  // records end anywhere
  std::string window;
  std::size_t searched = 0;
  while (read_at(file_.get(), from + window.size(), kWindow, window) > 0) {
    if (last_in_window_) {
      if (auto m = last_in_window_->search(window, 0, 1)) return from + (m->second - m->first);
      continue;
    }
    // Only the new bytes (and a separator's length before them) can hold the first match.
    const std::size_t look_from =
        searched > recend_recstart_.size() ? searched - recend_recstart_.size() : 0;
    const std::size_t at = window.find(recend_recstart_, look_from);
    if (at != std::string::npos) return from + at + recend_size_;
    searched = window.size();
  }
  return size_;
}

}  // namespace forkpool::cli
