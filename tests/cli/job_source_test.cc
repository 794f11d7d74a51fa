// JobSource and CommandTemplate: input order, linking, files and stdin, -0, --colsep,
// -n/-N/-X/-m, replacement strings, quoting, --tag, --results layout, streaming — and,
// above all, the same command lines as GNU parallel's --dry-run, byte for byte. Over 500
// lines: most of it is tables of command lines and the lines GNU parallel made of them.
#include "cli/job_source.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cli/job_internal.h"
#include "support/files.h"

namespace forkpool::cli {
namespace {

using Words = std::vector<std::string>;
using forkpool::testing::TempDir;
namespace fs = std::filesystem;

// Stdin replaced by a file for the life of the object (JobSource reads fd 0 for "-").
class StdinFrom {
 public:
  explicit StdinFrom(const std::string& path) : saved_(::dup(STDIN_FILENO)) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    ::dup2(fd, STDIN_FILENO);
    ::close(fd);
  }
  ~StdinFrom() {
    ::dup2(saved_, STDIN_FILENO);
    ::close(saved_);
  }

 private:
  int saved_;
};

RunOptions options(const Words& words, unsigned slots = 1) {
  RunOptions o = parse_run_options(words);
  o.job_slots = slots;
  return o;
}

// What --dry-run prints: command(job, slot 1) per job.
std::string dry_run(const Words& words, unsigned slots = 1) {
  RunOptions o = options(words, slots);
  JobSource source(o);
  CommandTemplate templ(o);
  std::string out;
  while (auto job = source.next()) out += templ.command(*job, 1) + "\n";
  return out;
}

std::vector<JobInput> all_jobs(const RunOptions& o) {
  JobSource source(o);
  std::vector<JobInput> jobs;
  while (auto job = source.next()) jobs.push_back(std::move(*job));
  return jobs;
}

std::string usage_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

// --- the differential test against GNU parallel -------------------------------------------

// Single-quotes a word for /bin/sh, independently of the code under test.
std::string sh_word(const std::string& w) {
  std::string out = "'";
  for (char c : w) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

bool have_gnu_parallel() { return ::access("/usr/bin/parallel", X_OK) == 0; }

// GNU parallel's --dry-run -j1 output for `words`, stdin from `stdin_path`.
std::string gnu_dry_run(const Words& words, const std::string& stdin_path) {
  std::string cmd = "PARALLEL_SHELL=/bin/sh /usr/bin/parallel --will-cite --dry-run -j1";
  for (const std::string& w : words) cmd += " " + sh_word(w);
  cmd += " <" + sh_word(stdin_path) + " 2>/dev/null";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  std::string out;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  ::pclose(pipe);
  return out;
}

struct DiffCase {
  Words words;  // @F1@ @F2@ @F3@ @EMPTY@ name the fixture files
  std::string stdin_text;
};

const std::vector<DiffCase>& diff_cases() {
  static const std::vector<DiffCase> cases = {
      // Sources: order, linking, files, stdin.
      {{"echo", ":::", "a", "b", ":::", "1", "2"}, ""},
      {{"echo", ":::", "a", "b", ":::", "1", "2", ":::", "x", "y"}, ""},
      {{"echo", ":::", "a", "b", "c", ":::+", "1", "2"}, ""},
      {{"echo", ":::", "a", "b", ":::+", "1", "2", "3"}, ""},
      {{"echo", ":::", "a", "b", "c", ":::+", "1", "2", ":::", "x", "y"}, ""},
      {{"echo", ":::", "a", "b", ":::", "1", "2", "3", ":::+", "x", "y"}, ""},
      {{"echo", "::::", "@F1@", "@F2@"}, ""},
      {{"echo", "::::+", "@F1@", "@F2@"}, ""},
      {{"echo", ":::", "a", "b", "::::", "@F1@"}, ""},
      {{"echo", "::::", "@F1@", ":::", "a", "b"}, ""},
      {{"-a", "@F1@", "-a", "@F2@", "echo"}, ""},
      {{"-a", "@F1@", "echo", ":::", "p", "q"}, ""},
      {{"-a", "@F1@", "echo", ":::", "a", "b", ":::+", "1", "2"}, ""},
      {{"echo", ":::", "a", "::::", "@EMPTY@"}, ""},
      {{"echo", ":::", "a", ":::"}, ""},
      {{"echo", "::::", "-", ":::", "a", "b"}, "s\nt\n"},
      {{"echo"}, "a\n\nb c\n'q'\n"},
      {{"echo"}, "no newline at end"},
      {{"-a", "-", "echo", "{}"}, "x y\n"},
      {{"echo"}, "a\r\nb\r\n"},
      {{"-0", "echo"}, std::string("a\0b c\0\0x\ny\0", 11)},
      {{"--null", "echo", "{/}", "{.}"}, std::string("a/b\nc/d.e\0f", 11)},
      {{"echo", ":::", "two\nlines", "c"}, ""},
      // --colsep
      {{"--colsep", ",", "echo", "{1}", "{2}", "{3}", ":::", "a, b ,c", " x ,y"}, ""},
      {{"--colsep", ",", "echo", ":::", "a, b ,c", ",lead,,"}, ""},
      {{"-C", "\\s*,\\s*", "echo", "{2}", "::::", "@F3@"}, ""},
      {{"--colsep", "\\t", "echo", "{2}", "{1}"}, "a\tb\nc\td\n"},
      {{"--colsep", " +", "echo", "{-1}"}, "a  b   c\n"},
      {{"--colsep", ",", "echo", "{}", ":::", "p,q", ":::", "r,s"}, ""},
      // Replacement strings.
      {{"echo", "{}", "{.}", "{/}", "{//}", "{/.}", "{#}", "{%}", ":::", "dir/sub/file.tar.gz",
        "file", "noext/", ".hidden", "/abs", "", "a//b", "//", "a.b/c"},
       ""},
      {{"echo", "{1}", "{2}", "{-1}", "{1.}", "{2/}", "{1//}", "{-1/.}", "{3}", "{0}", "{-3}",
        "{1 }", ":::", "a/b.c", ":::", "d/e.f"},
       ""},
      {{"echo", "{", "{abc}", "{1", "{}}", "{{}}", "a{}b{}", "{+/}", "{#}{%}", ":::", "x"}, ""},
      {{"echo", "{=", ":::", "x"}, ""},
      // Quoting.
      {{"echo", ":::", "it's", "a b", "", "$x", "*", "~", "a=b", "'", "''x''", "-_.+/Az09",
        "@%^:,"},
       ""},
      {{"echo", ":::", "\xc3\xbc", "\xe2\x82\xac", "\xff", "tab\there", "back\\slash", "\"dq\""},
       ""},
      {{"echo", ":::", "$(rm -rf /)", "`id`", "a;b", "a|b", "a&b", "<>", "!", "#", "?", "[x]"}, ""},
      {{"{}", ":::", "echo a b"}, ""},
      {{"{}", "{}", ":::", "a b"}, ""},
      {{"{1}x", "{}", ":::", "a b"}, ""},
      {{"X={}", ":::", "a b"}, ""},
      {{"echo", "{}", "|", "wc", "-c", ":::", "a b"}, ""},
      {{"echo {} | wc -c", ":::", "a b"}, ""},
      {{"echo {}; echo {.}", ":::", "a.b c"}, ""},
      {{"sh", "-c", "echo $0", "{}", ":::", "a b"}, ""},
      {{"echo", "", "x", ":::", ""}, ""},
      {{"echo", "a\tb", "{}", ":::", "x\ty"}, ""},
      {{":::", "echo a", "echo b"}, ""},
      {{}, "echo from stdin\necho 'quoted  arg'\n"},
      // -q
      {{"-q", "echo", "a b", "{}", "$x", ":::", "c d"}, ""},
      {{"-q", "echo {}", ":::", "c d"}, ""},
      {{"-q", "echo", "", "x", ":::", ""}, ""},
      {{"-q", ":::", "echo a"}, ""},
      {{"-q", "-n2", "echo", "x{}y", ":::", "a", "b'c"}, ""},
      // -n -N -X -m
      {{"-n2", "echo", "foo{}bar", ":::", "a", "b", "c"}, ""},
      {{"-n", "3", "echo", "{2}", ":::", "a", "b", "c", "d"}, ""},
      {{"-n2", "echo", ":::", "a", "b", ":::", "1", "2", "3"}, ""},
      {{"-n2", ":::", "echo a", "echo b"}, ""},
      {{"-X", "echo", "foo{}bar", ":::", "a", "b", "c"}, ""},
      {{"-X", "echo", "pre-{}-post", "{#}", ":::", "a", "b", "c"}, ""},
      {{"-X", "echo", "p\t{}", "q {}\nr{}", ":::", "a", "b"}, ""},
      {{"-m", "echo", "foo{}bar", ":::", "a", "b", "c"}, ""},
      {{"-m", "echo", "{1}", "{}", ":::", "a", "b", ":::", "1", "2"}, ""},
      {{"-N2", "echo", ":::", "a", "b", "c"}, ""},
      {{"-N2", "echo", "{1}-{2}", ":::", "a", "b", "c"}, ""},
      {{"-N3", "echo", "{-1}", "{-2}", ":::", "a", "b", "c", "d"}, ""},
      {{"-N2", "-m", "echo", "x{}", ":::", "a", "b", "c", "d", "e"}, ""},
      {{"-X", "-N2", "echo", "x{}y", ":::", "a", "b", "c", "d", "e"}, ""},
      {{"-n0", "echo", "x", ":::", "a", "b"}, ""},
      {{"-N0", "echo", "{#}", ":::", "a", "b"}, ""},
      {{"-s", "30", "-m", "echo", ":::", "aaaa", "bbbb", "cccc", "dddd", "eeee", "ffff", "gggg"},
       ""},
      {{"-s", "40", "-X", "echo", "x{}y", ":::", "aaaa", "bbbb", "cccc", "dddd", "eeee", "ffff"},
       ""},
      {{"-s", "60", "-m", "-q", "echo", ":::", "a b", "c", "d e", "f", "g"}, ""},
      {{"-m", "echo"}, "1\n2\n3\n4\n5\n"},
  };
  return cases;
}

std::string substitute(std::string word, const std::map<std::string, std::string>& files) {
  for (const auto& [key, path] : files) {
    if (word == key) return path;
  }
  return word;
}

TEST(CommandTemplate, DryRunMatchesGnuParallelByteForByte) {
  if (!have_gnu_parallel()) GTEST_SKIP() << "GNU parallel is not installed";
  ASSERT_GE(diff_cases().size(), 40u);
  TempDir dir;
  const std::map<std::string, std::string> files = {
      {"@F1@", dir.file("f1", "x\ny\n")},
      {"@F2@", dir.file("f2", "1\n2\n")},
      {"@F3@", dir.file("f3", "a b,c\n\n d/e.f , g\n")},
      {"@EMPTY@", dir.file("empty", "")},
  };
  // GNU parallel is a Perl program that takes a good part of a second to start: run a few
  // at a time first, then compare.
  std::vector<Words> words_of;
  std::vector<std::string> stdin_of;
  for (std::size_t i = 0; i < diff_cases().size(); ++i) {
    Words words;
    for (const std::string& w : diff_cases()[i].words) words.push_back(substitute(w, files));
    words_of.push_back(words);
    stdin_of.push_back(dir.file("stdin" + std::to_string(i), diff_cases()[i].stdin_text));
  }
  std::vector<std::string> expected(diff_cases().size());
  constexpr std::size_t kAtOnce = 4;
  for (std::size_t start = 0; start < expected.size(); start += kAtOnce) {
    std::vector<std::thread> runs;
    for (std::size_t i = start; i < std::min(start + kAtOnce, expected.size()); ++i) {
      runs.emplace_back([&, i] { expected[i] = gnu_dry_run(words_of[i], stdin_of[i]); });
    }
    for (std::thread& t : runs) t.join();
  }
  for (std::size_t i = 0; i < diff_cases().size(); ++i) {
    std::string actual;
    {
      StdinFrom redirect(stdin_of[i]);
      actual = dry_run(words_of[i]);
    }
    EXPECT_EQ(actual, expected[i])
        << "parallel --dry-run -j1 " << ::testing::PrintToString(diff_cases()[i].words);
    EXPECT_FALSE(expected[i].empty()) << "GNU parallel printed nothing: is it working?";
  }
}

// -m at -j>1: GNU parallel spreads the arguments over the job slots at end of input.
TEST(CommandTemplate, MultipleArgumentsSpreadOverSlotsLikeGnuParallel) {
  if (!have_gnu_parallel()) GTEST_SKIP() << "GNU parallel is not installed";
  TempDir dir;
  std::string in = dir.file("stdin", "");
  for (unsigned slots : {2u, 3u, 8u}) {
    Words words = {"-m", "echo", ":::", "a", "b", "c", "d", "e", "f", "g"};
    // At -j>1 GNU's --dry-run prints each line as its job ends, so jobs that start together
    // can print in either order (seen at -j8 on a loaded machine). -k asks GNU for the order
    // the jobs were made in, which is what dry_run() prints: the split is what is compared.
    Words gnu_words = words;
    gnu_words.insert(gnu_words.begin(), {"-j" + std::to_string(slots), "-k"});
    EXPECT_EQ(dry_run(words, slots), gnu_dry_run(gnu_words, in)) << slots << " slots";
  }
  EXPECT_EQ(dry_run({"-m", "echo", ":::", "a", "b", "c", "d", "e", "f", "g"}, 3),
            "echo a b c\necho d e f\necho g\n");
}

// --- JobSource ---------------------------------------------------------------------------

std::vector<std::vector<std::vector<std::string>>> args_of(const std::vector<JobInput>& jobs) {
  std::vector<std::vector<std::vector<std::string>>> out;
  for (const JobInput& j : jobs) out.push_back(j.args);
  return out;
}

TEST(JobSource, CrossesSourcesWithTheLastVaryingFastest) {
  std::vector<JobInput> jobs =
      all_jobs(options({"echo", ":::", "a", "b", ":::", "1", "2", ":::", "x"}));
  using R = std::vector<std::vector<std::string>>;
  std::vector<R> expected = {
      {{"a", "1", "x"}}, {{"a", "2", "x"}}, {{"b", "1", "x"}}, {{"b", "2", "x"}}};
  EXPECT_EQ(args_of(jobs), expected);
  for (std::size_t i = 0; i < jobs.size(); ++i) EXPECT_EQ(jobs[i].seq, i + 1);
}

TEST(JobSource, LinkedSourcesOfUnequalLengthStopAtTheShortest) {
  using R = std::vector<std::vector<std::string>>;
  EXPECT_EQ(args_of(all_jobs(options({"e", ":::", "a", "b", "c", ":::+", "1", "2"}))),
            (std::vector<R>{{{"a", "1"}}, {{"b", "2"}}}));
  EXPECT_EQ(args_of(all_jobs(options({"e", ":::", "a", ":::+", "1", "2", "3"}))),
            (std::vector<R>{{{"a", "1"}}}));
}

TEST(JobSource, AnEmptySourceNextToOthersIsOneEmptyValue) {
  using R = std::vector<std::vector<std::string>>;
  EXPECT_EQ(args_of(all_jobs(options({"e", ":::", "a", "b", ":::"}))),
            (std::vector<R>{{{"a", ""}}, {{"b", ""}}}));
  TempDir dir;
  std::string empty = dir.file("empty", "");
  EXPECT_TRUE(all_jobs(options({"e", "::::", empty})).empty());
  EXPECT_TRUE(all_jobs(options({"e", "::::", empty, "::::", empty})).empty());
}

TEST(JobSource, ValuesWithNewlinesBecomeSeveralRecordsUnlessNullSeparated) {
  using R = std::vector<std::vector<std::string>>;
  EXPECT_EQ(args_of(all_jobs(options({"e", ":::", "a\nb", "c\n"}))),
            (std::vector<R>{{{"a"}}, {{"b"}}, {{"c"}}, {{""}}}));
  EXPECT_EQ(args_of(all_jobs(options({"-0", "e", ":::", "a\nb"}))), (std::vector<R>{{{"a\nb"}}}));
}

TEST(JobSource, ReadsFilesAndStdinRecordByRecord) {
  TempDir dir;
  std::string f = dir.file("f", "one\n\nthree\r\nlast");
  using R = std::vector<std::vector<std::string>>;
  const std::vector<R> expected = {{{"one"}}, {{""}}, {{"three\r"}}, {{"last"}}};
  EXPECT_EQ(args_of(all_jobs(options({"cat", "::::", f}))), expected);
  EXPECT_EQ(args_of(all_jobs(options({"-a", f, "cat"}))), expected);
  StdinFrom redirect(f);
  EXPECT_EQ(args_of(all_jobs(options({"cat"}))), expected);
}

TEST(JobSource, NullSeparatedRecordsKeepNewlines) {
  TempDir dir;
  std::string f = dir.file("f", std::string("a\nb\0c\0\0", 7));
  using R = std::vector<std::vector<std::string>>;
  EXPECT_EQ(args_of(all_jobs(options({"-0", "cat", "::::", f}))),
            (std::vector<R>{{{"a\nb"}}, {{"c"}}, {{""}}}));
}

TEST(JobSource, ColumnsSplitOnTheColsepRegexAndKeepEmptyFields) {
  using R = std::vector<std::vector<std::string>>;
  EXPECT_EQ(args_of(all_jobs(options({"--colsep", ",", "e", ":::", "a,,b,", ",x", ""}))),
            (std::vector<R>{{{"a", "", "b", ""}}, {{"", "x"}}, {{""}}}));
  EXPECT_EQ(args_of(all_jobs(options({"-C", "\\t", "e", ":::", "p\tq", ":::", "r"}))),
            (std::vector<R>{{{"p", "q", "r"}}}));
  EXPECT_EQ(args_of(all_jobs(options({"-C", "\\s+", "e", ":::", "a \t b"}))),
            (std::vector<R>{{{"a", "b"}}}));
  // Values are trimmed only when rendered (GNU parallel trims under --colsep).
  RunOptions o = options({"-C", ",", "echo", "{2}", ":::", "a , b "});
  JobSource source(o);
  CommandTemplate templ(o);
  EXPECT_EQ(templ.command(*source.next(), 1), "echo b");
}

TEST(JobSource, EndOfFileStringAndSkipBlankApplyToValuesAsToFiles) {
  using R = std::vector<std::vector<std::string>>;
  // -E ends the source it is met in; the others go on.
  EXPECT_EQ(args_of(all_jobs(options({"-E", "d", "e", ":::", "a", "b", "d", "e", ":::", "1"}))),
            (std::vector<R>{{{"a", "1"}}, {{"b", "1"}}}));
  EXPECT_EQ(args_of(all_jobs(options({"-E", "d", "e", ":::", "x", ":::", "1", "d", "2"}))),
            (std::vector<R>{{{"x", "1"}}}));
  // -r skips blank values; a source left without any is one empty value next to others.
  EXPECT_EQ(args_of(all_jobs(options({"-r", "e", ":::", "a", " ", "", "b"}))),
            (std::vector<R>{{{"a"}}, {{"b"}}}));
  EXPECT_EQ(args_of(all_jobs(options({"-r", "e", ":::", " ", ":::", "x"}))),
            (std::vector<R>{{{"", "x"}}}));
  EXPECT_TRUE(all_jobs(options({"-r", "e", ":::", "", " \t"})).empty());
  // -L: -E is checked on each record before it is joined; -r on the joined argument.
  EXPECT_EQ(args_of(all_jobs(options({"-L", "1", "-E", "c", "e", ":::", "a ", "b", "c", "d"}))),
            (std::vector<R>{{{"a b"}}}));
  EXPECT_EQ(args_of(all_jobs(options({"-L", "1", "-E", "c", "e", ":::", "a ", "c", "d"}))),
            (std::vector<R>{{{"a "}}}));
}

TEST(JobSource, CsvRecordsAreSplitAsTextCsvSplitsThem) {
  using R = std::vector<std::vector<std::string>>;
  TempDir dir;
  // A quoted field holds the separator, "" and a newline: the record goes on past the line.
  const std::string f = dir.file("f.csv", "a,\"b,c\",d\n\"x\"\"y\",\"1\n2\"\n\n,\n");
  EXPECT_EQ(args_of(all_jobs(options({"--csv", "e", "::::", f}))),
            (std::vector<R>{{{"a", "b,c", "d"}}, {{"x\"y", "1\n2"}}, {{""}}, {{"", ""}}}));
  // --colsep is a literal string under --csv.
  EXPECT_EQ(args_of(all_jobs(options({"--csv", "-C", "|+", "e", ":::", "a|+\"b|+\"|+c"}))),
            (std::vector<R>{{{"a", "b|+", "c"}}}));
  // Not CSV: the run stops there.
  for (const char* bad : {"a\"b", "\"a\"b", "\"a,b"}) {
    const std::string message = usage_error_of([&] {
      all_jobs(options({"--csv", "e", ":::", bad}));
    });
    EXPECT_NE(message.find("CSV has unexpected format"), std::string::npos)
        << bad << ": " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  // Trimmed only when --colsep is given.
  for (const auto& [words, expected] :
       {std::pair{Words{"--csv", "echo", "{1}", ":::", " a ,b"}, "echo ' a '"},
        std::pair{Words{"--csv", "-C", ",", "echo", "{1}", ":::", " a ,b"}, "echo a"}}) {
    RunOptions o = options(words);
    JobSource source(o);
    CommandTemplate templ(o);
    EXPECT_EQ(templ.command(*source.next(), 1), expected);
  }
}

TEST(JobSource, BadColsepRegexIsUsageError) {
  std::string message = usage_error_of([] { JobSource s(options({"-C", "a(", "e", ":::", "x"})); });
  EXPECT_NE(message.find("--colsep"), std::string::npos) << message;
  message = usage_error_of([] { JobSource s(options({"-C", "\\q", "e", ":::", "x"})); });
  EXPECT_NE(message.find("\\q"), std::string::npos) << message;
}

TEST(JobSource, MissingOrUnreadableFileIsUsageErrorFromTheConstructor) {
  TempDir dir;
  struct Case {
    Words words;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"e", "::::", dir.path() + "/missing"},
       "cannot open '" + dir.path() + "/missing': No such file or directory"},
      {{"-a", dir.path() + "/missing", "e"},
       "cannot open '" + dir.path() + "/missing': No such file or directory"},
      {{"e", "::::", dir.path()}, "cannot open '" + dir.path() + "': Is a directory"},
      // The good source before the bad one does not matter: nothing runs.
      {{"e", ":::", "a", "::::", dir.path() + "/nope"}, "cannot open '" + dir.path() + "/nope'"},
  };
  for (const Case& c : cases) {
    std::string message = usage_error_of([&] { JobSource s(options(c.words)); });
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
  }
  if (::geteuid() != 0) {
    std::string secret = dir.file("secret", "x\n");
    ::chmod(secret.c_str(), 0);
    std::string message = usage_error_of([&] { JobSource s(options({"e", "::::", secret})); });
    EXPECT_NE(message.find("Permission denied"), std::string::npos) << message;
  }
}

TEST(JobSource, GroupsArgumentsPerJob) {
  using R = std::vector<std::vector<std::string>>;
  EXPECT_EQ(args_of(all_jobs(options({"-n2", "e", ":::", "a", "b", "c"}))),
            (std::vector<R>{{{"a"}, {"b"}}, {{"c"}}}));
  EXPECT_EQ(args_of(all_jobs(options({"-N3", "e", ":::", "a", "b", "c", "d"}))),
            (std::vector<R>{{{"a"}, {"b"}, {"c"}}, {{"d"}}}));
  // -m with one slot: everything on one line.
  EXPECT_EQ(all_jobs(options({"-m", "e", ":::", "a", "b", "c"})).size(), 1u);
  std::vector<JobInput> none = all_jobs(options({"-n0", "e", ":::", "a", "b"}));
  ASSERT_EQ(none.size(), 2u);
  EXPECT_TRUE(none[0].no_args);
}

TEST(JobSource, CommandLineTooLongIsUsageError) {
  std::string message = usage_error_of([] {
    RunOptions o = options({"-s", "20", "echo", ":::", "short", std::string(40, 'x')});
    JobSource s(o);
    while (s.next()) {
    }
  });
  EXPECT_NE(message.find("command line too long"), std::string::npos) << message;
}

TEST(JobSource, ShuffleKeepsEveryJobAndNumbersAfterShuffling) {
  Words words = {"--shuf", "e", ":::"};
  for (int i = 0; i < 200; ++i) words.push_back(std::to_string(i));
  std::vector<JobInput> jobs = all_jobs(options(words));
  ASSERT_EQ(jobs.size(), 200u);
  std::set<std::string> seen;
  bool moved = false;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    EXPECT_EQ(jobs[i].seq, i + 1);  // GNU parallel numbers the jobs after shuffling
    seen.insert(jobs[i].args[0][0]);
    moved = moved || jobs[i].args[0][0] != std::to_string(i);
  }
  EXPECT_EQ(seen.size(), 200u);
  EXPECT_TRUE(moved);  // 1/200! chance of a false failure
}

