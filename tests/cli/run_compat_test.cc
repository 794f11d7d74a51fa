// `forkpool run` against GNU parallel 20221122, the reference: the same command line, run by
// both tools from the same working directory with the same stdin and environment, must give
// byte-identical stdout and the same exit status (and, where a case says so, the same stderr,
// joblog and --results tree).
//
// Each case is one line of arguments, as shell text after the tool's name. Both tools run it
// through `/bin/sh -c`, so quoting in a case means what it means in a shell. GNU parallel gets
// --will-cite (forkpool would ignore it) and a private HOME (it writes ~/.parallel). Neither
// gets PARALLEL_SHELL unless a case sets it: both then run jobs in the shell they find among
// their ancestors, as GNU parallel does; kBash cases run from bash, with exported functions. Cases
// whose output order depends on timing use -k or -j1: when GNU parallel itself is nondeterministic
// the case is fixed, never the comparison.
//
// To check the harness itself, run GNU parallel on both sides:
//   FORKPOOL_COMPAT_SUBJECT='/usr/bin/parallel --will-cite' cli_compat_tests
// Every case must pass then.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cli/compat_cases.h"
#include "cli/run_support.h"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kDeadline = 60s;  // per tool run; only detects hangs

constexpr const char* kReference = "/usr/bin/parallel --will-cite";

// ---- Comparing --------------------------------------------------------------------------------

bool inherited_setting(const std::string& name) {
  // GNU parallel reads PARALLEL (default options) and the job variables; a run inside a
  // parallel job must not leak them into both tools.
  return name.rfind("PARALLEL", 0) == 0 || name == "HOME" || name == "TMPDIR" || name == "LC_ALL" ||
         name == "LANG" || name == "LANGUAGE";
}

struct ToolRun {
  Outcome first;  // the first_run, if any
  Outcome main;
  std::string joblog;
  std::map<std::string, std::string> results;  // relative path -> "file:<bytes>" or "dir"
  std::vector<std::string> temp_files;         // kTempFiles: the contents, sorted
};

std::map<std::string, std::string> tree(const std::string& root) {
  std::map<std::string, std::string> files;
  if (!exists(root)) return files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    const std::string rel = std::filesystem::relative(e.path(), root).string();
    if (e.is_directory()) {
      files[rel] = "dir";
    } else {
      files[rel] = "file:" + read_file(e.path().string());
    }
  }
  return files;
}

// A HOME for GNU parallel with its per-machine cache already filled in. In a new HOME, GNU
// parallel first measures the longest command line the system takes (~/.parallel/tmp/...),
// which costs it about 0.6 s per run, more than most cases take. The template is made once
// per machine and user, in $TMPDIR, atomically (concurrent tests may race to make it), and
// each test copies it: GNU parallel still gets a private HOME of its own.
std::string parallel_home_template(const std::vector<std::string>& env) {
  const char* tmp = std::getenv("TMPDIR");
  std::string final_path = std::string(tmp && *tmp ? tmp : "/tmp") +
                           "/forkpool-compat-parallel-home-" + std::to_string(::getuid());
  if (exists(final_path + "/.parallel")) return final_path;
  TempDir making;
  std::vector<std::string> making_env = env;
  making_env.push_back("HOME=" + making.path());
  Launch l;
  l.argv = {"/bin/sh", "-c", std::string(kReference) + " true ::: 1"};
  l.dir = making.path();
  l.env = making_env;
  run_to_end(l, kDeadline);
  std::error_code ignored;
  // The loser of a race finds the winner's template in place and keeps it.
  std::filesystem::rename(making.path(), final_path, ignored);
  if (ignored) std::filesystem::remove_all(making.path(), ignored);
  ::mkdir(making.path().c_str(), 0700);  // for TempDir's destructor
  return final_path;
}

// --files's output files in `dir`: par*.par, as both tools name them.
std::vector<std::string> temp_file_names(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 7 && name.rfind("par", 0) == 0 && name.ends_with(".par"))
      names.push_back(e.path().string());
  }
  return names;
}

