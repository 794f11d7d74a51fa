// The forkpool executable's own options: --version, --help, and the log level it takes from
// FORKPOOL_LOG and -v/--verbose (cli/main.cc).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "serialization/messages.h"

namespace forkpool::cli {
namespace {

struct Output {
  int exit_code = -1;
  std::string text;
};

// Runs `env forkpool args` through the shell.
Output shell(const std::string& env, const std::string& args) {
  const std::string line = env + " " + FORKPOOL_BINARY + " " + args;
  FILE* pipe = ::popen(line.c_str(), "r");
  Output out;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.text.append(buffer, n);
  const int status = ::pclose(pipe);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// "1.2.3": three numbers and two dots.
bool is_version_number(const std::string& text) {
  return std::count(text.begin(), text.end(), '.') == 2 && text.front() != '.' &&
         text.back() != '.' && text.find("..") == std::string::npos &&
         text.find_first_not_of("0123456789.") == std::string::npos;
}

TEST(Main, VersionNamesTheProtocolVersion) {
  const Output out = shell("", "--version");
  EXPECT_EQ(out.exit_code, 0);
  const std::string prefix = "forkpool ";
  const std::string suffix =
      "\nprotocol version " + std::to_string(serialization::kProtocolVersion) + "\n";
  ASSERT_GT(out.text.size(), prefix.size() + suffix.size()) << out.text;
  EXPECT_EQ(out.text.substr(0, prefix.size()), prefix) << out.text;
  EXPECT_EQ(out.text.substr(out.text.size() - suffix.size()), suffix) << out.text;
  EXPECT_TRUE(is_version_number(
      out.text.substr(prefix.size(), out.text.size() - prefix.size() - suffix.size())))
      << out.text;
}

TEST(Main, HelpListsTheCommandsAndTheLogOptions) {
  const Output out = shell("", "--help");
  EXPECT_EQ(out.exit_code, 0);
  for (const char* word :
       {"\n  run ", "\n  bench ", "\n  worker ", "--verbose", "--version", "FORKPOOL_LOG"}) {
    EXPECT_NE(out.text.find(word), std::string::npos) << word;
  }
}

constexpr const char* kDebugLine = "[forkpool] [debug] forkpool ";

// stderr only; stdout must be the job's, whatever the log level.
Output run_stderr(const std::string& env, const std::string& options = "") {
  // An unset FORKPOOL_LOG is the empty one: the test's own environment must not leak in.
  const Output out =
      shell(env.empty() ? "FORKPOOL_LOG=" : env, options + " run echo ::: job 2>&1 >/dev/null");
  EXPECT_EQ(out.exit_code, 0) << env << " " << options << ": " << out.text;
  return out;
}

TEST(Main, TheDefaultLevelPrintsNoDebugLines) { EXPECT_EQ(run_stderr("FORKPOOL_LOG=").text, ""); }

TEST(Main, ForkpoolLogDebugPrintsDebugLines) {
  EXPECT_NE(run_stderr("FORKPOOL_LOG=debug").text.find(kDebugLine), std::string::npos);
  EXPECT_NE(run_stderr("FORKPOOL_LOG=forkpool=debug").text.find(kDebugLine), std::string::npos);
  EXPECT_EQ(run_stderr("FORKPOOL_LOG=forkpool=info").text, "");
}

TEST(Main, VerboseWinsOverTheEnvironment) {
  EXPECT_NE(run_stderr("FORKPOOL_LOG=off", "-v").text.find(kDebugLine), std::string::npos);
  EXPECT_NE(run_stderr("", "--verbose").text.find("log level debug"), std::string::npos);
  EXPECT_NE(run_stderr("", "-vv").text.find("log level trace"), std::string::npos);
  EXPECT_NE(run_stderr("", "-v --verbose").text.find("log level trace"), std::string::npos);
}

// A job that kills its worker (the shell's parent): forkpool run reports the lost job itself,
// and shows the pool's own warning about the death only when debug detail was asked for.
TEST(Main, RunShowsThePoolsWarningsOnlyWhenVerbose) {
  const std::string job = "run 'kill -9 $PPID' ::: 1 2>&1 >/dev/null";
  const Output quiet = shell("FORKPOOL_LOG=", job);
  EXPECT_EQ(quiet.exit_code, 1);
  EXPECT_NE(quiet.text.find("was lost: worker pid"), std::string::npos) << quiet.text;
  EXPECT_EQ(quiet.text.find("[warning]"), std::string::npos) << quiet.text;
  const Output verbose = shell("FORKPOOL_LOG=", "-v " + job);
  EXPECT_EQ(verbose.exit_code, 1);
  EXPECT_NE(verbose.text.find("was lost: worker pid"), std::string::npos) << verbose.text;
  EXPECT_NE(verbose.text.find("[warning] forkpool: worker pid"), std::string::npos) << verbose.text;
}

TEST(Main, AnUnknownLevelIsOneLineAndTheJobsStillRun) {
  const Output out = shell("FORKPOOL_LOG=chatty", "run echo ::: job 2>&1");
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.text,
            "forkpool: FORKPOOL_LOG: unknown log level 'chatty' ignored (trace, debug, info, "
            "warn, error, critical or off)\njob\n");
}

}  // namespace
}  // namespace forkpool::cli
