// forkpool bench's command line: its own options, and the job handed to forkpool run's parser.
#include "cli/bench_options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace forkpool::cli {
namespace {

BenchOptions parse(const std::vector<std::string>& words) { return parse_bench_options(words); }

TEST(BenchOptions, WorkerListsTakeCountsAndRanges) {
  EXPECT_EQ(parse_worker_list("1,2,4"), (std::vector<unsigned>{1, 2, 4}));
  EXPECT_EQ(parse_worker_list("1-4"), (std::vector<unsigned>{1, 2, 3, 4}));
  EXPECT_EQ(parse_worker_list("8,1,6-7,2,1"), (std::vector<unsigned>{1, 2, 6, 7, 8}));
  EXPECT_EQ(parse_worker_list("3-3"), (std::vector<unsigned>{3}));
  EXPECT_EQ(parse_worker_list("250"), (std::vector<unsigned>{250}));
  for (const char* bad : {"", "0", "x", "1,", ",1", "1,,2", "4-2", "1-", "-3", "1-2-3", "251",
                          "1.5", "+2", "99999999999"}) {
    EXPECT_THROW(parse_worker_list(bad), UsageError) << bad;
  }
}

TEST(BenchOptions, OwnOptionsThenTheJob) {
  const BenchOptions o = parse({"--workers=1,2", "--runs", "5", "--json", "j", "--csv=c", "--plot",
                                "p.svg", "--", "gzip", "-9", ":::", "a", "b"});
  EXPECT_EQ(o.workers, (std::vector<unsigned>{1, 2}));
  EXPECT_EQ(o.runs, 5u);
  EXPECT_EQ(o.json, "j");
  EXPECT_EQ(o.csv, "c");
  EXPECT_EQ(o.plot, "p.svg");
  EXPECT_EQ(o.run.command, (std::vector<std::string>{"gzip", "-9"}));
  ASSERT_EQ(o.run.sources.size(), 1u);
  EXPECT_EQ(o.run.sources[0].values, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(o.label, "gzip -9");
}

TEST(BenchOptions, DefaultsAndNoSeparator) {
  const BenchOptions o = parse({"echo", "{}", ":::", "x"});
  EXPECT_TRUE(o.workers.empty());
  EXPECT_EQ(o.runs, 3u);
  EXPECT_EQ(o.run.command, (std::vector<std::string>{"echo", "{}"}));
}

TEST(BenchOptions, ForkpoolRunsJobOptionsPassThrough) {
  const BenchOptions o = parse(
      {"--runs", "1", "-n", "2", "--colsep", ",", "--timeout", "5", "-a", "args.txt", "wc", "-c"});
  EXPECT_EQ(o.run.args_per_job.max_args, 2u);
  EXPECT_EQ(o.run.colsep, ",");
  EXPECT_EQ(o.run.timeout.value, 5);
  ASSERT_EQ(o.run.sources.size(), 1u);
  EXPECT_EQ(o.run.sources[0].path, "args.txt");
  EXPECT_EQ(o.run.command, (std::vector<std::string>{"wc", "-c"}));
}

TEST(BenchOptions, HelpFromEitherParser) {
  EXPECT_TRUE(parse({"--help"}).help);
  EXPECT_TRUE(parse({"-n", "1", "--help"}).help);
}

TEST(BenchOptions, RefusesRunOptionsThatMeanNothingHere) {
  for (const std::vector<std::string>& words : std::vector<std::vector<std::string>>{
           {"-j2", "true", ":::", "1"},
           {"-k", "true", ":::", "1"},
           {"--tag", "true", ":::", "1"},
           {"--line-buffer", "true", ":::", "1"},
           {"--dry-run", "true", ":::", "1"},
           {"--joblog", "l", "true", ":::", "1"},
           {"--halt", "now,fail=1", "true", ":::", "1"},
           {"--shuf", "true", ":::", "1"},
           {"--results", "d", "true", ":::", "1"},
           {"--files", "true", ":::", "1"},
           {"--bar", "true", ":::", "1"},
           {"--workers", "1"},
           {"--runs", "1001", "true", ":::", "1"},
           {"--json"},
       }) {
    EXPECT_THROW(parse(words), UsageError) << words[0];
  }
}

}  // namespace
}  // namespace forkpool::cli