// The strongest streaming check: a FIFO whose writer waits for the first job before it
// finishes. An implementation that reads everything first never returns that job.
TEST(JobSource, StreamsAFifoWithoutWaitingForItsEnd) {
  TempDir dir;
  std::string fifo = dir.path() + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::mutex mu;
  std::condition_variable cv;
  bool got_first = false;
  std::atomic<bool> writer_done{false};
  std::thread writer([&] {
    int fd = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
    std::string first;
    for (int i = 0; i < 1000; ++i) first += "line " + std::to_string(i) + "\n";
    (void)!::write(fd, first.data(), first.size());
    {
      std::unique_lock lock(mu);
      cv.wait_for(lock, std::chrono::seconds(10), [&] { return got_first; });
    }
    std::string rest;
    for (int i = 1000; i < 2000; ++i) rest += "line " + std::to_string(i) + "\n";
    writer_done = true;
    (void)!::write(fd, rest.data(), rest.size());
    ::close(fd);
  });
  RunOptions o = options({"echo", "::::", fifo});
  JobSource source(o);
  std::optional<JobInput> first = source.next();
  bool done_at_first = writer_done.load();
  {
    std::lock_guard lock(mu);
    got_first = true;
  }
  cv.notify_all();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->args[0][0], "line 0");
  EXPECT_FALSE(done_at_first) << "JobSource waited for the end of its input";
  int count = 1;
  std::string last;
  while (auto job = source.next()) {
    ++count;
    last = job->args[0][0];
  }
  writer.join();
  EXPECT_EQ(count, 2000);
  EXPECT_EQ(last, "line 1999");
}

