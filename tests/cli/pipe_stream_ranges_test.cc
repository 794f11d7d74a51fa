// StreamRanges must cut a regular file exactly where BlockSplitter cuts the same bytes read
// from a pipe: the two are compared on random inputs, block sizes and separators.
#include "cli/pipe_stream_ranges.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "support/files.h"

namespace forkpool::cli {
namespace {

std::vector<std::string> by_splitter(const SplitRules& rules, const std::string& input) {
  BlockSplitter splitter(rules);
  splitter.append(input);
  splitter.finish();
  std::vector<std::string> out;
  while (auto block = splitter.next_block()) out.push_back(std::move(*block));
  return out;
}

std::vector<std::string> by_ranges(const SplitRules& rules, const std::string& input,
                                   std::size_t skip = 0) {
  forkpool::testing::TempDir dir;
  const std::string path = dir / "input";
  forkpool::testing::write_file(path, input);
  io::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  StreamRanges ranges(fd.get(), skip, input.size(), rules);
  std::vector<std::string> out;
  while (auto r = ranges.next()) out.push_back(input.substr(r->offset, r->length));
  return out;
}

TEST(StreamRanges, HandlesOnlyLiteralSeparatorsWithoutCountsOrHeader) {
  SplitRules rules;
  EXPECT_TRUE(StreamRanges::handles(rules));
  rules.records_per_job = 2;
  EXPECT_FALSE(StreamRanges::handles(rules));
  rules = SplitRules{};
  rules.regexp = true;
  EXPECT_FALSE(StreamRanges::handles(rules));
  rules = SplitRules{};
  rules.header = ":";
  EXPECT_FALSE(StreamRanges::handles(rules));
}

TEST(StreamRanges, CutsWhereTheSplitterCuts) {
  std::mt19937 random(7);
  for (int round = 0; round < 200; ++round) {
    // Lines of random lengths, some far longer than the block; binary bytes in between.
    std::string input;
    const int lines = static_cast<int>(random() % 200);
    for (int i = 0; i < lines; ++i) {
      const std::size_t length = random() % 7 == 0 ? random() % 3000 : random() % 40;
      for (std::size_t k = 0; k < length; ++k) input += static_cast<char>('a' + random() % 26);
      input += random() % 5 == 0 ? "\r\n" : "\n";
    }
    if (random() % 2) input += "tail without newline";
    SplitRules rules;
    rules.block_size = 1 + random() % 500;
    switch (random() % 4) {
      case 0:
        break;
      case 1:
        rules.recend = "\r\n";
        break;
      case 2:
        rules.recstart = "a";
        rules.recend = "";
        break;
      default:
        rules.recend = "";  // records end anywhere
    }
    ASSERT_EQ(by_ranges(rules, input), by_splitter(rules, input))
        << "round " << round << ", block " << rules.block_size;
  }
}

TEST(StreamRanges, StartsWhereTheFileOffsetIs) {
  SplitRules rules;
  rules.block_size = 4;
  EXPECT_EQ(by_ranges(rules, "skip\n1\n2\n3\n", 5), (std::vector<std::string>{"1\n2\n", "3\n"}));
}

}  // namespace
}  // namespace forkpool::cli
