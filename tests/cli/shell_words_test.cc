// direct_argv: which command lines may skip the shell. A wrong "yes" would change what a job
// does, so the refusals matter as much as the words.
#include "cli/shell_words.h"

#include <gtest/gtest.h>

namespace forkpool::cli {
namespace {

using Words = std::vector<std::string>;

TEST(DirectArgv, PlainWordsAndSingleQuotesAreExecd) {
  EXPECT_EQ(direct_argv("true"), Words{"true"});
  EXPECT_EQ(direct_argv("gzip -9 a.log"), (Words{"gzip", "-9", "a.log"}));
  EXPECT_EQ(direct_argv("cat 'a b' 'x$y'"), (Words{"cat", "a b", "x$y"}));
  EXPECT_EQ(direct_argv("cat %s: ''"), (Words{"cat", "%s:", ""}));
  EXPECT_EQ(direct_argv("ls  -l   /tmp"), (Words{"ls", "-l", "/tmp"}));
  EXPECT_EQ(direct_argv("dd if=a of=b"), (Words{"dd", "if=a", "of=b"}));
  EXPECT_EQ(direct_argv("cat 'a'b'c'"), (Words{"cat", "abc"}));
  EXPECT_EQ(direct_argv("wc 'line\nbreak'"), (Words{"wc", "line\nbreak"}));
}

TEST(DirectArgv, AnythingTheShellWouldInterpretStaysWithTheShell) {
  for (const char* command : {"echo a",
                              "printf x",
                              "test -f a",
                              "[ -f a ]",
                              "cd /",
                              "kill 1",
                              "pwd",
                              "read x",
                              "exit 3",
                              "A=b cmd",
                              "cmd a=b; x",
                              "cat a | wc",
                              "cat a > b",
                              "cat < a",
                              "cat a && b",
                              "cat $HOME",
                              "cat `x`",
                              "cat \"a\"",
                              "cat a\\ b",
                              "cat *.c",
                              "cat ?",
                              "cat [ab]",
                              "cat ~",
                              "cat #x",
                              "(cat)",
                              "{ cat; }",
                              "cat 'unclosed",
                              "cat\ta",
                              "if true",
                              "for x",
                              "while :",
                              "cat !x",
                              "",
                              "   ",
                              "''",
                              "time cat",
                              "true --help",
                              "false --version"}) {
    EXPECT_EQ(direct_argv(command), std::nullopt) << command;
  }
}

TEST(DirectArgv, TrueAndFalseAreExecdWithArguments) {
  EXPECT_EQ(direct_argv("true 1"), (Words{"true", "1"}));
  EXPECT_EQ(direct_argv("false --help x"), (Words{"false", "--help", "x"}));
}

}  // namespace
}  // namespace forkpool::cli
