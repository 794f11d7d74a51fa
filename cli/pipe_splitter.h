// BlockSplitter: cuts a byte stream into the blocks of `forkpool run --pipe`, exactly where
// GNU parallel 20221122 cuts them. Pure: bytes go in, blocks come out; no descriptor.
//
// GNU parallel's rules, which the block boundaries depend on:
//  - it reads until its buffer holds a multiple of the block size (or the input ends), then
//    cuts the buffer at the LAST place where a record ends (recend followed by recstart), so
//    a block is at most one block size, and the rest waits for the next read;
//  - with -N n, it cuts after every n records instead (blocks of exactly n records); with
//    -L n alone, at the last newline that completes a group of n lines;
//  - with --csv (unless -L alone), at the last newline after an even number of '"';
//  - when nothing could be cut (a record longer than the block), the block size grows by 30%
//    and more is read: such a record goes whole to one job;
//  - at the end of input whatever is left is one last block; an empty block is never sent.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cli/pipe_options.h"

namespace forkpool::cli {

class RecordMatcher;

// How records and blocks are recognised: PipeOptions, with GNU parallel's defaults applied.
struct SplitRules {
  std::size_t block_size = 1 << 20;
  // Literal strings, or Perl regexps with `regexp`. Both empty: records end anywhere.
  std::string recstart;
  std::string recend = "\n";
  bool regexp = false;
  std::size_t records_per_job = 0;    // -N (0: none)
  std::size_t lines_per_record = 0;   // -L (0: none)
  bool csv = false;                   // --csv: blocks end with a CSV record
  std::optional<std::string> header;  // a Perl regexp matched at the start of the input

  // From the command line's options. Throws UsageError for a regexp that does not compile.
  static SplitRules from(const PipeOptions& options);
};

// GNU parallel's printf-style escapes of a literal --recstart/--recend: \0 \r \n \t \' \" \\.
std::string unescape_separator(std::string_view text);

class BlockSplitter {
 public:
  // Throws UsageError for a --regexp separator or --header that PCRE2 does not accept.
  explicit BlockSplitter(SplitRules rules);
  ~BlockSplitter();
  BlockSplitter(const BlockSplitter&) = delete;
  BlockSplitter& operator=(const BlockSplitter&) = delete;

  // Where the next input bytes go: at least one byte, at most what GNU parallel would read
  // before looking for a cut. Valid until the next call of anything else.
  std::span<char> write_area();
  // `n` bytes (1..write_area().size()) were written at the start of write_area().
  void commit(std::size_t n);
  // Copies `bytes` in through write_area()/commit(), in as many steps as it takes.
  void append(std::string_view bytes);
  // The input has ended: what is left becomes the last block.
  void finish();

  // The next finished block, in input order; nullopt when none is ready yet.
  std::optional<std::string> next_block();
  // The header (--header), once found; "" without --header or before it was found.
  const std::string& header() const { return header_; }
  // The block size now: the one asked for, or larger after a record did not fit.
  std::size_t block_size() const { return rules_.block_size; }
  // Bytes held: the unfinished buffer and the finished blocks not yet taken.
  std::size_t bytes_held() const;

 private:
  std::string_view pending() const;
  void emit(std::size_t length);
  void cut(bool at_end);
  bool find_header(bool at_end);
  bool pass_fixed();
  bool pass_n_fixed();
  bool pass_n_lines();
  bool pass_csv();
  bool pass_regexp();
  bool pass_n_regexps();

  SplitRules rules_;
  std::string recend_recstart_;  // literal mode
  std::unique_ptr<RecordMatcher> last_cut_, n_records_, garbage_, header_matcher_;
  std::string buffer_;
  std::size_t begin_ = 0;  // buffer_[begin_, size_) is input not yet in a block
  std::size_t size_ = 0;
  bool header_pending_ = false;
  bool garbage_checked_ = false;
  bool finished_ = false;
  std::string header_;
  struct Ready;
  std::unique_ptr<Ready> ready_;
};

}  // namespace forkpool::cli
