// StreamRanges: --pipe's blocks of a regular file given as stdin (or as the one -a FILE),
// found without reading the file into memory: the same cuts as BlockSplitter, computed from
// positions, with only the bytes before each cut read (backwards, from where GNU parallel's
// buffer would end). Each job's range then goes to its pipe by splice(2), as with
// --pipepart. Only for literal separators without -N, -L or --header: with those the cuts
// depend on every byte, and BlockSplitter reads them.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "cli/pipe_part_ranges.h"
#include "cli/pipe_splitter.h"

namespace forkpool::cli {

// Reads exactly `length` bytes of `fd` at `offset` into `out`. Throws std::system_error, with
// `what` as its message, on an error or an end of file before them (EIO).
void read_exactly(int fd, char* out, std::size_t length, std::uint64_t offset, const char* what);

class StreamRanges {
 public:
  // True if `rules` cut the same way whatever the bytes before the last separator.
  static bool handles(const SplitRules& rules);

  // The file `fd` (not owned) from byte `start` to `end`. REQUIRES: handles(rules).
  StreamRanges(int fd, std::uint64_t start, std::uint64_t end, const SplitRules& rules);

  // The next block's range, or nullopt after the last. Throws std::system_error.
  std::optional<FileRange> next();

 private:
  std::optional<std::uint64_t> last_separator_end(std::uint64_t from, std::uint64_t to);

  int fd_;
  std::uint64_t pos_;   // where GNU parallel's buffer starts
  std::uint64_t held_;  // bytes its buffer holds after the last cut
  std::uint64_t end_;
  std::uint64_t block_;
  std::string separator_;  // recend + recstart
  std::size_t recend_size_;
};

}  // namespace forkpool::cli
