// The manual pages (docs/man/*.scd) against the parsers and the --help texts: every option
// the parser accepts is named in its page, so that the two cannot drift apart.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "cli/accepted_options.h"
#include "cli/bench_options.h"
#include "cli/run_options.h"
#include "support/files.h"

namespace forkpool::cli {
namespace {

std::string page(const std::string& name) {
  const std::string text =
      testing::read_file(std::string(FORKPOOL_SOURCE_DIR) + "/docs/man/" + name);
  EXPECT_FALSE(text.empty()) << "cannot read docs/man/" << name;
  return text;
}

// scdoc's bold: the page names an option as *--jobs* (an underscore escaped: *--a\_b*).
bool names_option(const std::string& text, const std::string& option) {
  std::string escaped;
  for (char c : option) escaped += c == '_' ? std::string("\\_") : std::string(1, c);
  return text.find("*" + option + "*") != std::string::npos ||
         text.find("*" + escaped + "*") != std::string::npos;
}

std::vector<std::string> missing_from(const std::string& text,
                                      const std::vector<OptionName>& options) {
  std::vector<std::string> missing;
  for (const OptionName& o : options) {
    if (!names_option(text, o.name)) missing.push_back(o.name);
  }
  return missing;
}

std::string stdout_of(const std::string& args) {
  const std::string command = std::string(FORKPOOL_BINARY) + " " + args;
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string out;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  EXPECT_EQ(::pclose(pipe), 0) << command;
  return out;
}

// The option names a --help text lists: the "-x, --long" at the start of its indented lines.
// (Parsed by hand: GCC 12 warns falsely inside std::regex when built with sanitizers.)
std::vector<OptionName> options_in_help(const std::string& help) {
  std::vector<OptionName> options;
  std::istringstream lines(help);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("  -", 0) != 0) continue;
    for (std::size_t i = 2; i < line.size() && line[i] == '-';) {
      const std::size_t end = std::min(line.find_first_of(" ,", i), line.size());
      options.push_back({line.substr(i, end - i), false});
      if (line.compare(end, 3, ", -") != 0) break;
      i = end + 2;
    }
  }
  return options;
}

TEST(ManPage, RunNamesEveryOptionTheParserAccepts) {
  const std::vector<OptionName> options = run_option_names();
  ASSERT_GT(options.size(), 40u);  // the parser's table, every spelling
  EXPECT_EQ(missing_from(page("forkpool-run.1.scd"), options), std::vector<std::string>{});
}

TEST(ManPage, RunHasTheReplacementStringsExitStatusAndDifferences) {
  const std::string text = page("forkpool-run.1.scd");
  for (const char* s :
       {"*{}*", "*{.}*", "*{/}*", "*{//}*", "*{/.}*", "*{#}*", "*{%}*", "# REPLACEMENT STRINGS",
        "# EXIT STATUS", "# DIFFERENCES FROM GNU PARALLEL", "*255*", "*101*", "*141*"}) {
    EXPECT_NE(text.find(s), std::string::npos) << s;
  }
}

TEST(ManPage, BenchNamesItsOptionsAndEveryRunOptionItAccepts) {
  std::vector<std::string> errors;
  const std::vector<OptionName> accepted = bench_accepted_options(&errors);
  EXPECT_EQ(errors, std::vector<std::string>{});
  ASSERT_GT(accepted.size(), 20u);
  EXPECT_EQ(missing_from(page("forkpool-bench.1.scd"), accepted), std::vector<std::string>{});
}

TEST(ManPage, EachPageNamesWhatItsHelpLists) {
  struct Case {
    const char* args;
    const char* page;
  };
  for (const Case& c : {Case{"--help", "forkpool.1.scd"}, Case{"run --help", "forkpool-run.1.scd"},
                        Case{"bench --help", "forkpool-bench.1.scd"},
                        Case{"worker --help", "forkpool-worker.1.scd"}}) {
    const std::vector<OptionName> listed = options_in_help(stdout_of(c.args));
    if (std::string(c.args) != "worker --help") {
      EXPECT_FALSE(listed.empty()) << c.args;
    }
    EXPECT_EQ(missing_from(page(c.page), listed), std::vector<std::string>{}) << c.args;
  }
}

TEST(ManPage, TheMainPageNamesEveryCommand) {
  const std::string text = page("forkpool.1.scd");
  for (const char* command : {"run", "bench", "worker"}) {
    EXPECT_TRUE(names_option(text, command)) << command;
    EXPECT_NE(text.find(std::string("*forkpool-") + command + "*(1)"), std::string::npos)
        << command;
  }
}

}  // namespace
}  // namespace forkpool::cli
