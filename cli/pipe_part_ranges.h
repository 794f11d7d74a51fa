// PartRanges: the blocks of `forkpool run --pipepart`, found by seeking in a regular file
// instead of reading it: only a few kilobytes around each boundary are read, so the parent
// never holds a block, and each job's range is later copied from the page cache to its pipe
// by splice(2).
//
// GNU parallel 20221122's find_split_positions(): a boundary is sought at every block size
// from the previous one; from there, the first recend+recstart (with --regexp: the last one
// in the first 128 KiB read) ends the block. The header (--header) is read from the start
// of the file and sent before every range.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "cli/pipe_splitter.h"
#include "io/fd.h"

namespace forkpool::cli {

struct FileRange {
  off_t offset = 0;
  std::size_t length = 0;
};

class PartRanges {
 public:
  // `file` is open for reading and regular (or a block device) of `size` bytes.
  // `block_size` is in bytes (already resolved from a negative --block). Reads the header.
  // Throws UsageError for a regexp that does not compile, std::system_error on a read error.
  PartRanges(io::Fd file, std::uint64_t size, std::uint64_t block_size, const SplitRules& rules);
  ~PartRanges();
  PartRanges(PartRanges&&) noexcept;

  // The next range in file order, or nullopt after the last one. Throws std::system_error.
  std::optional<FileRange> next();
  const std::string& header() const { return header_; }
  int fd() const { return file_.get(); }

 private:
  std::uint64_t find_boundary(std::uint64_t from);

  io::Fd file_;
  std::uint64_t size_;
  std::uint64_t block_;
  std::string recend_recstart_;
  std::size_t recend_size_ = 0;
  std::unique_ptr<RecordMatcher> last_in_window_;  // --regexp
  std::string header_;
  std::uint64_t start_ = 0;  // where the next range starts
  std::uint64_t skip_ = 0;   // the header's length
};

// The size of one --pipepart block: --block as given, or for a negative --block -N (default
// -10; -1 with --round-robin) 1 + total / slots / N, as GNU parallel computes it.
std::uint64_t part_block_size(const PipeOptions& options, std::uint64_t total_size, unsigned slots);

}  // namespace forkpool::cli