long max_rss_kb() {
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// A million lines (about 21 MB, more than the 16 MiB bound, so a source that slurped the file
// would fail; kept as strings they would take over 60 MB): read as the only source, and
// crossed as the last source (read again from the file per value, not kept), the peak memory
// hardly moves. Two million took 28 s of a Debug run and checked nothing more. Under ASan,
// whose quarantine makes the peak meaningless (below), the same reading runs over 200,000
// lines.
#if defined(__SANITIZE_ADDRESS__)
constexpr std::uint64_t kManyLines = 200000;
#else
constexpr std::uint64_t kManyLines = 1000000;
#endif
TEST(JobSource, ReadsAMillionLinesInBoundedMemory) {
  TempDir dir;
  std::string path = dir.path() + "/big";
  {
    std::ofstream out(path, std::ios::binary);
    std::string line;
    for (std::uint64_t i = 0; i < kManyLines; ++i) {
      line = "record-number-" + std::to_string(i) + "\n";
      out << line;
    }
  }
  long before = max_rss_kb();
  std::uint64_t count = 0;
  {
    RunOptions o = options({"echo", "::::", path});
    JobSource source(o);
    CommandTemplate templ(o);
    while (auto job = source.next()) {
      ++count;
      if (count == kManyLines) {
        EXPECT_EQ(templ.command(*job, 1), "echo record-number-" + std::to_string(kManyLines - 1));
      }
    }
  }
  {
    // Crossed as the last source, the file is read again from its start for "b".
    RunOptions o = options({"echo", ":::", "a", "b", "::::", path});
    JobSource source(o);
    CommandTemplate templ(o);
    for (std::uint64_t i = 0; i < kManyLines; ++i) ASSERT_TRUE(source.next());
    std::optional<JobInput> second_pass = source.next();
    ASSERT_TRUE(second_pass);
    EXPECT_EQ(templ.command(*second_pass, 1), "echo b record-number-0");
    count += kManyLines + 1;
  }
  EXPECT_EQ(count, 2u * kManyLines + 1);
  long grown_kb = max_rss_kb() - before;
#if defined(__SANITIZE_ADDRESS__)
  // ASan's quarantine keeps freed memory for a while, so the peak says nothing here; the
  // other builds check it, and the FIFO test above proves the reading is lazy in all.
  (void)grown_kb;
#else
  EXPECT_LT(grown_kb, 16 * 1024) << "peak memory grew by " << grown_kb << " KiB";
#endif
}

// --- CommandTemplate -------------------------------------------------------------------

TEST(CommandTemplate, ShellQuoteMatchesGnuParallel) {
  struct Case {
    std::string in, out;
  };
  const std::vector<Case> cases = {
      {"abc", "abc"},
      {"-_.+/AZaz09", "-_.+/AZaz09"},
      {"", "''"},
      {"a b", "'a b'"},
      {"it's", "'it'\"'\"'s'"},
      {"'", "\"'\""},
      {"'a'", "\"'\"'a'\"'\""},
      {"$HOME", "'$HOME'"},
      {"*", "'*'"},
      {"~", "'~'"},
      {"a=b", "'a=b'"},
      {"a,b", "'a,b'"},
      {"a:b", "'a:b'"},
      {"a@b", "'a@b'"},
      {"line\nbreak", "'line\nbreak'"},
      {"\xc3\xa9", "'\xc3\xa9'"},
      {"tab\t", "'tab\t'"},
  };
  for (const Case& c : cases) EXPECT_EQ(internal::shell_quote(c.in), c.out) << c.in;
}

TEST(CommandTemplate, TransformsFollowPerlAndFileBasename) {
  using T = internal::Transform;
  struct Case {
    std::string in;
    T t;
    std::string out;
  };
  const std::vector<Case> cases = {
      {"dir/sub/file.tar.gz", T::kDot, "dir/sub/file.tar"},
      {"dir/sub/file.tar.gz", T::kBase, "file.tar.gz"},
      {"dir/sub/file.tar.gz", T::kDir, "dir/sub"},
      {"dir/sub/file.tar.gz", T::kBaseDot, "file.tar"},
      {"a.b/c", T::kDot, "a.b/c"},
      {".hidden", T::kDot, ""},
      {"file", T::kDir, "."},
      {"noext/", T::kDir, "."},
      {"noext/", T::kBase, ""},
      {"/abs", T::kDir, "/"},
      {"//", T::kDir, "/"},
      {"a//b", T::kDir, "a"},
      {"a/b/", T::kDir, "a"},
      {"", T::kDir, "."},
      {"x/y\nz/w", T::kBase, "y\nz/w"},  // '.' stops at a newline in s:.*/::
      {"xy\nz/w", T::kBase, "xy\nw"},
  };
  for (const Case& c : cases) EXPECT_EQ(internal::apply_transform(c.in, c.t), c.out) << c.in;
  EXPECT_EQ(internal::trim_space(" \t\r\n\v\fa b\n "), "a b");
}

TEST(CommandTemplate, SlotAndSequence) {
  RunOptions o = options({"echo", "{#}", "{%}", "{}", ":::", "a", "b"});
  JobSource source(o);
  CommandTemplate templ(o);
  std::optional<JobInput> a = source.next();
  std::optional<JobInput> b = source.next();
  EXPECT_EQ(templ.command(*a, 3), "echo 1 3 a");
  EXPECT_EQ(templ.command(*b, 12), "echo 2 12 b");
}

TEST(CommandTemplate, TagIsTheArgumentsJoinedBySpaceOrTheRenderedTagstring) {
  struct Case {
    Words words;
    std::string tag;
  };
  const std::vector<Case> cases = {
      {{"echo", ":::", "a"}, ""},
      {{"--tag", "echo", ":::", "a b", ":::", "1"}, "a b 1"},
      {{"--tag", "-n2", "echo", ":::", "x", "y"}, "x y"},
      {{"--tag", "echo", ":::", "it's"}, "it's"},  // never quoted
      {{"--tag", "--colsep", ",", "echo", ":::", " p , q "}, "p q"},
      {{"--tagstring", "<{}>{#}-{%}-{1.}", "echo", ":::", "f.txt"}, "<f.txt>1-4-f"},
      {{"--tagstring", "{1}\\t{2}", "echo", ":::", "a", ":::", "b"}, "a\tb"},
  };
  for (const Case& c : cases) {
    RunOptions o = options(c.words);
    JobSource source(o);
    CommandTemplate templ(o);
    EXPECT_EQ(templ.tag(*source.next(), 4), c.tag) << ::testing::PrintToString(c.words);
  }
}

TEST(CommandTemplate, ResultsSubdirIsGnuParallelsLayout) {
  struct Case {
    Words words;
    std::string subdir;
  };
  const std::vector<Case> cases = {
      {{"echo", ":::", "a"}, "1/a"},
      {{"echo", ":::", "a", ":::", "b"}, "1/a/2/b"},
      {{"echo", ":::", "a/b"}, "1/a\\_b"},
      {{"echo", ":::", "x y"}, "1/x y"},
      {{"echo", ":::", "a\\b"}, "1/a\\\\b"},
      {{"echo", ":::", "t\tu"}, "1/t\\tu"},
      {{"echo", ":::", ""}, "1/"},
      {{"-n2", "echo", ":::", "a", "b"}, "1/a/1/b"},
      {{"--colsep", ",", "echo", ":::", "p, q"}, "1/p/2/ q"},  // untrimmed
  };
  for (const Case& c : cases) {
    RunOptions o = options(c.words);
    JobSource source(o);
    CommandTemplate templ(o);
    EXPECT_EQ(templ.results_subdir(*source.next()), c.subdir) << ::testing::PrintToString(c.words);
  }
}

// The first job's command line for these words (after `run`).
std::string first_command(const Words& words) {
  RunOptions o = options(words);
  CommandTemplate t(o);
  JobSource source(o);
  return t.command(*source.next(), 1);
}

TEST(CommandTemplate, PerlExpressionsAreEvaluatedByPerl) {
  EXPECT_EQ(first_command({"echo", "{= s/a/b/ =}", ":::", "aa"}), "echo ba");
  // Split over words, {= ... =} is joined with spaces again, as GNU parallel joins it.
  EXPECT_EQ(first_command({"echo", "x{=", "s/a/b/g", "=}y", ":::", "aa"}), "echo xbby");
  EXPECT_EQ(first_command({"echo", "{=1", "$_.=$job->seq()", "=}", ":::", "a"}), "echo a1");
  // The value is quoted for the shell unless the expression calls uq().
  EXPECT_EQ(first_command({"echo", "{= $_.=' ;x' =}", ":::", "a"}), "echo 'a ;x'");
  EXPECT_EQ(first_command({"echo", "{= $_.=' ;x'; uq() =}", ":::", "a"}), "echo a ;x");
  EXPECT_EQ(first_command({"--tagstring", "{=1 $_=Q($_) =}", "echo", ":::", "a b"}), "echo 'a b'");
  // Without a closing =} GNU parallel keeps "{=" as text, and so does forkpool.
  EXPECT_EQ(first_command({"echo", "{=", ":::", "a"}), "echo {= a");
}

TEST(CommandTemplate, ABadPerlExpressionIsAUsageErrorBeforeAnyJob) {
  for (const Words& words : {Words{"echo", "{= s/(/ =}"}, Words{"echo", "{=", "1", "+", "=}"},
                             Words{"--tagstring", "{= ) =}", "echo"}}) {
    std::string message = usage_error_of([&] { CommandTemplate t(options(words)); });
    EXPECT_EQ(message.rfind("cannot use perl expression '", 0), 0u) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(CommandTemplate, MovesAndRendersAfterMove) {
  RunOptions o = options({"echo", "{.}", ":::", "a.b"});
  CommandTemplate first(o);
  CommandTemplate moved(std::move(first));
  JobSource source(o);
  EXPECT_EQ(moved.command(*source.next(), 1), "echo a");
}

}  // namespace
}  // namespace forkpool::cli
