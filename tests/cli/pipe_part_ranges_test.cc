// PartRanges: --pipepart's blocks, found by seeking in a file. The ranges must cover the file
// after its header exactly once, in order, each ending where a record ends; the sizes follow
// GNU parallel's find_split_positions() (checked against it by run_compat_test's PipePart
// cases).
#include "cli/pipe_part_ranges.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/files.h"

namespace forkpool::cli {
namespace {

using forkpool::testing::TempDir;

std::vector<std::string> ranges_of(const std::string& content, std::uint64_t block,
                                   const SplitRules& rules, std::string* header = nullptr) {
  TempDir dir;
  const std::string path = dir / "input";
  forkpool::testing::write_file(path, content);
  io::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  PartRanges ranges(std::move(fd), content.size(), block, rules);
  std::vector<std::string> out;
  while (auto r = ranges.next()) out.push_back(content.substr(r->offset, r->length));
  if (header) *header = ranges.header();
  return out;
}

std::string numbers(int from, int to) {
  std::string s;
  for (int i = from; i <= to; ++i) s += std::to_string(i) + "\n";
  return s;
}

TEST(PartRanges, EachRangeEndsAtTheFirstRecordEndPastTheBlockSize) {
  SplitRules rules;
  // 1..10 is 21 bytes; from 5 the first "\n" ends at 6, from 6+5=11 at 12, ...
  EXPECT_EQ(ranges_of(numbers(1, 10), 5, rules),
            (std::vector<std::string>{"1\n2\n3\n", "4\n5\n6\n", "7\n8\n9\n", "10\n"}));
}

TEST(PartRanges, CoverTheFileExactlyOnceWhateverTheBlockSize) {
  const std::string content = numbers(1, 20000);
  for (std::uint64_t block : {1u, 3u, 1000u, 65536u, 200000u, 10000000u}) {
    std::string joined;
    for (const std::string& r : ranges_of(content, block, SplitRules{})) {
      EXPECT_FALSE(r.empty());
      EXPECT_EQ(r.back(), '\n');
      joined += r;
    }
    EXPECT_EQ(joined, content) << "block " << block;
  }
}

TEST(PartRanges, ARecordLongerThanTheBlockStaysWhole) {
  const std::string content = "a\n" + std::string(300000, 'x') + "\nb\n";
  const auto ranges = ranges_of(content, 10, SplitRules{});
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0], "a\n" + std::string(300000, 'x') + "\n");
  EXPECT_EQ(ranges[1], "b\n");
}

TEST(PartRanges, HeaderIsReadOnceAndLeftOutOfTheRanges) {
  SplitRules rules;
  rules.header = "(.*\n)";
  std::string header;
  const auto ranges = ranges_of("H\n" + numbers(1, 4), 3, rules, &header);
  EXPECT_EQ(header, "H\n");
  EXPECT_EQ(ranges, (std::vector<std::string>{"1\n2\n", "3\n4\n"}));
}

TEST(PartRanges, RegexpTakesTheLastBoundaryInTheWindowRead) {
  SplitRules rules;
  rules.regexp = true;
  rules.recstart = ">";
  rules.recend = "";
  const auto ranges = ranges_of(">a\n>b\n>c\n", 2, rules);
  // From byte 2, GNU parallel's greedy ^(.*)> finds the last ">" of the 128 KiB it read.
  EXPECT_EQ(ranges, (std::vector<std::string>{">a\n>b\n", ">c\n"}));
}

TEST(PartRanges, EmptyFileHasNoRange) { EXPECT_TRUE(ranges_of("", 5, SplitRules{}).empty()); }

TEST(PartBlockSize, NegativeBlockIsBlocksPerJobSlot) {
  PipeOptions options;
  EXPECT_EQ(part_block_size(options, 1000, 2), 1u + 1000 / 2 / 10);  // default -10
  options.block = -1;
  EXPECT_EQ(part_block_size(options, 1000, 4), 251u);
  options.block = 4096;
  EXPECT_EQ(part_block_size(options, 1000, 4), 4096u);
  options.round_robin = true;
  EXPECT_EQ(part_block_size(options, 1000, 4), 251u);
}

}  // namespace
}  // namespace forkpool::cli
