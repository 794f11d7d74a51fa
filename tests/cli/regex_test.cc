// Regex: Perl's dialect through PCRE2, as GNU parallel's --colsep and --recstart/--recend
// see it.
#include "cli/regex.h"

#include <gtest/gtest.h>

#include "cli/run_options.h"

namespace forkpool::cli {
namespace {

using Match = std::optional<std::pair<std::size_t, std::size_t>>;

TEST(Regex, SpeaksPerlsDialect) {
  EXPECT_EQ(Regex::compile("a.*?b").search("xaabab"), (Match{{1, 4}}));  // non-greedy
  EXPECT_EQ(Regex::compile("(?i)ABC").search("xxabc"), (Match{{2, 5}}));
  EXPECT_EQ(Regex::compile("\\s+").search("a \t b"), (Match{{1, 4}}));
  EXPECT_EQ(Regex::compile("\\d\\w").search("--7x"), (Match{{2, 4}}));
  EXPECT_EQ(Regex::compile("(?<=a)b").search("bab"), (Match{{2, 3}}));
  EXPECT_EQ(Regex::compile("z").search("abc"), Match{});
}

TEST(Regex, SearchesFromAStartThatStillSeesWhatIsBeforeIt) {
  const Regex r = Regex::compile("(?<=x)y");
  EXPECT_EQ(r.search("xyxy", 2), (Match{{3, 4}}));
  EXPECT_EQ(r.search("xy", 3), Match{});  // past the end
  const Regex b = Regex::compile("\\bw");
  EXPECT_EQ(b.search("ww w", 1), (Match{{3, 4}}));  // the w at 1 is not at a word boundary
}

TEST(Regex, AnEmptyMatchAtTheStartCanBeRefused) {
  const Regex r = Regex::compile("x*");
  EXPECT_EQ(r.search("abc", 1), (Match{{1, 1}}));
  EXPECT_EQ(r.search("abxc", 1, /*not_empty_at_start=*/true), (Match{{2, 3}}));
}

TEST(Regex, BytesAreBytesNotUtf8) {
  // Perl without `use utf8` (as GNU parallel runs): '.' is one byte, invalid UTF-8 is fine.
  EXPECT_EQ(Regex::compile("^.").search("\xc3\xa9"), (Match{{0, 1}}));
  EXPECT_EQ(Regex::compile("\xff").search("a\xff"), (Match{{1, 2}}));
}

TEST(Regex, ABadPatternIsOneUsageErrorNamingTheOption) {
  try {
    Regex::compile("a(b", "--colsep");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("--colsep"), std::string::npos) << what;
    EXPECT_NE(what.find("'a(b'"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

TEST(Regex, MovesKeepTheCompiledPattern) {
  Regex r = Regex::compile("b");
  Regex moved = std::move(r);
  EXPECT_EQ(moved.search("ab"), (Match{{1, 2}}));
}

}  // namespace
}  // namespace forkpool::cli
