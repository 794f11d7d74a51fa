// PipeInput: where the blocks of `forkpool run --pipe` / `--pipepart` come from -- stdin or
// the -a / :::: files read in order and cut by a BlockSplitter, or ranges of regular files
// found by PartRanges -- one block at a time, so that the caller decides how many are held.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/pipe_part_ranges.h"
#include "cli/pipe_splitter.h"
#include "cli/pipe_stream_ranges.h"
#include "io/fd.h"

namespace forkpool::cli {

struct RunOptions;

// One job's input: the header, then either bytes in memory (--pipe) or a range of a file
// (--pipepart), which is never read into memory.
struct PipeBlock {
  std::shared_ptr<const std::string> header;
  std::string data;
  int file = -1;  // --pipepart: the file the range is in (owned by the PipeInput)
  FileRange range;
  std::size_t body_size() const { return file >= 0 ? range.length : data.size(); }
  std::size_t size() const { return header->size() + body_size(); }
};

class PipeInput {
 public:
  // Opens every input file now, so that a missing file, or --pipepart on something that
  // cannot be sought (a pipe), is a UsageError before any job starts. `slots` resolves a
  // negative --block.
  PipeInput(const RunOptions& options, unsigned slots);
  ~PipeInput();
  PipeInput(const PipeInput&) = delete;
  PipeInput& operator=(const PipeInput&) = delete;

  // The descriptor to wait for (POLLIN) before next() can make progress without blocking, or
  // -1 when next() never waits long (a regular file, --pipepart).
  int wait_fd() const;
  // At most one read(2), then the next block if one is complete. nullopt: call again (after
  // wait_fd() is readable), unless done(). Throws std::system_error on a read error.
  std::optional<PipeBlock> next();
  // True once every block has been returned.
  bool done() const;

 private:
  void open_next_stream();
  bool use_ranges(const SplitRules& rules);
  std::optional<PipeBlock> next_part();
  std::optional<PipeBlock> next_range();

  std::vector<std::string> paths_;  // stream inputs still to open ("-" is stdin)
  io::Fd stream_;
  int stream_fd_ = -1;
  bool stream_waits_ = false;  // poll before reading: a pipe, a terminal, a socket
  std::unique_ptr<BlockSplitter> splitter_;
  std::unique_ptr<StreamRanges> ranges_;  // a regular file cut without reading it
  std::shared_ptr<const std::string> header_;
  bool finished_ = false;
  std::deque<PartRanges> parts_;           // --pipepart, one per file
  std::deque<PartRanges> finished_parts_;  // kept open: their ranges may still be fed
  std::shared_ptr<const std::string> part_header_;
};

}  // namespace forkpool::cli
