// parse_run_options(): GNU parallel's option grammar, the split into command and input
// sources, value checks with one-line messages; resolve_jobs() and the duration, --halt and
// --timeout forms.
#include "cli/run_options.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/jobs_file.h"
#include "cli/tag_colors.h"
#include "support/files.h"

namespace forkpool::cli {
namespace {

using forkpool::testing::TempDir;
using forkpool::testing::write_file;
using Words = std::vector<std::string>;

RunOptions parse(const Words& words) { return parse_run_options(words); }

// The UsageError message for `words`, or "" when they parse.
std::string usage_error(const Words& words) {
  try {
    parse(words);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(RunOptions, ParsesJobsForms) {
  struct Case {
    Words words;
    std::string jobs;
  };
  const std::vector<Case> cases = {
      {{"echo"}, "100%"},
      {{"-j2", "echo"}, "2"},
      {{"-j", "2", "echo"}, "2"},
      {{"--jobs", "3", "echo"}, "3"},
      {{"--jobs=4", "echo"}, "4"},
      {{"-P", "5", "echo"}, "5"},
      {{"-P6", "echo"}, "6"},
      {{"--max-procs", "7"}, "7"},
      {{"-j", "+1", "echo"}, "+1"},
      {{"-j", "-1", "echo"}, "-1"},
      {{"-j", "50%", "echo"}, "50%"},
      {{"-j", "12.5%"}, "12.5%"},
      {{"-j0", "echo"}, "0"},
      {{"-kj", "8", "echo"}, "8"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(parse(c.words).jobs, c.jobs) << ::testing::PrintToString(c.words);
  }
}

TEST(RunOptions, ParsesFlagsLongShortAndBundled) {
  RunOptions o = parse({"-kq0", "--tag", "--dry-run", "--shuf", "--bar", "--eta", "--progress",
                        "--resume", "--resume-failed", "--will-cite", "echo"});
  EXPECT_TRUE(o.keep_order);
  EXPECT_TRUE(o.quote);
  EXPECT_TRUE(o.null_separated);
  EXPECT_TRUE(o.tag);
  EXPECT_EQ(o.tagstring, "{==}");  // --tag is an empty {= =}, which -I cannot rename
  EXPECT_TRUE(o.dry_run);
  EXPECT_TRUE(o.shuffle);
  EXPECT_TRUE(o.bar);
  EXPECT_TRUE(o.eta);
  EXPECT_TRUE(o.progress);
  EXPECT_TRUE(o.resume);
  EXPECT_TRUE(o.resume_failed);
  EXPECT_FALSE(o.help);
  EXPECT_EQ(o.command, Words{"echo"});

  RunOptions l = parse({"--keep-order", "--null", "--quote", "--colsep", ",", "--joblog=jl",
                        "--results", "out", "--tagstring", "a\\tb{}", "--retries", "3", "echo"});
  EXPECT_TRUE(l.keep_order);
  EXPECT_TRUE(l.null_separated);
  EXPECT_TRUE(l.quote);
  EXPECT_EQ(l.colsep, ",");
  EXPECT_EQ(l.joblog, "jl");
  EXPECT_EQ(l.results, "out");
  EXPECT_EQ(l.tagstring, "a\tb{}");  // \t expanded, as GNU parallel's unquote_printf()
  EXPECT_EQ(l.retries, 3u);
  EXPECT_FALSE(l.tag);

  EXPECT_EQ(parse({"-C", "\\t", "x"}).colsep, "\\t");
  EXPECT_EQ(parse({"-C\\s+", "x"}).colsep, "\\s+");
  EXPECT_EQ(parse({"--res", "r", "x"}).results, "r");
  EXPECT_EQ(parse({"--jl", "-", "x"}).joblog, "-");
  EXPECT_TRUE(parse({"--help"}).help);
  EXPECT_TRUE(parse({"-h"}).help);
  EXPECT_FALSE(parse({"-k", "--no-keep-order", "x"}).keep_order);
}

TEST(RunOptions, OutputModes) {
  EXPECT_EQ(parse({"x"}).output, OutputMode::kGroup);
  EXPECT_EQ(parse({"--group", "x"}).output, OutputMode::kGroup);
  EXPECT_EQ(parse({"--line-buffer", "x"}).output, OutputMode::kLineBuffer);
  EXPECT_EQ(parse({"--lb", "x"}).output, OutputMode::kLineBuffer);
  EXPECT_EQ(parse({"-u", "x"}).output, OutputMode::kUngroup);
  EXPECT_EQ(parse({"--ungroup", "x"}).output, OutputMode::kUngroup);
  EXPECT_EQ(parse({"-u", "--dry-run", "x"}).output, OutputMode::kGroup);  // as GNU parallel
  // GNU parallel refuses these combinations instead of letting the last one win.
  EXPECT_NE(usage_error({"-u", "--lb", "x"}).find("--lb"), std::string::npos);
  EXPECT_NE(usage_error({"--group", "-u", "x"}).find("-u"), std::string::npos);
}

TEST(RunOptions, ArgsPerJobForms) {
  struct Case {
    Words words;
    std::size_t max_args;
    bool numbered, context, multiple, fill_line, no_args;
  };
  const std::vector<Case> cases = {
      {{"x"}, 1, false, false, false, false, false},
      {{"-n", "3", "x"}, 3, false, false, false, false, false},
      {{"-n3", "x"}, 3, false, false, false, false, false},
      {{"--max-args=4", "x"}, 4, false, false, false, false, false},
      {{"-N2", "x"}, 2, true, true, false, false, false},
      {{"--max-replace-args", "2", "x"}, 2, true, true, false, false, false},
      {{"-X", "x"}, 0, false, true, false, true, false},
      {{"-m", "x"}, 0, false, false, true, true, false},
      {{"-m", "-n", "5", "x"}, 5, false, false, true, true, false},
      {{"-n", "2", "-N", "3", "x"}, 3, true, true, false, false, false},  // -N wins
      {{"-n0", "x"}, 1, false, false, false, false, true},
      {{"-N0", "x"}, 1, true, true, false, false, true},
      {{"-n", "1k", "x"}, 1000, false, false, false, false, false},
      {{"-n", "1K", "x"}, 1024, false, false, false, false, false},
  };
  for (const Case& c : cases) {
    const ArgsPerJob a = parse(c.words).args_per_job;
    SCOPED_TRACE(::testing::PrintToString(c.words));
    EXPECT_EQ(a.max_args, c.max_args);
    EXPECT_EQ(a.numbered, c.numbered);
    EXPECT_EQ(a.context, c.context);
    EXPECT_EQ(a.multiple, c.multiple);
    EXPECT_EQ(a.fill_line, c.fill_line);
    EXPECT_EQ(a.no_args, c.no_args);
  }
  EXPECT_EQ(parse({"-s", "100", "x"}).max_line_length, 100u);
  EXPECT_EQ(parse({"x"}).max_line_length, kDefaultMaxLineLength);
  EXPECT_EQ(parse({"--max-chars", "99999999", "x"}).max_line_length, kDefaultMaxLineLength);
}

TEST(RunOptions, SplitsCommandAndSources) {
  using K = InputSource::Kind;
  struct Src {
    K kind;
    Words values;
    std::string path;
    bool linked;
  };
  struct Case {
    Words words;
    Words command;
    std::vector<Src> sources;
  };
  const std::vector<Case> cases = {
      {{"echo", "{}"}, {"echo", "{}"}, {}},
      {{"echo", ":::", "a", "b"}, {"echo"}, {{K::kValues, {"a", "b"}, "", false}}},
      {{":::", "echo a", "echo b"}, {}, {{K::kValues, {"echo a", "echo b"}, "", false}}},
      {{"echo", ":::", "a", ":::+", "1"},
       {"echo"},
       {{K::kValues, {"a"}, "", false}, {K::kValues, {"1"}, "", true}}},
      // Each file after :::: is a source of its own; after ::::+ each is linked.
      {{"cat", "::::", "f", "g", "::::+", "h"},
       {"cat"},
       {{K::kFile, {}, "f", false}, {K::kFile, {}, "g", false}, {K::kFile, {}, "h", true}}},
      {{"-a", "f", "-a", "-", "cmd", "x"},
       {"cmd", "x"},
       {{K::kFile, {}, "f", false}, {K::kFile, {}, "-", false}}},
      {{"-a", "f", "echo", ":::", "v"},
       {"echo"},
       {{K::kFile, {}, "f", false}, {K::kValues, {"v"}, "", false}}},
      // GNU parallel counts :::+ flags without the -a files, so with -a the link lands one
      // source early: here -a f is paired with (a b), and (1 2) is crossed.
      {{"-a", "f", "echo", ":::", "a", "b", ":::+", "1", "2"},
       {"echo"},
       {{K::kFile, {}, "f", false},
        {K::kValues, {"a", "b"}, "", true},
        {K::kValues, {"1", "2"}, "", false}}},
      // A separator ending the words, before any other, is dropped (stdin is read)...
      {{"echo", ":::"}, {"echo"}, {}},
      // ... but after another separator it opens an empty source.
      {{"echo", ":::", "a", ":::"},
       {"echo"},
       {{K::kValues, {"a"}, "", false}, {K::kValues, {}, "", false}}},
      {{"echo", ":::", ":::", "b"},
       {"echo"},
       {{K::kValues, {}, "", false}, {K::kValues, {"b"}, "", false}}},
      {{"--", "-x", ":::", "a"}, {"-x"}, {{K::kValues, {"a"}, "", false}}},
      {{"-k", "-", "a"}, {"-", "a"}, {}},
      // Options end at the command: later dashes belong to it.
      {{"-k", "ls", "-l", "-j2"}, {"ls", "-l", "-j2"}, {}},
      {{"echo", "a b", "|", "wc"}, {"echo", "a b", "|", "wc"}, {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.words));
    RunOptions o = parse(c.words);
    EXPECT_EQ(o.command, c.command);
    ASSERT_EQ(o.sources.size(), c.sources.size());
    for (std::size_t i = 0; i < c.sources.size(); ++i) {
      EXPECT_EQ(o.sources[i].kind, c.sources[i].kind) << i;
      EXPECT_EQ(o.sources[i].values, c.sources[i].values) << i;
      EXPECT_EQ(o.sources[i].path, c.sources[i].path) << i;
      EXPECT_EQ(o.sources[i].linked, c.sources[i].linked) << i;
    }
  }
}

TEST(RunOptions, HaltForms) {
  using W = HaltPolicy::When;
  using C = HaltPolicy::Condition;
  struct Case {
    std::string spec;
    W when;
    C condition;
    double threshold;
    bool percent;
  };
  const std::vector<Case> cases = {
      {"never", W::kNever, C::kFail, 1, false},
      {"0", W::kNever, C::kFail, 1, false},
      {"1", W::kSoon, C::kFail, 1, false},
      {"2", W::kNow, C::kFail, 1, false},
      {"-1", W::kSoon, C::kSuccess, 1, false},
      {"-2", W::kNow, C::kSuccess, 1, false},
      {"now,fail=1", W::kNow, C::kFail, 1, false},
      {"soon,fail=3", W::kSoon, C::kFail, 3, false},
      {"now,success=30%", W::kNow, C::kSuccess, 30, true},
      {"soon,done=5", W::kSoon, C::kDone, 5, false},
      {"5%", W::kSoon, C::kFail, 5, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.spec);
    HaltPolicy h = parse({"--halt", c.spec, "x"}).halt;
    EXPECT_EQ(h.when, c.when);
    if (c.when == W::kNever) continue;
    EXPECT_EQ(h.condition, c.condition);
    EXPECT_EQ(h.threshold, c.threshold);
    EXPECT_EQ(h.percent, c.percent);
  }
}

TEST(RunOptions, TimeoutAndDelayForms) {
  struct Case {
    std::string spec;
    double seconds;
    bool percent;
  };
  const std::vector<Case> timeouts = {
      {"10", 10, false},      {"2.5", 2.5, false},   {"200%", 200, true}, {"1m", 60, false},
      {"1h30m", 5400, false}, {"2d", 172800, false}, {"1.5S", 1.5, false}};
  for (const Case& c : timeouts) {
    TimeoutSpec t = parse({"--timeout", c.spec, "x"}).timeout;
    EXPECT_EQ(t.value, c.seconds) << c.spec;
    EXPECT_EQ(t.percent, c.percent) << c.spec;
  }
  EXPECT_EQ(parse({"--delay", "0.5", "x"}).delay, 0.5);
  EXPECT_EQ(parse({"--delay", "2m", "x"}).delay, 120);
  EXPECT_EQ(parse({"--delay=1s", "x"}).delay, 1);
  EXPECT_EQ(parse_duration("1m1s"), 61);
  EXPECT_EQ(parse_duration(""), std::nullopt);
  EXPECT_EQ(parse_duration("1x"), std::nullopt);
  EXPECT_EQ(parse_duration("s"), std::nullopt);
  EXPECT_EQ(parse_duration("-1"), std::nullopt);
}

TEST(RunOptions, RejectsBadValuesInOneLineNamingOptionAndValue) {
  struct Case {
    Words words;
    std::vector<std::string> parts;  // each must appear in the message
  };
  const std::vector<Case> cases = {
      {{"--frobnicate", "x"}, {"unknown option '--frobnicate'"}},
      {{"-Z", "x"}, {"unknown option '-Z'"}},
      {{"-kZ", "x"}, {"unknown option '-Z'"}},
      {{"-j"}, {"-j", "needs a value"}},
      {{"--jobs"}, {"--jobs", "needs a value"}},
      {{"-j", "abc", "x"}, {"-j", "'abc'"}},
      {{"-j", "1x", "x"}, {"-j", "'1x'"}},
      {{"-j", "", "x"}, {"-j", "''"}},
      {{"-j", "1.5", "x"}, {"-j", "'1.5'"}},
      {{"--jobs=+", "x"}, {"--jobs", "'+'"}},
      {{"-P", "%", "x"}, {"-P", "'%'"}},
      {{"--retries", "-1", "x"}, {"--retries", "'-1'"}},
      {{"--retries", "x", "x"}, {"--retries", "'x'"}},
      {{"--halt", "nonsense", "x"}, {"--halt", "'nonsense'", "never, soon or now"}},
      {{"--halt", "now", "x"}, {"--halt", "'now'"}},
      {{"--halt", "now,fail", "x"}, {"--halt", "'now,fail'"}},
      {{"--halt", "now,crash=1", "x"}, {"--halt", "'now,crash=1'"}},
      {{"--halt", "soon,fail=x", "x"}, {"--halt", "'soon,fail=x'"}},
      {{"--timeout", "x", "x"}, {"--timeout", "'x'"}},
      {{"--timeout", "-5", "x"}, {"--timeout", "'-5'"}},
      {{"--timeout", "5%%", "x"}, {"--timeout", "'5%%'"}},
      {{"--delay", "x", "x"}, {"--delay", "'x'"}},
      {{"--delay", "1y", "x"}, {"--delay", "'1y'"}},
      {{"-n", "x", "x"}, {"-n", "'x'"}},
      {{"-n", "-1", "x"}, {"-n", "'-1'"}},
      {{"-N", "", "x"}, {"-N", "''"}},
      {{"-s", "0", "x"}, {"-s", "'0'"}},
      {{"--tag=1", "x"}, {"--tag", "does not take a value"}},
      {{"--joblog", "", "x"}, {"--joblog"}},
      {{"--results", "", "x"}, {"--results"}},
      // Numbers too large for a double or a count (found by fuzzing: std::stod threw
      // std::out_of_range past the parser).
      {{"--delay", std::string(400, '9'), "x"}, {"--delay"}},
      {{"--timeout", std::string(400, '9'), "x"}, {"--timeout"}},
      {{"--timeout", std::string(400, '9') + "%", "x"}, {"--timeout", "too large"}},
      {{"-n", "999999999999G", "x"}, {"-n", "too large"}},
  };
  for (const Case& c : cases) {
    std::string message = usage_error(c.words);
    SCOPED_TRACE(::testing::PrintToString(c.words) + " -> " + message);
    ASSERT_FALSE(message.empty());
    EXPECT_EQ(message.find('\n'), std::string::npos);
    for (const std::string& part : c.parts)
      EXPECT_NE(message.find(part), std::string::npos) << part;
  }
}

TEST(RunOptions, DoesNotTouchTheFileSystem) {
  // Files are opened by JobSource; a missing one is not the parser's business.
  RunOptions o = parse({"-a", "/nonexistent/file", "cat", "::::", "/also/missing"});
  ASSERT_EQ(o.sources.size(), 2u);
  EXPECT_EQ(o.sources[1].path, "/also/missing");
}

TEST(RunOptions, ResolveJobsArithmetic) {
  struct Case {
    std::string spec;
    unsigned cpus;
    unsigned slots;
  };
  const std::vector<Case> cases = {
      {"1", 4, 1},
      {"7", 4, 7},
      {"100%", 4, 4},
      {"50%", 4, 2},
      {"50%", 2, 1},
      {"51%", 2, 2},
      {"74%", 2, 2},
      {"1%", 2, 1},
      {"0%", 8, 1},
      {"12.5%", 8, 1},
      {"150%", 4, 6},
      {"+1", 4, 5},
      {"+0", 3, 3},
      {"-1", 4, 3},
      {"-1", 2, 1},
      {"-5", 2, 1},
      {"-2", 2, 1},
      {"0", 4, 250},
      {"1000", 4, 250},
      {"250", 1, 250},
      {"99999999999", 4, 250},
      // Beyond a double's range: as many or as few as allowed, never std::out_of_range.
      {"+" + std::string(400, '9'), 4, 250},
      {"-" + std::string(400, '9'), 4, 1},
      {std::string(400, '9') + "%", 4, 250},
      {"0." + std::string(400, '0') + "1%", 4, 1},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(resolve_jobs(c.spec, c.cpus), c.slots) << c.spec << " of " << c.cpus;
  }
  EXPECT_THROW(resolve_jobs("abc", 4), UsageError);
  EXPECT_THROW(resolve_jobs("", 4), UsageError);
  EXPECT_GE(available_cpus(), 1u);
}

// -j FILE: the file's text is one -j value (a final newline allowed); anything else in it is
// an error naming the file. A value that is a -j form is a value even if a file has its name.
TEST(RunOptions, JobsFromAFile) {
  TempDir dir;
  EXPECT_EQ(resolve_jobs(dir.file("n", "3\n"), 4), 3u);
  EXPECT_EQ(resolve_jobs(dir.file("plus", "+1"), 4), 5u);
  EXPECT_EQ(resolve_jobs(dir.file("minus", "-1\n"), 4), 3u);
  EXPECT_EQ(resolve_jobs(dir.file("percent", "50%\n"), 4), 2u);
  EXPECT_EQ(resolve_jobs(dir.file("zero", "0"), 4), 250u);
  for (const char* bad : {"", "x\n", "3\n\n", " 3", "3 ", "1.5"}) {
    const std::string path = dir.file("bad", bad);
    try {
      resolve_jobs(path, 4);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(parse({"-j", dir / "n", "echo"}).jobs, dir / "n");
  EXPECT_EQ(parse({"--jobs", dir / "n", "echo"}).jobs, dir / "n");
  EXPECT_EQ(parse({"-P", dir / "n", "echo"}).jobs, dir / "n");
  EXPECT_THROW(parse({"-j", dir / "missing", "echo"}), UsageError);
  EXPECT_THROW(parse({"-j", dir.path(), "echo"}), UsageError);  // a directory is no file
  EXPECT_FALSE(names_jobs_file("3"));
  EXPECT_TRUE(names_jobs_file(dir / "n"));
}

// The running count follows the file: a new valid value is the new count; the same text, a
// text that gives the same count, or an empty file (one being written) change nothing; a bad
// value keeps the count and says why, once.
TEST(RunOptions, JobsFileFollowsItsChanges) {
  TempDir dir;
  const std::string path = dir.file("slots", "2\n");
  JobsFile file(path, 4);
  EXPECT_EQ(file.slots(), 2u);
  std::string problem;
  EXPECT_EQ(file.changed(problem), std::nullopt);
  write_file(path, "5\n");
  EXPECT_EQ(file.changed(problem), 5u);
  EXPECT_EQ(file.slots(), 5u);
  write_file(path, "");
  EXPECT_EQ(file.changed(problem), std::nullopt);
  EXPECT_EQ(problem, "");
  write_file(path, "+1");
  EXPECT_EQ(file.changed(problem), std::nullopt);  // 4 CPUs + 1: still 5
  write_file(path, "many");
  EXPECT_EQ(file.changed(problem), std::nullopt);
  EXPECT_NE(problem.find("'many'"), std::string::npos) << problem;
  EXPECT_NE(problem.find("still running 5 at a time"), std::string::npos) << problem;
  problem.clear();
  EXPECT_EQ(file.changed(problem), std::nullopt);
  EXPECT_EQ(problem, "");  // said once
  write_file(path, "1");
  EXPECT_EQ(file.changed(problem), 1u);
  EXPECT_THROW(JobsFile(dir / "missing", 4), UsageError);
}

// --color's palette (cli/tag_colors.h, here for want of a test file of its own): GNU parallel
// 20221122's first colours, 307 distinct ones, and seq 307 wraps to seq 0's. Without a terminal
// the sequences end with ESC [ K and lines with ESC [ m.
TEST(RunOptions, TagColorsAreGnuParallelsAndWrapAfter307) {
  if (const int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC); tty >= 0) {
    ::close(tty);
    GTEST_SKIP() << "tput may answer for this terminal";
  }
  EXPECT_EQ(color_of_job(0).start, "\033[48;5;185;38;5;000m\033[K");
  EXPECT_EQ(color_of_job(1).start, "\033[48;5;134;38;5;231m\033[K");
  EXPECT_EQ(color_of_job(2).start, "\033[48;5;021;38;5;231m\033[K");
  EXPECT_EQ(color_of_job(1).reset, "\033[m");
  EXPECT_EQ(failed_color().start, "\033[48;5;196;38;5;231m\033[K");
  std::set<std::string> distinct;
  for (std::uint64_t seq = 0; seq < 307; ++seq) distinct.insert(color_of_job(seq).start);
  EXPECT_EQ(distinct.size(), 307u);
  EXPECT_EQ(color_of_job(307).start, color_of_job(0).start);
  EXPECT_EQ(color_of_job(310).start, color_of_job(3).start);
}

TEST(RunOptions, UsageMentionsTheSeparators) {
  std::string usage = kRunUsage;
  EXPECT_NE(usage.find(":::"), std::string::npos);
  EXPECT_NE(usage.find("::::"), std::string::npos);
  EXPECT_NE(usage.find("--jobs"), std::string::npos);
}

// Long options resolve as GNU parallel's Getopt::Long resolves them, against all of GNU
// parallel's option names.
TEST(RunOptions, LongOptionsMayBeAbbreviatedAndWrittenInAnyCase) {
  EXPECT_TRUE(parse({"--keep", "echo"}).keep_order);
  EXPECT_TRUE(parse({"--KEEP-ORDER", "echo"}).keep_order);
  EXPECT_EQ(parse({"--max-a=2", "echo"}).args_per_job.max_args, 2u);
  // "tags" is a prefix of --tagstring alone.
  EXPECT_EQ(parse({"--tags", "X", "echo"}).tagstring, "X");
  // An exact name wins over the longer names it prefixes: --res is --results.
  EXPECT_EQ(parse({"--res", "dir", "echo"}).results, "dir");
}

TEST(RunOptions, AmbiguousAndUnsupportedOptionsAreRefusedByName) {
  EXPECT_EQ(usage_error({"--ta", "echo"}), "option --ta is ambiguous (tag, tag-string, tagstring)");
  EXPECT_EQ(usage_error({"--jo", "2", "echo"}), "option --jo is ambiguous (joblog, jobs)");
  EXPECT_EQ(usage_error({"--sql-master", "x", "echo"}),
            "option --sql-master of GNU parallel is not supported by forkpool run");
  // An abbreviation of an option forkpool lacks is refused as that option.
  EXPECT_EQ(usage_error({"--sqlm", "x", "echo"}),
            "option --sqlmaster of GNU parallel is not supported by forkpool run");
  EXPECT_EQ(usage_error({"-Y", "echo"}),
            "option -Y of GNU parallel is not supported by forkpool run");
  EXPECT_EQ(usage_error({"--no-such-option", "echo"}), "unknown option '--no-such-option'");
  EXPECT_EQ(usage_error({"-@", "echo"}), "unknown option '-@'");
}

TEST(RunOptions, DefaultOptionGroupsComeFirstAndTheirWordsBeforeTheCommand) {
  const RunOptions o = parse_run_options(Words{"--tagstring", "z", "echo", ":::", "a"},
                                         {{"-k", "--tagstring", "y"}, {"-j", "3", "printf"}});
  EXPECT_TRUE(o.keep_order);
  EXPECT_EQ(o.jobs, "3");
  EXPECT_EQ(o.tagstring, "z");  // the command line's own wins
  EXPECT_EQ(o.command, (Words{"printf", "echo"}));
  ASSERT_EQ(o.sources.size(), 1u);
  EXPECT_EQ(o.sources[0].values, Words{"a"});
}

TEST(RunOptions, JoblogPlusAppendsAndResultsTakesTablesAndTemplates) {
  const RunOptions o = parse({"--joblog", "+log", "echo"});
  EXPECT_EQ(o.joblog, "log");
  EXPECT_TRUE(o.joblog_append);
  EXPECT_FALSE(parse({"--joblog", "log", "echo"}).joblog_append);
  for (const char* name : {"x.csv", "x.tsv", "x.json", "dir/{}", "r/{1}/x", "plain-dir"}) {
    EXPECT_EQ(usage_error({"--results", name, "echo"}), "") << name;
    EXPECT_EQ(parse({"--results", name, "echo"}).results, name);
  }
  EXPECT_FALSE(parse({"echo"}).files);
  EXPECT_TRUE(parse({"--files", "echo"}).files);
  EXPECT_TRUE(parse({"--output-as-files", "echo"}).files);
}

TEST(RunOptions, XargsFlags) {
  EXPECT_EQ(parse({"-d", ",", "echo"}).delimiter, ',');
  EXPECT_EQ(parse({"-d", "\\t", "echo"}).delimiter, '\t');
  EXPECT_EQ(parse({"--delimiter", "\\0", "echo"}).delimiter, '\0');
  EXPECT_NE(usage_error({"-d", "ab", "echo"}).find("single-character"), std::string::npos);
  EXPECT_EQ(parse({"-E", "END", "echo"}).end_of_file, "END");
  EXPECT_TRUE(parse({"-r", "echo"}).skip_blank);
  EXPECT_TRUE(parse({"--xapply", "echo"}).link);
  const RunOptions seps =
      parse({"--arg-sep", ",,", "--arg-file-sep", "//", "echo", ",,", "a", ":::", "//", "f"});
  ASSERT_EQ(seps.sources.size(), 2u);
  EXPECT_EQ(seps.sources[0].values, (Words{"a", ":::"}));
  EXPECT_EQ(seps.sources[1].kind, InputSource::Kind::kFile);
  EXPECT_EQ(seps.sources[1].path, "f");
  EXPECT_TRUE(parse({"-t", "echo"}).verbose);
  EXPECT_EQ(parse({"--shellquote", "--shell-quote", "echo"}).shellquote, 2u);
  EXPECT_EQ(parse({"--process-slot-var", "S", "echo"}).process_slot_var, "S");
  EXPECT_EQ(parse({"--total", "9", "echo"}).total_jobs, 9u);
}

TEST(RunOptions, ReplacementStringOptions) {
  const RunOptions o =
      parse({"--plus",     "-I",     "XX",    "--er",         "E", "--bnr",         "B", "--dnr",
             "D",          "--bner", "BE",    "--seqreplace", "S", "--slotreplace", "L", "--rpl",
             "{x} s/a/b/", "--rpl",  "{y} 1", "echo"});
  const ReplacementOptions& r = o.replacements;
  EXPECT_TRUE(r.plus);
  EXPECT_EQ(r.replace, "XX");
  EXPECT_EQ(r.extension, "E");
  EXPECT_EQ(r.basename, "B");
  EXPECT_EQ(r.dirname, "D");
  EXPECT_EQ(r.basename_extension, "BE");
  EXPECT_EQ(r.seq, "S");
  EXPECT_EQ(r.slot, "L");
  EXPECT_EQ(r.rpl, (Words{"{x} s/a/b/", "{y} 1"}));
  // -i / --replace: a value that may be left out, taken as Getopt::Long takes it.
  EXPECT_EQ(parse({"-i", "echo"}).replacements.replace_i, "echo");
  EXPECT_EQ(parse({"-i", "-k", "echo"}).replacements.replace_i, "");
  EXPECT_TRUE(parse({"-i", "-k", "echo"}).keep_order);
  EXPECT_EQ(parse({"-i", "--", "echo"}).command, Words{"echo"});
  EXPECT_EQ(parse({"-i", "-", "echo"}).replacements.replace_i, "-");
  EXPECT_EQ(parse({"-iXX", "echo"}).replacements.replace_i, "XX");
  EXPECT_EQ(parse({"-ik", "echo"}).replacements.replace_i, "k");
  EXPECT_EQ(parse({"--replace=", "echo"}).replacements.replace_i, "");
  EXPECT_EQ(parse({"--replace", "Q", "echo"}).replacements.replace_i, "Q");
  EXPECT_EQ(parse({"echo", "-i"}).replacements.replace_i, std::nullopt);
  // --parens: at least the two halves; --tag is then the empty expression in them.
  EXPECT_EQ(parse({"--parens", ",,", "--tag", "echo"}).tagstring, ",,");
  EXPECT_NE(usage_error({"--parens", "x", "echo"}).find("--parens"), std::string::npos);
  // --csv: "," unless --colsep says otherwise, and then no trimming by default.
  EXPECT_EQ(parse({"--csv", "echo"}).colsep, ",");
  EXPECT_EQ(parse({"--csv", "echo"}).trim, "n");
  EXPECT_EQ(parse({"--csv", "-C", ";", "echo"}).trim, std::nullopt);
  EXPECT_NE(usage_error({"--csv", "-C", "\"", "echo"}).find("--colsep"), std::string::npos);
  // --pipe cuts blocks at CSV records; --pipepart ignores --csv, as GNU parallel.
  EXPECT_TRUE(parse({"--csv", "--pipe", "cat"}).pipe.csv);
  EXPECT_FALSE(parse({"--csv", "--pipepart", "-a", "f", "cat"}).pipe.csv);
  EXPECT_FALSE(parse({"--pipe", "cat"}).pipe.csv);
  // -U is retired in GNU parallel: refused.
  EXPECT_NE(usage_error({"-U", "x", "echo"}).find("not supported"), std::string::npos);
}

}  // namespace
}  // namespace forkpool::cli
