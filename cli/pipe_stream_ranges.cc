#include "cli/pipe_stream_ranges.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <string_view>
#include <system_error>

namespace forkpool::cli {
namespace {

constexpr std::uint64_t kMaxBlock = (std::uint64_t{1} << 31) - 1;  // as BlockSplitter
constexpr std::size_t kWindow = std::size_t{1} << 16;

}  // namespace

void read_exactly(int fd, char* out, std::size_t length, std::uint64_t offset, const char* what) {
  while (length > 0) {
    const ssize_t n = ::pread(fd, out, length, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::system_error(n == 0 ? EIO : errno, std::generic_category(), what);
    out += n;
    length -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
}

bool StreamRanges::handles(const SplitRules& rules) {
  return !rules.regexp && rules.records_per_job == 0 && rules.lines_per_record == 0 &&
         !rules.header && !rules.csv;
}

StreamRanges::StreamRanges(int fd, std::uint64_t start, std::uint64_t end, const SplitRules& rules)
    : fd_(fd),
      pos_(start),
      held_(0),
      end_(end),
      block_(std::clamp<std::uint64_t>(rules.block_size, 1, kMaxBlock)),
      separator_(rules.recend + rules.recstart),
      recend_size_(rules.recend.size()) {}

std::optional<FileRange> StreamRanges::next() {
  while (pos_ < end_) {
    // GNU parallel reads until its buffer holds a multiple of the block size...
    const std::uint64_t target = held_ + (block_ - held_ % block_);
    if (pos_ + target > end_) {
      // ... and the input ends first: the rest is the last block.
      FileRange last{static_cast<off_t>(pos_), static_cast<std::size_t>(end_ - pos_)};
      pos_ = end_;
      return last;
    }
    // ... then cuts after the last recend+recstart in it.
    if (auto cut = last_separator_end(pos_, pos_ + target); cut && *cut > pos_) {
      FileRange range{static_cast<off_t>(pos_), static_cast<std::size_t>(*cut - pos_)};
      held_ = pos_ + target - *cut;
      pos_ = *cut;
      return range;
    }
    // Nothing to cut: a record longer than the block. The block grows by 30%.
    held_ = target;
    block_ = std::min(static_cast<std::uint64_t>(std::ceil(static_cast<double>(block_) * 1.3 + 1)),
                      kMaxBlock);
  }
  return std::nullopt;
}

// Where the last separator in [from, to) ends its recend part, found by reading backwards
// from `to` a window at a time (each window overlapping the next by the separator's length).
std::optional<std::uint64_t> StreamRanges::last_separator_end(std::uint64_t from,
                                                              std::uint64_t to) {
  if (separator_.empty()) return to;  // records end anywhere: the whole buffer
  std::string window;
  for (std::uint64_t right = to; right > from;) {
    const std::uint64_t left = right - std::min<std::uint64_t>(right - from, kWindow);
    const std::uint64_t overlap = std::min<std::uint64_t>(separator_.size() - 1, to - right);
    window.resize(static_cast<std::size_t>(right - left + overlap));
    read_exactly(fd_, window.data(), window.size(), left, "cannot read the input");
    const std::size_t at = std::string_view(window).rfind(separator_);
    if (at != std::string_view::npos) return left + at + recend_size_;
    right = left;
  }
  return std::nullopt;
}

}  // namespace forkpool::cli
