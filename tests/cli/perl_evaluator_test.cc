// PerlEvaluator: one perl coprocess for the run, compiling each expression once.
#include "cli/perl_evaluator.h"

#include <gtest/gtest.h>

#include "cli/run_options.h"
#include "support/leak_check.h"

namespace forkpool::cli {
namespace {

TEST(PerlEvaluator, EvaluatesExpressionsWithWhatGnuParallelProvides) {
  testing::LeakCheck leaks;
  {
    PerlEvaluator perl(
        {"s/a/b/g", "$_ = $job->seq() . ':' . slot() . ':' . total_jobs()", "$_ = Q($_)",
         "$_ .= ' x'; uq()", "$_ = $Global::max_jobs_running", "$_ = undef"},
        7);
    EXPECT_EQ(perl.eval(0, "banana", 1, 1, 0).text, "bbnbnb");
    EXPECT_EQ(perl.eval(1, "", 12, 3, 40).text, "12:3:40");
    EXPECT_EQ(perl.eval(2, "a b", 1, 1, 0).text, "'a b'");
    const PerlEvaluator::Value v = perl.eval(3, "a", 1, 1, 0);
    EXPECT_EQ(v.text, "a x");
    EXPECT_TRUE(v.unquoted);
    EXPECT_FALSE(perl.eval(0, "a", 1, 1, 0).unquoted);  // uq() holds for one evaluation
    EXPECT_EQ(perl.eval(4, "", 1, 1, 0).text, "7");
    EXPECT_EQ(perl.eval(5, "a", 1, 1, 0).text, "");
    // Any bytes, either way.
    const std::string bytes("\0\n\xff 5\n", 6);
    EXPECT_EQ(perl.eval(0, bytes, 1, 1, 0).text, bytes);
  }
  leaks.check();  // perl reaped, its pipes closed
}

TEST(PerlEvaluator, StateLivesForTheRunInOneInterpreter) {
  PerlEvaluator perl({"$_ = ++$n", "$_ = $$"}, 1);
  EXPECT_EQ(perl.eval(0, "", 1, 1, 0).text, "1");
  EXPECT_EQ(perl.eval(0, "", 2, 1, 0).text, "2");
  EXPECT_EQ(perl.eval(1, "", 1, 1, 0).text, perl.eval(1, "", 2, 1, 0).text);
}

TEST(PerlEvaluator, ACompileErrorIsAUsageErrorNamingTheExpression) {
  testing::LeakCheck leaks;
  try {
    PerlEvaluator perl({"s/a/b/", "s/(/x/"}, 1);
    FAIL() << "no error";
  } catch (const UsageError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("cannot use perl expression 's/(/x/': ", 0), 0u) << what;
  }
  leaks.check();
}

TEST(PerlEvaluator, ADyingExpressionIsAUsageErrorAndPerlGoesOn) {
  PerlEvaluator perl({"die 'no'", "$_ = 1"}, 1);
  EXPECT_THROW(perl.eval(0, "a", 1, 1, 0), UsageError);
  EXPECT_EQ(perl.eval(1, "a", 1, 1, 0).text, "1");
}

TEST(PerlEvaluator, SkipIsReportedForItsEvaluationOnly) {
  PerlEvaluator perl({"skip() if /b/", "$job->skip(); $_ .= 'x'", "uq(); skip()"}, 1);
  EXPECT_FALSE(perl.eval(0, "a", 1, 1, 0).skip);
  EXPECT_TRUE(perl.eval(0, "b", 2, 1, 0).skip);
  EXPECT_FALSE(perl.eval(0, "c", 3, 1, 0).skip);  // not left over from the job before
  const PerlEvaluator::Value v = perl.eval(1, "a", 4, 1, 0);
  EXPECT_TRUE(v.skip);
  EXPECT_EQ(v.text, "ax");
  EXPECT_TRUE(perl.eval(2, "a", 5, 1, 0).skip);
  EXPECT_TRUE(perl.eval(2, "a", 5, 1, 0).unquoted);
}

TEST(PerlEvaluator, ArgHoldsEveryArgumentOfTheJob) {
  PerlEvaluator perl({"$_ = join('|', @arg) . ':' . $#arg . ':' . $arg[1]", "$_ = scalar(@arg)"},
                     1);
  // 1-based, as in GNU parallel: $arg[0] is undefined.
  const std::vector<std::string_view> three{"a", "b c", ""}, one{"x"};
  EXPECT_EQ(perl.eval(0, "a", 1, 1, 0, three).text, "|a|b c|:3:a");
  EXPECT_EQ(perl.eval(0, "x", 2, 1, 0, one).text, "|x:1:x");
  EXPECT_EQ(perl.eval(1, "x", 3, 1, 0, {}).text, "1");
}

TEST(PerlQuote, EscapesWhatPerlInterpolates) {
  EXPECT_EQ(perl_quote(R"(a\b"c$d@e)"), R"(a\\b\"c\$d\@e)");
  EXPECT_EQ(perl_quote("plain"), "plain");
}

}  // namespace
}  // namespace forkpool::cli
