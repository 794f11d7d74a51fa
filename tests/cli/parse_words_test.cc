// perl_shellwords(): Text::ParseWords::shellwords(), as GNU parallel splits $PARALLEL.
#include "cli/parse_words.h"

#include <gtest/gtest.h>

namespace forkpool::cli {
namespace {

using Words = std::vector<std::string>;

TEST(PerlShellwords, SplitsLikeTextParseWords) {
  EXPECT_EQ(perl_shellwords(""), Words{});
  EXPECT_EQ(perl_shellwords("   "), Words{});
  EXPECT_EQ(perl_shellwords("-k  --tag\t-j 2 "), (Words{"-k", "--tag", "-j", "2"}));
  EXPECT_EQ(perl_shellwords("a'b c'd"), Words{"ab cd"});
  EXPECT_EQ(perl_shellwords(R"(x "a \"b\" \$c")"), (Words{"x", "a \"b\" $c"}));
  // Inside '...' a backslash is kept, though \' does not end the string.
  EXPECT_EQ(perl_shellwords(R"('a\'b' 'c\d')"), (Words{"a\\'b", "c\\d"}));
  EXPECT_EQ(perl_shellwords(R"(a\ b c\\d)"), (Words{"a b", "c\\d"}));
  EXPECT_EQ(perl_shellwords("'' x"), (Words{"", "x"}));
}

TEST(PerlShellwords, UnbalancedQuotesGiveNoWordsAtAll) {
  EXPECT_EQ(perl_shellwords("-k 'open"), Words{});
  EXPECT_EQ(perl_shellwords("-k \"open"), Words{});
  EXPECT_EQ(perl_shellwords("-k trailing\\"), Words{});
}

}  // namespace
}  // namespace forkpool::cli
