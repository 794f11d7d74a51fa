// ReplacementStrings: command words rewritten into text and Perl expressions, as GNU
// parallel 20221122's CommandLine::new() rewrites them.
#include "cli/replacement_strings.h"

#include <gtest/gtest.h>

namespace forkpool::cli {
namespace {

// The pieces of `word`, written as text and [expression].
std::string pieces(const RunOptions& o, const std::string& word) {
  std::string out;
  for (const WordPiece& p : ReplacementStrings(o).expand(word))
    out += p.expression ? "[" + p.text + "]" : p.text;
  return out;
}

TEST(ReplacementStrings, BuiltInsBecomeTheirPerl) {
  const RunOptions o;
  EXPECT_EQ(pieces(o, "x{}y"), "x[]y");
  EXPECT_EQ(pieces(o, "{#}{%}"), "[1 $_=$job->seq()][1 $_=$job->slot()]");
  EXPECT_EQ(pieces(o, "{.}"), "[" + std::string(kPerlDot) + "]");
  EXPECT_EQ(pieces(o, "{2/}"), "[2" + std::string(kPerlBase) + "]");
  EXPECT_EQ(pieces(o, "{-1 .}"), "[-1" + std::string(kPerlDot) + "]");
  // {N#}: the position and {#}'s own "1 " run together, as in GNU parallel.
  EXPECT_EQ(pieces(o, "{1#}"), "[11 $_=$job->seq()]");
  EXPECT_EQ(pieces(o, "{abc} { } {"), "{abc} { } {");
}

TEST(ReplacementStrings, PerlExpressionsPairTheShortestWay) {
  const RunOptions o;
  EXPECT_EQ(pieces(o, "a{= s/x/y/ =}b"), "a[ s/x/y/ ]b");
  EXPECT_EQ(pieces(o, "{={==}"), "{=[]");
  EXPECT_EQ(pieces(o, "{=}x=}"), "[}x]");
  EXPECT_EQ(pieces(o, "{=1 $_ =}{}"), "[1 $_ ][]");
  EXPECT_EQ(pieces(o, "only {= open"), "only {= open");
  // A replacement string inside an expression is left to perl.
  EXPECT_EQ(pieces(o, "{= $_='{}' =}"), "[ $_='{}' ]");
}

TEST(ReplacementStrings, RenamedAndAddedStrings) {
  RunOptions o;
  o.replacements.replace = "XX";
  o.replacements.seq = "SEQ";
  o.replacements.rpl = {"{u} $_=uc", "{r(\\d)} $_ x= $$1"};
  EXPECT_EQ(pieces(o, "XX{}"), "[]{}");
  EXPECT_EQ(pieces(o, "SEQ"), "[1 $_=$job->seq()]");
  EXPECT_EQ(pieces(o, "{u}{2u}"), "[$_=uc][2$_=uc]");
  EXPECT_EQ(pieces(o, "{r3}"), "[$_pAr_gRp1 = \"3\";$_ x= $_pAr_gRp1]");
}

TEST(ReplacementStrings, PlusAddsItsStringsLongestFirst) {
  RunOptions o;
  o.replacements.plus = true;
  EXPECT_EQ(pieces(o, "{..}"), "[s:\\.[^/.]*\\.[^/.]*$::]");
  EXPECT_EQ(pieces(o, "{:-d}"), "[$_pAr_gRp1 = \"d\";$_ ||= $_pAr_gRp1]");
  EXPECT_EQ(pieces(o, "{##}"), "[1 $_=total_jobs()]");
  EXPECT_EQ(pieces(o, "{%$}"),
            "[$_pAr_gRp1 = \"\\$\";$nongreedy=::make_regexp_ungreedy($_pAr_gRp1);"
            "s/(.*)$nongreedy$/$1/;]");
}

TEST(MergeExpressionWords, JoinsWordsThatSplitAnExpression) {
  using Words = std::vector<std::string>;
  EXPECT_EQ(merge_expression_words({"echo", "a{=", "s/a/b/", "=}b", "c"}),
            (Words{"echo", "a{= s/a/b/ =}b", "c"}));
  EXPECT_EQ(merge_expression_words({"{=", "x"}), (Words{"{= x"}));
  EXPECT_EQ(merge_expression_words({"{= a =}", "b"}), (Words{"{= a =}", "b"}));
}

}  // namespace
}  // namespace forkpool::cli
