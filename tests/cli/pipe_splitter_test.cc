// BlockSplitter and parse_block_size: where --pipe cuts its input. The expected blocks are
// GNU parallel 20221122's (each checked by hand against it: `printf ... | parallel --pipe
// ... 'echo ---; cat'`); the run_compat_test cases check the same against the live tool.
#include "cli/pipe_splitter.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "cli/run_options.h"

namespace forkpool::cli {
namespace {

struct Split {
  std::vector<std::string> blocks;
  std::string header;
};

// Feeds `input` in pieces of `piece` bytes (0: all at once), as reads of a pipe would come.
Split split(const SplitRules& rules, const std::string& input, std::size_t piece = 0) {
  BlockSplitter splitter(rules);
  Split out;
  for (std::size_t at = 0; at < input.size();) {
    const std::size_t n = piece == 0 ? input.size() - at : std::min(piece, input.size() - at);
    splitter.append(std::string_view(input).substr(at, n));
    at += n;
    while (auto block = splitter.next_block()) out.blocks.push_back(std::move(*block));
  }
  splitter.finish();
  while (auto block = splitter.next_block()) out.blocks.push_back(std::move(*block));
  out.header = splitter.header();
  return out;
}

// The same blocks whatever the sizes of the pieces the input arrives in.
void expect_blocks(const SplitRules& rules, const std::string& input,
                   const std::vector<std::string>& want, const std::string& header = "") {
  for (std::size_t piece = 0; piece <= input.size() + 1; ++piece) {
    const Split got = split(rules, input, piece);
    ASSERT_EQ(got.blocks, want) << "fed in pieces of " << piece;
    ASSERT_EQ(got.header, header) << "fed in pieces of " << piece;
  }
}

std::string numbers(int from, int to) {
  std::string s;
  for (int i = from; i <= to; ++i) s += std::to_string(i) + "\n";
  return s;
}

SplitRules block(std::size_t size) {
  SplitRules rules;
  rules.block_size = size;
  return rules;
}

TEST(BlockSplitter, CutsAtTheLastRecordEndWithinEachBlock) {
  // GNU: seq 1 10 | parallel -k --pipe --block 5 'echo ---; cat'
  expect_blocks(block(5), numbers(1, 10), {"1\n2\n", "3\n4\n", "5\n6\n", "7\n8\n", "9\n10\n"});
}

TEST(BlockSplitter, EmptyInputGivesNoBlockAtAll) { expect_blocks(block(5), "", {}); }

TEST(BlockSplitter, ARecordLargerThanTheBlockGoesWholeToOneJob) {
  // The block grows by 30% until the record fits: 5, 8, 12, 17, 24.
  const std::string input = std::string(20, 'a') + "\nb\n";
  expect_blocks(block(5), input, {input});
  BlockSplitter splitter(block(5));
  splitter.append(input);
  EXPECT_EQ(splitter.block_size(), 24u);
}

TEST(BlockSplitter, TheLastRecordNeedsNoRecordEnd) {
  expect_blocks(block(3), "1\n2\n3", {"1\n", "2\n", "3"});
}

TEST(BlockSplitter, ConcatenatedBlocksAreTheInputForAnyData) {
  std::mt19937 random(42);
  std::string binary(50000, '\0');
  for (char& c : binary) c = static_cast<char>(random() % 256);
  for (std::size_t size : {1u, 7u, 100u, 4096u, 1u << 20}) {
    for (const char* recend : {"\n", "\xff\x01", ""}) {
      SplitRules rules = block(size);
      rules.recend = recend;
      const Split got = split(rules, binary, 1000);
      std::string joined;
      for (const std::string& b : got.blocks) {
        EXPECT_FALSE(b.empty());
        joined += b;
      }
      EXPECT_EQ(joined, binary) << "block " << size << " recend " << recend;
    }
  }
}

TEST(BlockSplitter, RecordsPerJobCutsAfterEveryNRecords) {
  SplitRules rules = block(1 << 20);
  rules.records_per_job = 3;
  expect_blocks(rules, numbers(1, 10), {"1\n2\n3\n", "4\n5\n6\n", "7\n8\n9\n", "10\n"});
  rules.records_per_job = 10;
  expect_blocks(rules, numbers(1, 3), {"1\n2\n3\n"});
}

TEST(BlockSplitter, RecordsPerJobSkipsASeparatorAtTheVeryStart) {
  // GNU parallel's nindex() looks from the second byte: a leading empty line joins the next.
  SplitRules rules = block(1 << 20);
  rules.records_per_job = 1;
  expect_blocks(rules, "\n\n\na\n\nb\n\n", {"\n\n", "\na\n", "\nb\n", "\n"});
}

TEST(BlockSplitter, LinesPerRecordAloneKeepsGroupsOfLinesWhole) {
  // GNU: seq 1 10 | parallel -k --pipe -L3 — whole groups of 3, the rest last.
  SplitRules rules = block(1 << 20);
  rules.lines_per_record = 3;
  expect_blocks(rules, numbers(1, 10), {numbers(1, 9), "10\n"});
  rules.block_size = 7;  // "1\n2\n3\n4" → only one whole group of three in the first read
  const Split got = split(rules, numbers(1, 10));
  EXPECT_EQ(got.blocks.front(), "1\n2\n3\n");
}

TEST(BlockSplitter, CsvCutsOnlyWhereARecordEnds) {
  // GNU: printf 'a,"b\nc",d\ne\n"x""y",z\n' | parallel --csv --pipe --block 4 -k 'echo ---; cat'
  // The newline inside the quoted field is no cut; the block grows to take the record.
  SplitRules rules = block(4);
  rules.csv = true;
  expect_blocks(rules, "a,\"b\nc\",d\ne\n\"x\"\"y\",z\n", {"a,\"b\nc\",d\n", "e\n\"x\"\"y\",z\n"});
  // -N is ignored: one block of everything that fits.
  rules.block_size = 1 << 20;
  rules.records_per_job = 1;
  expect_blocks(rules, "a\n\"b\nc\"\nd\n", {"a\n\"b\nc\"\nd\n"});
}

TEST(BlockSplitter, LinesPerRecordWithRecordsPerJobMultiplies) {
  SplitRules rules = block(1 << 20);
  rules.lines_per_record = 2;
  rules.records_per_job = 2;
  expect_blocks(rules, numbers(1, 10), {numbers(1, 4), numbers(5, 8), numbers(9, 10)});
}

TEST(BlockSplitter, RecstartAloneCutsBeforeARecordStart) {
  SplitRules rules = block(12);
  rules.recstart = ">";
  rules.recend = "";
  expect_blocks(rules, ">a\nAC\n>b\nGT\n>c\nTT\n", {">a\nAC\n", ">b\nGT\n", ">c\nTT\n"});
}

TEST(BlockSplitter, RecstartAndRecendMustBothMatch) {
  SplitRules rules = block(1 << 20);
  rules.recstart = "B";
  rules.recend = "E\n";
  rules.records_per_job = 1;
  // "E\nx" is no boundary: x is not a record start.
  expect_blocks(rules, "B1\nE\nxB2\nE\nB3\nE\n", {"B1\nE\nxB2\nE\n", "B3\nE\n"});
}

TEST(BlockSplitter, NulRecords) {
  SplitRules rules = block(1 << 20);
  rules.recend = std::string(1, '\0');
  rules.records_per_job = 1;
  const std::string input("one\0two words\0multi\nline\0\0last", 30);
  expect_blocks(rules, input,
                {std::string("one\0", 4), std::string("two words\0", 10),
                 std::string("multi\nline\0", 11), std::string("\0last", 5)});
}

TEST(BlockSplitter, RegexpSeparatorsArePerlRegexps) {
  SplitRules rules = block(1 << 20);
  rules.regexp = true;
  rules.recstart = ">seq\\d+ ";
  rules.recend = "";
  rules.records_per_job = 2;
  const std::string input = ">seq1 a\nAC\n>seq2 b\nG\n>seqX c\nT\n>seq3 d\nA\n";
  // ">seqX" is no record start: it stays inside the second record.
  expect_blocks(rules, input, {">seq1 a\nAC\n>seq2 b\nG\n>seqX c\nT\n", ">seq3 d\nA\n"});
}

TEST(BlockSplitter, RegexpCutsAtTheLastMatchWithinTheBlock) {
  SplitRules rules = block(10);
  rules.regexp = true;
  rules.recend = "(?i)end\n";
  expect_blocks(rules, "a END\nb end\nc END\n", {"a END\n", "b end\n", "c END\n"});
}

TEST(BlockSplitter, RegexpGarbageBeforeTheFirstRecordIsARecordOfItsOwn) {
  SplitRules rules = block(1 << 20);
  rules.regexp = true;
  rules.recstart = "s";
  rules.recend = "";
  rules.records_per_job = 1;
  expect_blocks(rules, "xx\nsa\nsb\n", {"xx\n", "sa\n", "sb\n"});
}

TEST(BlockSplitter, HeaderIsFoundOnceAndKeptApart) {
  SplitRules rules = block(1 << 20);
  rules.header = "(.*\n)";
  rules.records_per_job = 2;
  expect_blocks(rules, "NAME\n1\n2\n3\n", {"1\n2\n", "3\n"}, "NAME\n");
}

TEST(BlockSplitter, HeaderThatNeverMatchesLeavesEveryByteAsData) {
  SplitRules rules = block(1 << 20);
  rules.header = "zzz";
  expect_blocks(rules, "1\n2\n", {"1\n2\n"}, "");
}

TEST(BlockSplitter, MemoryHeldStaysNearTheBlockSize) {
  SplitRules rules = block(4096);
  BlockSplitter splitter(rules);
  const std::string line = std::string(99, 'x') + "\n";
  std::size_t most = 0;
  for (int i = 0; i < 100000; ++i) {  // 10 MB through, one block taken at a time
    splitter.append(line);
    while (splitter.next_block()) {
    }
    most = std::max(most, splitter.bytes_held());
  }
  EXPECT_LE(most, 2 * 4096u);
}

TEST(SplitRules, FromOptionsAppliesGnuParallelsDefaultsAndEscapes) {
  PipeOptions options;
  SplitRules rules = SplitRules::from(options);
  EXPECT_EQ(rules.recend, "\n");
  EXPECT_EQ(rules.recstart, "");
  EXPECT_EQ(rules.block_size, 1u << 20);
  options.recstart = ">";
  EXPECT_EQ(SplitRules::from(options).recend, "");
  options.recend = "\\0\\t\\r\\n\\\\\\x";
  EXPECT_EQ(SplitRules::from(options).recend, std::string("\0\t\r\n\\\\x", 7));
  options.header = "2";
  EXPECT_EQ(*SplitRules::from(options).header, "(.*\n)(.*\n)");
  options.header = ":";
  EXPECT_EQ(*SplitRules::from(options).header, "(.*\n)");
}

TEST(SplitRules, BadRegexpIsAUsageError) {
  SplitRules rules;
  rules.regexp = true;
  rules.recend = "(unclosed";
  EXPECT_THROW(BlockSplitter{rules}, UsageError);
}

TEST(ParseBlockSize, UnitsAsGnuParallel) {
  EXPECT_EQ(parse_block_size("--block", "10"), 10);
  EXPECT_EQ(parse_block_size("--block", "1k"), 1000);
  EXPECT_EQ(parse_block_size("--block", "1K"), 1024);
  EXPECT_EQ(parse_block_size("--block", "1.5k"), 1500);
  EXPECT_EQ(parse_block_size("--block", "2M"), 2 * 1024 * 1024);
  EXPECT_EQ(parse_block_size("--block", "1m"), 1000000);
  EXPECT_EQ(parse_block_size("--block", "1Gi"), 1024.0 * 1024 * 1024);
  EXPECT_EQ(parse_block_size("--block", "1t"), 1e12);
  EXPECT_EQ(parse_block_size("--block", "-3"), -3);
  for (const char* bad : {"0", "abc", "", "-", "1x", "1.2.3", "0.1", "k", "1kk", "-0"}) {
    EXPECT_THROW(parse_block_size("--block", bad), UsageError) << bad;
  }
}

}  // namespace
}  // namespace forkpool::cli