std::vector<std::string> temp_files(const std::string& dir) {
  std::vector<std::string> contents;
  for (const std::string& f : temp_file_names(dir)) contents.push_back(read_file(f));
  std::sort(contents.begin(), contents.end());
  return contents;
}

// `text` with every name of a file in `dir` that --files made replaced by "<file>".
std::string without_temp_names(std::string text, const std::string& dir) {
  const std::string prefix = dir + "/par";
  for (std::size_t at; (at = text.find(prefix)) != std::string::npos;) {
    const std::size_t end = text.find(".par", at + prefix.size());
    if (end == std::string::npos) break;
    text.replace(at, end + 4 - at, "<file>");
  }
  return text;
}

class RunCompatTest : public ::testing::TestWithParam<CompatCase> {
 protected:
  void SetUp() override {
    subject_ = std::string(FORKPOOL_BINARY) + " run";
    if (const char* s = std::getenv("FORKPOOL_COMPAT_SUBJECT"); s != nullptr && *s != '\0') {
      subject_ = s;
    }
    std::filesystem::create_directory(base_ / "tmp");
    env_ = environment_with(inherited_setting, {"TMPDIR=" + (base_ / "tmp"), "LC_ALL=C"});
    home_template_ = parallel_home_template(env_);
    env_.push_back("HOME=" + (base_ / "home"));
  }

  // Runs the case with `tool` in a freshly set-up working directory (the same path for both
  // tools), and collects what the case compares.
  ToolRun run_with(const std::string& tool) {
    const CompatCase& c = GetParam();
    const std::string work = base_ / "work";
    std::filesystem::remove_all(work);
    std::filesystem::remove_all(base_ / "home");
    for (const std::string& f : temp_file_names(base_ / "tmp")) std::filesystem::remove(f);
    std::filesystem::create_directory(work);
    std::filesystem::copy(home_template_, base_ / "home", std::filesystem::copy_options::recursive);
    write_fixtures(work);
    auto run = [&](const char* args) {
      Launch l;
      if (c.checks & kBash) {
        l.argv = {"/bin/bash", "-c", std::string(kBashPrelude) + tool + " " + args};
      } else if (c.checks & kTcsh) {
        l.argv = {"/bin/tcsh", "-f", "-c", tool + " " + args};
      } else {
        l.argv = {"/bin/sh", "-c", tool + " " + args};
      }
      l.dir = work;
      if (c.stdin_file != nullptr) l.stdin_path = work + "/" + c.stdin_file;
      l.env = env_;
      if (c.checks & kShellSh) l.env->push_back("PARALLEL_SHELL=/bin/sh");
      if (c.env != nullptr) l.env->push_back(c.env);
      if (c.checks & kShellBash) l.env->push_back("PARALLEL_SHELL=bash");
      if (c.checks & kTcsh) {
        std::erase_if(*l.env, [](const std::string& e) { return e.rfind("SHELL=", 0) == 0; });
        l.env->push_back("SHELL=/bin/tcsh");
      }
      return run_to_end(l, kDeadline);
    };
    ToolRun r;
    if (c.first_run != nullptr) r.first = run(c.first_run);
    r.main = run(c.args);
    r.joblog = read_file(work + "/log");
    r.results = tree(work + "/res");
    // --results res.csv, res.tsv, res.json: one file beside the tree.
    for (const auto& e : std::filesystem::directory_iterator(work)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("res.", 0) == 0) r.results[name] = "file:" + read_file(e.path().string());
    }
    r.temp_files = temp_files(base_ / "tmp");
    return r;
  }

  TempDir base_;
  std::string subject_;
  std::string home_template_;
  std::vector<std::string> env_;
};

