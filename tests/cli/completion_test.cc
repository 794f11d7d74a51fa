// The bash completion (completion/forkpool.bash), run for real: bash sources it, sets
// COMP_WORDS and COMP_CWORD as readline would, calls the function `complete -F` registered,
// and prints COMPREPLY.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "cli/accepted_options.h"
#include "cli/run_options.h"
#include "support/files.h"

namespace forkpool::cli {
namespace {

using Words = std::set<std::string>;

std::string single_quoted(const std::string& word) {
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string stdout_of_bash(const std::string& script, const std::string& dir) {
  const std::string command = "cd " + single_quoted(dir) + " && bash -c " + single_quoted(script);
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string out;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  EXPECT_EQ(::pclose(pipe), 0) << script << "\n" << out;
  return out;
}

const std::string kSource =
    "source " + single_quoted(std::string(FORKPOOL_SOURCE_DIR) + "/completion/forkpool.bash") +
    "\n";

// The candidates for the last of `words` (the word being completed), run in `dir`.
Words complete(const std::vector<std::string>& words, const std::string& dir = "/") {
  std::string script = kSource + "COMP_WORDS=(";
  for (const std::string& w : words) script += single_quoted(w) + " ";
  script += ")\nCOMP_CWORD=" + std::to_string(words.size() - 1) + "\n";
  // The function the completion registered for forkpool, as bash would call it.
  script += "spec=$(complete -p forkpool) && fn=${spec#*-F } && fn=${fn%% *}\n";
  script += "\"$fn\" forkpool " + single_quoted(words.back()) + " " +
            single_quoted(words.size() > 1 ? words[words.size() - 2] : "") + "\n";
  script += "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
  Words candidates;
  const std::string out = stdout_of_bash(script, dir);
  std::size_t start = 0;
  for (std::size_t end; (end = out.find('\n', start)) != std::string::npos; start = end + 1) {
    if (end > start) candidates.insert(out.substr(start, end - start));
  }
  return candidates;
}

Words names(const std::vector<OptionName>& options) {
  Words words;
  for (const OptionName& o : options) words.insert(o.name);
  return words;
}

// The words of `a` that are not in `b`.
Words minus(const Words& a, const Words& b) {
  Words only;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(only, only.end()));
  return only;
}

// Offered exactly the options `accepted`: nothing missing, nothing the parser would refuse.
void expect_offers_exactly(const Words& offered, const Words& accepted) {
  EXPECT_EQ(minus(accepted, offered), Words{}) << "accepted by the parser, not offered";
  EXPECT_EQ(minus(offered, accepted), Words{}) << "offered, not accepted by the parser";
}

TEST(Completion, IsRegisteredForForkpool) {
  EXPECT_EQ(stdout_of_bash(kSource + "complete -p forkpool", "/"),
            "complete -F _forkpool forkpool\n");
}

TEST(Completion, TheCommandsAndTheGlobalOptions) {
  EXPECT_EQ(complete({"forkpool", ""}), (Words{"run", "bench", "worker"}));
  EXPECT_EQ(complete({"forkpool", "-v", "b"}), (Words{"bench"}));
  EXPECT_EQ(complete({"forkpool", "--"}), (Words{"--verbose", "--version", "--help"}));
  EXPECT_EQ(complete({"forkpool", "worker", "-"}), (Words{"--help"}));
}

TEST(Completion, RunOffersExactlyTheOptionsItsParserAccepts) {
  expect_offers_exactly(complete({"forkpool", "run", "-"}), names(run_option_names()));
  EXPECT_EQ(complete({"forkpool", "run", "-k", "--keep"}), (Words{"--keep-order", "--keeporder"}));
}

TEST(Completion, BenchOffersExactlyTheOptionsItsParserAccepts) {
  expect_offers_exactly(complete({"forkpool", "bench", "-"}), names(bench_accepted_options()));
}

TEST(Completion, FileNamesAfterTheFileSeparatorAndFileOptions) {
  testing::TempDir dir;
  dir.file("data1.txt", "");
  dir.file("data2.txt", "");
  dir.file("with space.txt", "");
  dir.file("other", "");
  const Words data{"data1.txt", "data2.txt"};
  EXPECT_EQ(complete({"forkpool", "run", "gzip", "::::", "da"}, dir.path()), data);
  EXPECT_EQ(complete({"forkpool", "run", "gzip", "::::+", "w"}, dir.path()),
            (Words{"with space.txt"}));
  EXPECT_EQ(complete({"forkpool", "run", "wc", ":::", "a", ":::", "d"}, dir.path()), data);
  EXPECT_EQ(complete({"forkpool", "run", "-a", "d"}, dir.path()), data);
  EXPECT_EQ(complete({"forkpool", "run", "--joblog", "d"}, dir.path()), data);
  EXPECT_EQ(complete({"forkpool", "bench", "--runs", "3", "--json", "d"}, dir.path()), data);
  EXPECT_EQ(
      complete({"forkpool", "bench", "--workers", "1,2", "--", "gzip", ":::", "o"}, dir.path()),
      (Words{"other"}));
}

TEST(Completion, TheSeparatorsAfterAColon) {
  // Readline replaces only what follows the word's last colon (':' is in COMP_WORDBREAKS), so
  // the candidates for ":" are what completes it to each separator.
  EXPECT_EQ(complete({"forkpool", "run", "echo", ":"}), (Words{"::", "::+", ":::", ":::+"}));
  EXPECT_EQ(complete({"forkpool", "run", "echo", "::::"}), (Words{"+"}));  // "::::" itself: ""
}

TEST(Completion, OptionValues) {
  EXPECT_EQ(complete({"forkpool", "run", "--halt", "soon"}),
            (Words{"soon,fail=1", "soon,success=1"}));
  EXPECT_EQ(complete({"forkpool", "run", "-j", ""}), Words{});  // a number: nothing to offer
}

TEST(Completion, TheJobsCommandThenItsArguments) {
  const Words commands = complete({"forkpool", "run", "-k", "--", "gzi"});
  EXPECT_TRUE(commands.count("gzip")) << "gzip is installed on every Debian system";
  // Once the command is given, a dash is the command's argument, not forkpool's option.
  testing::TempDir dir;
  EXPECT_EQ(complete({"forkpool", "run", "-j", "2", "gzip", "--ke"}, dir.path()), Words{});
}

}  // namespace
}  // namespace forkpool::cli