std::string sorted_lines(const std::string& text) {
  std::vector<std::string> lines = split_lines(text);
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

// The joblog with the two time columns blanked out, after checking that they are written as
// GNU parallel writes them: Starttime as "%.3f" seconds since the epoch (and close to now),
// JobRuntime as "%10.3f".
std::string joblog_without_times(const std::string& log, const char* who) {
  const double now = static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  std::string out;
  for (const std::string& line : split_lines(log)) {
    std::vector<std::string> f;
    std::size_t start = 0;
    // The command (the 9th column) may itself hold tabs.
    while (f.size() < 8) {
      const std::size_t tab = line.find('\t', start);
      if (tab == std::string::npos) break;
      f.push_back(line.substr(start, tab - start));
      start = tab + 1;
    }
    f.push_back(line.substr(start));
    if (f.size() != 9) {
      ADD_FAILURE() << who << ": joblog line without 9 columns: " << line;
      out += line + "\n";
      continue;
    }
    if (f[0] != "Seq") {
      EXPECT_TRUE(full_match("[0-9]+\\.[0-9]{3}", f[2])) << who << ": Starttime " << f[2];
      EXPECT_NEAR(std::atof(f[2].c_str()), now, 600) << who << ": Starttime " << f[2];
      EXPECT_TRUE(full_match(" *[0-9]+\\.[0-9]{3}", f[3]) && f[3].size() == 10)
          << who << ": JobRuntime '" << f[3] << "'";
      f[2] = "<start>";
      f[3] = "<runtime>";
    }
    for (std::size_t i = 0; i < f.size(); ++i) out += (i ? "\t" : "") + f[i];
    out += "\n";
  }
  return out;
}

bool is_time(const std::string& field) {
  const std::size_t dot = field.find('.');
  return dot != std::string::npos && dot > 0 && field.size() == dot + 4 &&
         field.find_first_not_of("0123456789.") == std::string::npos &&
         field.find('.', dot + 1) == std::string::npos;
}

// A --results table (CSV, TSV or JSON rows) with the Starttime and JobRuntime columns replaced
// by <time>, after checking that each is written as GNU parallel writes them ("%.3f") and
// that the start is close to now.
std::string table_without_times(const std::string& text, const char* who) {
  const double now = static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  std::string out;
  for (const std::string& line : split_lines(text)) {
    std::string rest = line;
    std::vector<std::string> times;
    if (line.rfind("{ \"Seq\": ", 0) == 0) {  // JSON: "Starttime": S, "JobRuntime": R,
      for (const char* key : {"\"Starttime\": ", "\"JobRuntime\": "}) {
        const std::size_t at = rest.find(key);
        const std::size_t from = at == std::string::npos ? at : at + std::strlen(key);
        const std::size_t comma = from == std::string::npos ? from : rest.find(',', from);
        if (comma == std::string::npos) break;
        times.push_back(rest.substr(from, comma - from));
        rest.replace(from, comma - from, "<time>");
      }
    } else {  // CSV or TSV: Seq, ":", Starttime, JobRuntime, ...
      const char sep = line.find('\t') < line.find(',') ? '\t' : ',';
      std::vector<std::size_t> seps;
      for (std::size_t at = 0; seps.size() < 4 && (at = line.find(sep, at)) != std::string::npos;
           ++at)
        seps.push_back(at);
      if (seps.size() == 4 && line.rfind("Seq", 0) != 0 &&
          line.substr(seps[0] + 1, seps[1] - seps[0] - 1) == ":") {
        times.push_back(line.substr(seps[1] + 1, seps[2] - seps[1] - 1));
        times.push_back(line.substr(seps[2] + 1, seps[3] - seps[2] - 1));
        rest = line.substr(0, seps[1] + 1) + "<time>" + sep + "<time>" + line.substr(seps[3]);
      }
    }
    for (std::size_t i = 0; i < times.size(); ++i)
      EXPECT_TRUE(is_time(times[i])) << who << ": time column '" << times[i] << "' in " << line;
    if (!times.empty()) {
      EXPECT_NEAR(std::atof(times[0].c_str()), now, 600) << who << ": " << line;
    }
    out += rest + "\n";
  }
  return out;
}

std::map<std::string, std::string> tables_without_times(std::map<std::string, std::string> files,
                                                        const char* who) {
  for (auto& [path, content] : files)
    if (content.rfind("file:", 0) == 0)
      content = "file:" + table_without_times(content.substr(5), who);
  return files;
}

std::string describe_tree_difference(const std::map<std::string, std::string>& want,
                                     const std::map<std::string, std::string>& got) {
  std::string d;
  for (const auto& [path, content] : want) {
    auto it = got.find(path);
    if (it == got.end()) {
      d += "missing: " + path + "\n";
    } else if (it->second != content) {
      d += "differs: " + path + "\n" + describe_difference(content, it->second);
    }
  }
  for (const auto& [path, content] : got) {
    if (!want.count(path)) d += "unexpected: " + path + "\n";
  }
  return d;
}

TEST_P(RunCompatTest, SameOutputAndStatusAsGnuParallel) {
  const CompatCase& c = GetParam();
  if (c.known_failure != nullptr && subject_ != kReference) GTEST_SKIP() << c.known_failure;
  const ToolRun want = run_with(kReference);
  const ToolRun got = run_with(subject_);
  SCOPED_TRACE(std::string("case: ") + c.args);
  ASSERT_FALSE(want.main.hung) << "GNU parallel hung";
  ASSERT_FALSE(got.main.hung) << "hung: still running after " << kDeadline.count() << " s";
  // Both must at least have exited: a crash is never what GNU parallel does.
  ASSERT_NE(want.main.exit_code, -1) << "GNU parallel was killed: status " << want.main.status;
  EXPECT_EQ(got.main.exit_code, want.main.exit_code) << "exit status; stderr:\n"
                                                     << got.main.err << "GNU parallel's stderr:\n"
                                                     << want.main.err;
  if (c.checks & kExitOnly) return;

  if (c.first_run != nullptr) {
    EXPECT_EQ(got.first.exit_code, want.first.exit_code) << "first run's exit status";
    EXPECT_EQ(got.first.out, want.first.out)
        << "first run's stdout: " << describe_difference(want.first.out, got.first.out);
  }
  std::string want_out = want.main.out, got_out = got.main.out;
  if (c.checks & kTempFiles) {
    want_out = without_temp_names(want_out, base_ / "tmp");
    got_out = without_temp_names(got_out, base_ / "tmp");
    EXPECT_EQ(got.temp_files, want.temp_files) << "--files' files";
  }
  if (c.checks & kTimes) {
    want_out = table_without_times(want_out, "GNU parallel");
    got_out = table_without_times(got_out, "forkpool");
  }
  if (c.checks & kSorted) {
    const std::string w = sorted_lines(want.main.out), g = sorted_lines(got.main.out);
    EXPECT_EQ(g, w) << "stdout (sorted): " << describe_difference(w, g);
  } else {
    EXPECT_TRUE(got_out == want_out) << "stdout: " << describe_difference(want_out, got_out);
  }
  if (c.checks & kStderr) {
    EXPECT_TRUE(got.main.err == want.main.err)
        << "stderr: " << describe_difference(want.main.err, got.main.err);
  }
  if (c.checks & kJoblog) {
    ASSERT_FALSE(want.joblog.empty()) << "GNU parallel wrote no joblog";
    const std::string w = joblog_without_times(want.joblog, "GNU parallel");
    const std::string g = joblog_without_times(got.joblog, "forkpool");
    EXPECT_TRUE(g == w) << "joblog: " << describe_difference(w, g);
  }
  if (c.checks & kResults) {
    ASSERT_FALSE(want.results.empty()) << "GNU parallel wrote no results";
    std::map<std::string, std::string> w = want.results, g = got.results;
    if (c.checks & kTempFiles) {
      for (auto* files : {&w, &g})
        for (auto& [path, content] : *files) content = without_temp_names(content, base_ / "tmp");
    }
    if (c.checks & kTimes) {
      w = tables_without_times(w, "GNU parallel");
      g = tables_without_times(g, "forkpool");
    }
    EXPECT_TRUE(g == w) << "--results tree:\n" << describe_tree_difference(w, g);
  }
}

INSTANTIATE_TEST_SUITE_P(GnuParallel, RunCompatTest, ::testing::ValuesIn(compat_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(RunCompatCases, NamesAreUniqueAndThereAreEnough) {
  std::vector<std::string> names;
  for (const CompatCase& c : compat_cases()) names.emplace_back(c.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
  EXPECT_GE(names.size(), 200u);
}

}  // namespace
}  // namespace forkpool::testing
