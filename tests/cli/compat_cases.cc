// The compat cases and their fixtures; see compat_cases.h. Over 500 lines: it is a table of
// some 320 command lines, one a line or two, grouped by what they exercise.
#include "cli/compat_cases.h"

#include <string>
#include <vector>

#include "cli/run_support.h"

namespace forkpool::testing {

// ---- The cases --------------------------------------------------------------------------------

const std::vector<CompatCase>& compat_cases() {
  static const std::vector<CompatCase> all = {
      // Input sources and their order.
      {"ValuesSource", "-k echo ::: a b c"},
      {"CartesianTwoSources", "-k echo ::: a b ::: 1 2 3"},
      {"CartesianThreeSourcesPositional", "-k echo {3}{2}{1} ::: a b ::: 1 2 ::: x y"},
      {"LinkedValues", "-k echo {1}-{2} ::: a b c :::+ 1 2 3"},
      {"LinkedShorterSourceWins", "-k echo {1}-{2} ::: a b c :::+ 1 2"},
      {"LinkedFiles", "-k echo {1}={2} :::: abc.txt ::::+ nums.txt"},
      {"LinkedThenCrossed", "-k echo {1}{2}{3} ::: a b :::+ 1 2 ::: x y"},
      {"FileSource", "-k echo :::: abc.txt"},
      {"TwoFileSourcesCross", "-k echo :::: abc.txt nums.txt"},
      {"StdinAsDash", "-k echo :::: -", "abc.txt"},
      {"StdinWhenNoSource", "-k echo", "weird.txt"},
      {"ArgFileOption", "-k -a abc.txt echo"},
      {"TwoArgFileOptionsCross", "-k -a abc.txt -a nums.txt echo"},
      {"ValuesCrossFile", "-k echo {1}{2} ::: x y :::: abc.txt"},
      {"EmptyStdin", "echo never", "empty.txt"},
      {"EmptyFileSource", "echo never :::: empty.txt"},
      {"CrossedWithAnEmptyFile", "-k echo x ::: a b :::: empty.txt"},
      {"EmptyArguments", "-k echo '[{}]' ::: '' a ''"},
      {"InputLinesAreCommands", "-k -j1", "cmds.txt"},
      {"JobStdinIsNotTheInput", "-k 'cat; echo {}' ::: a b", "abc.txt"},

      // -0 and --colsep.
      {"NullSeparatedFile", "-0 -k echo '[{}]' :::: null.bin"},
      {"NullSeparatedStdin", "--null -k echo '<{}>'", "null.bin"},
      {"ColsepTab", "--colsep '\\t' -k echo {2}-{1}-{3} :::: cols.tsv"},
      {"ColsepRegex", "--colsep ',+' -k echo {3}:{1} :::: cols.csv"},
      {"ColsepAppendsAllColumns", "--colsep , -k echo :::: cols.csv"},
      {"ColsepEmptyColumns", "--colsep , -k echo '[{1}][{2}][{3}][{4}]' :::: cols.csv"},

      // Replacement strings.
      {"PathReplacements", "-k echo {} {.} {/} {//} {/.} :::: paths.txt"},
      {"PositionalModifiers", "-k echo {1.} {1/} {2//} {2/.} {1/.} ::: /a/b.c x.y ::: d/e.f g"},
      {"SeqAndSlot", "-j1 -k echo {#} {%} {} ::: a b c"},
      {"SlotWithinJobs", "-j2 -k 'test {%} -ge 1 && test {%} -le 2 && echo {#}' ::: a b c d e"},
      {"NoReplacementStringAppends", "-k echo pre ::: a b"},
      {"SeveralInOneWord", "-k echo {}{}-{.}.bak/{/} ::: x.y dir/f.z"},
      {"PositionalBeyondSources", "-k echo '[{1}][{2}]' ::: a b"},

      // Quoting: the argument arrives as itself, whatever it contains.
      {"QuotingSpecialCharacters", "-k echo :::: weird.txt"},
      {"QuotingInsideAWord", "-k echo 'x{}y' :::: weird.txt"},
      {"QuotingPositional", "-k printf '%s|%s\\n' {2} {1} :::: weird.txt ::: 'a b'"},
      {"DollarAndBackquoteNotExpanded", R"~(-k echo ::: '$HOME' '`echo no`' '$(echo no)')~"},
      {"NewlineInArgument", R"~(-k echo '<{}>' ::: "$(printf 'a\nb')" 'c')~"},
      {"UnicodeArguments", "-k echo {} {.} {/} ::: héllo.txt 日本語/名前.md ✓"},
      {"QuoteOption", R"~(-q -k printf '%s|\n' {} ::: 'a b' 'c;d')~"},
      {"QuoteOptionKeepsShellWords", R"~(-q -k sh -c 'echo "$0-$1"' {} x ::: 'a b' '$c')~"},
      {"ShellSyntaxInCommand", "-k 'echo {} | tr a-z A-Z; echo done' ::: abc def"},
      {"CommandRunsInSh",
       R"~(-k 'if [ -n "$BASH_VERSION" ]; then echo bash; else echo sh; fi' ::: 1)~"},

      // The caller's shell: PARALLEL_SHELL, else the shell among the ancestors.
      {"ParallelShellChosen",
       R"~(-k 'if [ -n "$BASH_VERSION" ]; then echo bash; else echo sh; fi' ::: 1)~", nullptr,
       kBash},
      {"ParallelShellNamesBash",
       R"~(-k 'if [ -n "$BASH_VERSION" ]; then echo bash; else echo sh; fi' ::: 1)~", nullptr,
       kShellBash},
      {"ExportedFunction", "-k greet ::: a 'b c' \"it's\"", nullptr, kBash},
      {"ExportedFunctionTwoArgs", "-k twice {1} {2} ::: a b ::: x ''", nullptr, kBash},
      {"ExportedFunctionInPipeline", "-k 'greet {} | tr a-z A-Z' ::: x y", nullptr, kBash},
      {"ExportedFunctionAsInputLine", "-k", "funcs.txt", kBash},
      {"FunctionNotExported", "-k notexported ::: a", nullptr, kBash | kExitOnly},
      {"BashSyntaxInCommand", "-k 'a=({}); echo ${#a[@]} ${a[0]^^}' ::: 'x y z' w", nullptr, kBash},
      {"BashPlainProgramIsExecd", "-k printf '%s\\n' ::: a 'b c'", nullptr, kBash},
      {"EnvOptionIsAcceptedLocally", "--env HOME -k greet ::: a", nullptr, kBash},
      {"ParallelShellOverridesTheCallersBash",
       R"~(-k 'if [ -n "$BASH_VERSION" ]; then echo bash; else echo sh; fi' ::: 1)~", nullptr,
       kBash | kShellSh},

      // --dry-run prints exactly the command lines, quoting and all.
      {"DryRun", "--dry-run -k echo {} ::: a 'b c'"},
      {"DryRunQuoting", "--dry-run -k echo {} x{}y :::: weird.txt"},
      {"DryRunReplacements", "--dry-run echo {.} {/} {//} {#} ::: 'dir/a b.c'"},
      {"DryRunMultipleArgs", "--dry-run -k -N2 echo {1} {2} ::: a b c"},

      // -j in its forms.
      {"JobsTwoKeepOrder", "-j2 -k 'sleep 0.{}; echo {}' ::: 3 1 2 0"},
      {"JobsPercent", "-j 50% -k echo ::: a b c"},
      {"JobsPlus", "-j +1 -k echo ::: a b c"},
      {"JobsMinus", "-j -1 -k echo ::: a b c"},
      {"JobsZero", "-j 0 -k echo ::: a b c"},
      {"JobsMoreThanInputs", "-j 16 -k echo ::: a b c"},

      // Output: grouped by default, --line-buffer, --ungroup, --tag.
      {"ManyLinesGrouped", "-j3 -k 'seq 1 3000 | sed s/^/{}:/' ::: a b c"},
      {"StdoutAndStderrGrouped", "-k 'echo out{}; echo err{} >&2; echo out{}' ::: 1 2 3", nullptr,
       kStderr},
      {"NoTrailingNewline", "-k printf %s ::: a b c"},
      {"BinaryOutput", "-k cat ::: bin.dat big.dat bin.dat"},
      {"LineBuffer", "--line-buffer -j1 'echo {}; echo {}2' ::: a b"},
      {"LineBufferKeepOrder", "--line-buffer -k -j2 'printf \"%s\\n\" {} {}{}' ::: a b c"},
      {"Ungroup", "--ungroup -j1 'echo {}; echo x{}' ::: a b"},
      {"UngroupShort", "-u -j1 echo ::: a b"},
      {"Tag", "--tag -k 'echo {}; echo second' ::: a b"},
      {"TagTwoSources", "--tag -k echo ::: a b ::: 1 2"},
      {"TagStderr", "--tag -k 'echo o; echo e >&2' ::: a b", nullptr, kStderr},
      {"TagWithoutTrailingNewline", "--tag -k 'printf abc' ::: a b"},
      {"TagString", "--tagstring '<{#}:{}>' -k 'echo x; echo y' ::: a b"},
      // A carriage return ends a line for --tag too: "a\r\n" is TAG a\r TAG \n.
      {"TagCarriageReturn", R"~(--tag -k 'printf "a\rb\r\nc\rd\n"; printf "x\ry"' ::: 1 2)~"},
      {"TagCarriageReturnLineBuffer",
       R"~(--line-buffer --tag -j1 'printf "a\rb\r\n\r\rc\n"' ::: 1 2)~"},

      // Several arguments per job.
      {"MaxArgs", "-n2 -k echo ::: a b c d e"},
      {"MaxArgsNumbered", "-N2 -k echo {2}-{1} ::: a b c d e"},
      {"MaxArgsZero", "-N0 -k echo hi ::: a b"},
      {"ContextReplace", "-X -k echo pre-{}-post ::: a b c"},
      {"ContextReplaceCapped", "-X -n2 -k echo {}.x {#} ::: a b c"},
      {"ContextReplaceModifiers", "-X -k echo {.} {/} ::: d/a.x b.y"},
      {"MultipleArgs", "-m -k echo {} ::: a b c"},
      {"MultipleArgsCapped", "-m -n 2 -k echo ::: a b c d e"},
      {"MultipleArgsFromFile", "-m -k echo :::: weird.txt"},

      // Exit status: the number of failed jobs, 101 above 100.
      {"FailedJobsCount", "-k 'echo {}; exit {}' ::: 0 3 0 4"},
      {"FailedJobsWithStderr", "-k 'echo {} >&2; exit 3' ::: a b", nullptr, kStderr},
      {"MoreThanHundredFailures", "'exit 1' ::: $(seq 1 102)"},
      {"JobKilledBySignal", "-k -j1 'echo {}; kill -9 $$' ::: a b"},

      // --joblog, --resume, --resume-failed, --retries.
      {"Joblog", "-j1 --joblog log 'echo {}; exit {}' ::: 0 1 2", nullptr, kJoblog},
      {"JoblogQuotedCommand", "-j1 --joblog log echo ::: 'a b' \"c'd\" 'new\nline'", nullptr,
       kJoblog},
      {"JoblogKilledJob", "-j1 --joblog log 'echo {}; kill -9 $$' ::: a", nullptr, kJoblog},
      {"Resume", "-j1 --resume --joblog log 'echo {}; exit {}' ::: 0 1 0 2 0", nullptr, kJoblog,
       "-j1 --joblog log 'echo {}; exit {}' ::: 0 1 0"},
      {"ResumeFailed", "-j1 --resume-failed --joblog log 'echo {}; exit {}' ::: 0 1 0 2 0", nullptr,
       kJoblog, "-j1 --joblog log 'echo {}; exit {}' ::: 0 1 0"},
      {"RetriesGiveUp", "-j1 --joblog log --retries 3 'echo try{}; exit 1' ::: a", nullptr,
       kJoblog},
      {"RetriesSucceedOnSecondTry",
       // Counts its attempts in a file: fails the first time, succeeds the second.
       "-k -j1 --joblog log --retries 3 "
       R"~('n=$(cat c{} 2>/dev/null || echo 0); n=$((n+1)); echo $n > c{}; )~"
       R"~(echo {}:$n; [ $n -ge 2 ]' ::: a b)~",
       nullptr, kJoblog},

      // --timeout: a fixed time, and a percentage of the median run time so far.
      {"Timeout", "-k -j1 --joblog log --timeout 1 'sleep {}; echo {}' ::: 0 5 0", nullptr,
       kJoblog},
      // 1000% of the 0.1 s jobs is about 1 s: a generous margin for the jobs that must live.
      {"TimeoutPercent", "-k -j1 --timeout 1000% 'sleep {}; echo {}' ::: 0.1 0.1 0.1 5 0.1"},
      // Past about 9.2e9 s the deadline overflowed and every job was killed at once.
      {"TimeoutEnormous", "-k --timeout 99999999999 'echo {}' ::: a b c"},

      // Standard descriptors closed or unwritable: every job still runs.
      {"StderrOnDevFull", "-j2 -k 'echo err{} >&2; echo out{}' ::: $(seq 10) 2>/dev/full"},
      {"StderrClosed", "-j2 -k 'echo err{} >&2; echo out{}' ::: $(seq 10) 2>&-"},
      {"StdoutClosed", "-j2 -k 'echo err{} >&2; echo out{}' ::: $(seq 10) >&-", nullptr, kStderr},
      {"StdinClosed", "-k 'cat; echo x{}' ::: 1 2 <&-"},

      // --halt.
      {"HaltNowFail", "-j1 --halt now,fail=1 'echo {}; exit {}' ::: 0 0 1 0 0"},
      {"HaltSoonFailTwo", "-j1 --halt soon,fail=2 'echo {}; exit {}' ::: 1 0 1 0 0"},
      {"HaltNowSuccess", "-j1 --halt now,success=1 'echo {}; exit {}' ::: 1 0 1"},
      {"HaltNowDone", "-j1 --halt now,done=2 'echo {}; exit {}' ::: 1 0 1"},
      {"HaltFailPercent", "-j1 --halt soon,fail=30% 'echo {}; exit {}' ::: 0 1 1 0 1 0 0 0 0 0"},
      {"HaltShorthandTwo", "-j1 --halt 2 'echo {}; exit {}' ::: 0 1 0"},
      {"HaltNowKillsRunningJobs",
       "-j2 --halt now,fail=1 'if [ {} = fail ]; then exit 4; fi; sleep 10; echo late' ::: slow "
       "fail"},

      // --delay, --shuf.
      {"Delay", "--delay 0.2 -k echo ::: a b c"},
      {"Shuffle", "--shuf echo ::: a b c d e f g h", nullptr, kSorted},
      {"ShuffleCartesian", "--shuf echo {1}{2} ::: a b c ::: 1 2 3", nullptr, kSorted},

      // --results.
      {"Results", "--results res -k 'echo {}; echo e{} >&2' ::: a b", nullptr, kResults},
      {"ResultsTwoSources", "--results res -k 'echo {1}{2}' ::: a b ::: x y", nullptr, kResults},
      // Not '' and '.' together: both name the directory res/1/, so which job's files are
      // left there depends on which finished last, in GNU parallel as in forkpool.
      {"ResultsAwkwardNames", "--results res -k echo ::: 'a b' c/d ''", nullptr, kResults},
      {"ResultsDotName", "--results res -k echo ::: . x", nullptr, kResults},
      {"ResultsFailingJob", "--results res -k 'echo {}; exit 2' ::: a", nullptr, kResults},

      // Each job's environment.
      {"ParallelSeqAndJobslot", "-k -j1 'echo $PARALLEL_SEQ $PARALLEL_JOBSLOT' ::: a b c"},
      {"ParallelJobslotInRange",
       "-k -j2 'echo $PARALLEL_SEQ; test $PARALLEL_JOBSLOT -ge 1 && test $PARALLEL_JOBSLOT -le 2' "
       "::: a b c d"},

      // --plus, the *replace options, --rpl: GNU parallel's replacement strings, Perl and all.
      {"PlusPathForms",
       "--plus -k echo {+/} {+.} {+..} {+...} {..} {...} {/..} {/...} :::: paths.txt"},
      {"PlusBashLikeForms",
       "--plus -k echo {:-x} {:2} {:1:2} {#a} {##a*b} {%c} {%%b*c} {/b/X} {//b/Y} {/#a/Z} "
       "{/%c/W} {^a} {^^b} {,A} {,,B} ::: abcabc '' AbBa"},
      {"PlusCounts", "--plus -j1 -k echo {##} {0#} {0%} ::: $(seq 12)"},
      {"PlusPositional", "--plus -k echo {2+.} {1..} ::: a.b.c ::: d.e"},
      {"PlusSlotIsAVariable", "--plus -j1 -k echo {slot} ::: a"},
      {"NumberedSeqIsAPosition", "-k echo {1#} {2%} x ::: a b ::: c"},
      {"ReplaceI", "-I XX -k echo XX {} ::: a 'b c'"},
      {"ReplaceIDryRun", "-I ,, --dry-run -k echo ,, x,,y ::: 'a b'"},
      {"AllReplaceOptions",
       "--er EXT --bnr BASE --dnr DIR --bner BE --seqreplace SEQ --slotreplace SLOT -j1 -k "
       "echo EXT BASE DIR BE SEQ SLOT {} :::: paths.txt"},
      {"ExtensionReplaceRetiredShortForm", "-U ,e -k echo ,e {.} ::: a.b", nullptr, kExitOnly},
      {"Rpl", "--rpl '{x} s/a/X/g' -k echo {x} {1x} ::: aa ba"},
      {"RplWithGroups", R"~(--rpl '{r(\d)} $_ x= $$1' -k echo {r3} {1r2} ::: ab)~"},
      {"RplOverridesBuiltin", "--rpl '{} s/a/b/' -k echo {} ::: a"},
      {"RplLongestFirst", "--rpl '{a} s/$/1/' --rpl '{aa} s/$/2/' -k echo {a}{aa} ::: x"},

      // {= perl =}, evaluated by one perl for the run.
      {"PerlExpression", R"~(-k echo '{= s/a/b/ =}' '{= $_=$job->seq()*10 =}' ::: aa ba)~"},
      {"PerlExpressionMetacharacters",
       R"~(-k echo '{= $_ .= q{ ;|&$(x)`y` "z" '"'"'w'"'"'} =}' ::: a)~"},
      {"PerlExpressionUnquoted", R"~(-k echo '{= $_ = "x  y"; uq() =}' ::: a)~"},
      {"PerlExpressionPositional",
       R"~(-k echo '{=2 tr/a-z/A-Z/ =}' '{=1 $_ = length $_ =}' ::: abc ::: def)~"},
      {"PerlExpressionAcrossWords", "-k echo '{=' 's/a/b/' '=}' ::: a"},
      {"PerlExpressionQ", R"~(-k echo '{= $_=Q($_) =}' ::: 'a b')~"},
      {"PerlExpressionDryRun", R"~(--dry-run echo '{= s/x/$/ =}' ::: x 'y z')~"},
      {"PerlExpressionTagstring", "--tagstring '{= $_=uc =}' -k echo ::: a b"},
      {"PerlExpressionSlotAndSeq",
       R"~(-j1 -k echo '{= $_=$job->slot() =}' '{= $_=slot()+seq() =}' ::: a b)~"},
      {"PerlExpressionTotalJobs", "-k echo '{= $_=total_jobs() =}' ::: a b c"},
      {"PerlExpressionContext", "-X -k echo 'p{= s/a/b/ =}' ::: a aa"},
      {"PerlExpressionMultipleArgs", "-n2 -k echo '{= s/a/b/ =}' ::: a aa ab"},
      {"PerlExpressionUnicode", "-k echo '{= s/é/E/ =}' '{= $_=length =}' ::: héllo"},
      {"PerlExpressionEmptyResult", R"~(-k echo '[{= $_="" =}]' ::: a)~"},
      {"PerlExpressionNewline", R"~(-k echo '{= $_.="\n2" =}' ::: a)~"},
      {"PerlExpressionIsTheCommand", R"~(-k '{= $_="echo hi $_" =}' ::: a b)~"},
      {"PerlExpressionKeepsState", R"~(-j1 -k echo '{= $_=++$n =}' ::: a b c)~"},
      {"PerlExpressionWithColsep", "--colsep , -k echo '{=2 $_=uc =}' :::: cols.csv"},
      {"PerlExpressionSyntaxError", "echo '{= s/( =}' ::: a", nullptr, kExitOnly},
      {"PerlExpressionOnEmptyInput", "echo '{= s/a/b/ =}'", "empty.txt"},

      // xargs-compatible flags.
      {"DelimiterComma", "-d , -k echo '[{}]'", "cols.csv"},
      {"DelimiterTabEscape", R"~(-d '\t' -k echo '[{}]' :::: cols.tsv)~"},
      {"DelimiterWinsOverNull", "-0 -d , -k echo '[{}]' :::: cols.csv"},
      {"DelimiterLongForm", "--delimiter , -k echo '[{}]' :::: cols.csv"},
      {"DelimiterTwoCharsRefused", "-d ab -k echo ::: a", nullptr, kExitOnly, nullptr,
       "multi-character -d is not implemented"},
      {"EndOfFileString", "-E c -k echo :::: abc.txt"},
      {"EndOfFileStringOnStdin", "-E b -k echo", "abc.txt"},
      {"EndOfFileStringNeverMet", "-E zzz -k echo :::: abc.txt"},
      {"EndOfFileStringZeroIsNone", "-E 0 -k echo ::: 0 1"},
      {"NoRunIfEmpty", "-r -k echo '[{}]' :::: weird.txt"},
      {"NoRunIfEmptyAllBlank", "-r echo never", "blanks.txt"},
      {"NoRunIfEmptyLongForm", "--no-run-if-empty -k echo '[{}]'", "blanks.txt"},
      {"Link", "--link -k echo {1}{2} ::: a b c ::: 1 2 3"},
      {"LinkShorterWins", "--xapply -k echo {1}{2} ::: a b c ::: 1 2"},
      {"LinkThreeSources", "--link -k echo {1}{2}{3} ::: a b ::: 1 2 ::: x y"},
      {"ArgSep", "--arg-sep ,, -k echo ,, a '::: b'"},
      {"ArgSepLinked", "--arg-sep ,, -k echo {1}{2} ,, a b ,,+ 1 2"},
      {"ArgFileSep", "--arg-file-sep // -k echo // abc.txt"},
      {"ArgFileSepKeepsValues", "--arg-file-sep // -k echo // abc.txt ::: x y"},
      {"TrimLeft", "--trim l -k echo '[{}]' ::: '  a  ' ' b'"},
      {"TrimRight", "--trim r -k echo '[{}]' ::: '  a  ' 'b '"},
      {"TrimBoth", "--trim rl -k echo '[{}]' '{= $_=length =}' ::: $'\\t a \\n'"},
      {"TrimNoneWithColsep", "--colsep , --trim n -k echo '[{1}][{2}]' ::: ' a , b'"},
      {"TrimNonsense", "--trim x echo ::: a", nullptr, kExitOnly},
      {"VerboseToStderr", "-t -j1 -k echo ::: a 'b c'", nullptr, kStderr},
      {"VerboseLongForm", "--verbose -j1 -k 'echo {} >&2' ::: a", nullptr, kStderr},
      {"ShellQuote", "--shellquote -k echo ::: 'a b' \"c'd\""},
      {"ShellQuoteTwice", "--shellquote --shellquote -k echo {} x ::: 'a b'"},
      {"ShellQuoteDryRun", "--shellquote --dry-run echo ::: 'a b'"},

      // PCRE2: --colsep is a Perl regular expression.
      {"ColsepNonGreedy", "--colsep ',.*?,' -k echo {1}+{2} ::: 'a,x,b,y,c'"},
      {"ColsepCaseInsensitive", "--colsep '(?i)X' -k echo {1}-{2}-{3} ::: axbXc"},
      {"ColsepPerlClasses", R"~(--colsep '\s*\d+\s*' -k echo {1}-{2}-{3} ::: 'a 1 b22c')~"},
      {"ColsepCaptureGroupIsAColumn", "--colsep '(,)' -k echo {1}.{2}.{3} ::: a,b"},
      {"ColsepLookahead", "--colsep '(?=b)' -k echo {1}-{2} ::: aab"},
      {"ColsepUnicode", "--colsep é -k echo {2}{1} ::: aébé"},

      // What existed but differed.
      {"TagEmptyArgument", "--tag -k echo x ::: '' a"},
      {"TagEmptyArgumentDryRun", "--tag --dry-run -k echo x ::: '' a"},
      {"JoblogToStdoutAfterOutput", "--joblog - -j1 -k echo ::: a b | cut -f1,5-"},
      {"JoblogToStdoutKeepOrder", "--joblog - -j2 -k 'sleep 0.{}; echo {}' ::: 3 1 | cut -f1,5-"},
      {"ProcessSlotVar", "--process-slot-var SLOTV -j1 -k 'echo $SLOTV {}' ::: a b"},
      {"TotalJobs", "--plus --total-jobs 7 -k echo {##} ::: a b"},
      {"TotalJobsInExpression", "--total 5 -k echo '{= $_=total_jobs() =}' ::: a"},

      // Default options: $PARALLEL and profiles, and --plain to ignore them.
      {"ParallelEnvOptions", "echo ::: b a", nullptr, 0, nullptr, nullptr, "PARALLEL=-k --tag"},
      {"ParallelEnvCommandWords", "::: a b", nullptr, 0, nullptr, nullptr, "PARALLEL=-k echo pre"},
      {"ParallelEnvQuotedValue", "echo ::: a b", nullptr, 0, nullptr, nullptr,
       "PARALLEL=-k --tagstring 'x  \\\"y' -j 2"},
      {"ParallelEnvBeforeCommandLine", "--tagstring z echo ::: a", nullptr, 0, nullptr, nullptr,
       "PARALLEL=--tagstring y -k"},
      {"PlainIgnoresParallelEnv", "--plain -k echo ::: a", nullptr, 0, nullptr, nullptr,
       "PARALLEL=--tag"},
      {"ProfileByPath", "-J ./profile echo ::: a b"},
      {"ParallelEnvBadOption", "echo ::: a", nullptr, kExitOnly, nullptr, nullptr,
       "PARALLEL=--no-such-option"},

      // Long options as Getopt::Long takes them: abbreviated, in any case.
      {"LongOptionAbbreviated", "--keep --tagstr X echo ::: a b"},
      {"LongOptionAnyCase", "--KEEP-ORDER -j2 --Tag 'sleep 0.{}; echo {}' ::: 3 1 0"},
      {"LongOptionPrefixOfOneOption", "-k --tags echo ::: a b"},
      {"LongOptionAbbreviatedValueWithEquals", "--max-a=2 -k echo ::: a b c"},
      {"LongOptionAmbiguous", "--ta echo ::: a", nullptr, kExitOnly},
      {"LongOptionAmbiguousJob", "--jo 2 echo ::: a", nullptr, kExitOnly},
      {"FlagGivenAValue", "--tag=x echo ::: a", nullptr, kExitOnly},

      // --joblog +FILE appends without a header; a dry run leaves the log alone.
      {"JoblogAppend", "-j1 --joblog +log echo ::: b", nullptr, kJoblog,
       "-j1 --joblog log echo ::: a"},
      {"JoblogAppendToNewFile", "-j1 --joblog +log 'echo {}; exit {}' ::: 0 3", nullptr, kJoblog},
      {"DryRunWritesNoJoblog", "--dry-run --joblog log echo ::: b", nullptr, kJoblog,
       "-j1 --joblog log echo ::: a"},
      {"ResumeEmptyJoblogStartsANewOne", "-j1 --resume --joblog log echo ::: a b", nullptr, kJoblog,
       "-j1 --joblog log true ::: ; : > log"},

      // Errors of the tool itself: only the exit status (255) is compared.
      {"UnknownOption", "--no-such-option echo ::: a", nullptr, kExitOnly},
      {"JobsNotANumber", "-j nonsense echo ::: a", nullptr, kExitOnly},
      {"HaltNonsense", "--halt nonsense echo ::: a", nullptr, kExitOnly},
      {"MissingArgumentFile", "echo :::: no-such-file.txt", nullptr, kExitOnly},
      {"MissingOptionValue", "-k echo a -j", nullptr, kExitOnly},

      // ---- --pipe and friends
      // Blocks of stdin (or ranges of -a FILE with --pipepart) on each job's stdin. Jobs that
      // leave part of their block unread, or read it in pieces around a second command
      // (`head -n1; wc -l`), are left out: what GNU parallel does then depends on timing.
      // GNU parallel reads stdin even with -a FILE: forkpool's -a input is in run_e2e_test.
      {"PipeDefaultBlock", "-k --pipe wc -l", "lines.txt"},
      {"PipeSmallBlock", "-k --pipe --block 1k wc -l", "lines.txt"},
      {"PipeBlockDecimal", "-k --pipe --block 1.5k wc -c", "lines.txt"},
      {"PipeBlockSizeAlias", "-k --pipe --block-size 2K md5sum", "lines.txt"},
      {"PipeBlockLowerK", "-k --pipe --block 3k 'head -n1'", "lines.txt"},
      {"PipeBlockEndsMidRecord", "-k --pipe --block 100 'echo ---; cat'", "lines1k.txt"},
      {"PipeBlockOfOneByte", "-k --pipe --block 1 'echo ---; cat'", "abc.txt"},
      {"PipeRecordLargerThanBlock", "-k --pipe --block 100 wc -c", "longrec.txt"},
      {"PipeRecordLargerThanBlockWhole", "-k --pipe --block 10 'echo ---; head -c 20; echo'",
       "longrec.txt"},
      {"PipeNoFinalNewline", "-k --pipe --block 2 'echo ---; cat; echo'", "noeol.txt"},
      {"PipeEmptyInput", "--pipe echo job", "empty.txt"},
      {"PipeEmptyInputFifoArg", "-k --pipe -N1 echo job", "empty.txt"},
      {"PipeBlankLines", "-k --pipe -N1 'echo ---; od -c'", "blank.txt"},
      {"PipeCrlf", "-k --pipe --block 200 'wc -l'", "crlf.txt"},
      {"PipeUnicode", "-k --pipe --block 1k md5sum", "utf8.txt"},
      {"PipeBinary", "-k --pipe --block 10k md5sum", "big.dat"},
      {"PipeBinaryWhole", "-k --pipe cat", "bin.dat"},
      {"PipeMaxReplaceArgs", "-k --pipe -N 1000 wc -l", "lines.txt"},
      {"PipeMaxArgs", "-k --pipe -n 777 'tail -n1'", "lines.txt"},
      {"PipeN1", "-k --pipe -N1 'echo ---; cat'", "abc.txt"},
      {"PipeNMoreThanInput", "-k --pipe -N10 'echo ---; cat'", "abc.txt"},
      {"PipeMaxLines", "-k --pipe -L 7 --block 1k wc -l", "lines.txt"},
      {"PipeMaxLinesLong", "-k --pipe --max-lines 3 wc -l", "lines.txt"},
      {"PipeMaxLinesWithN", "-k --pipe -L 4 -N 5 wc -l", "lines1k.txt"},
      {"PipeRecstartFasta", "-k --pipe --recstart '>' --block 2k 'head -n1'", "fasta.txt"},
      {"PipeRecstartFastaN", R"~(-k --pipe --recstart '>' -N 7 'grep -c ">"')~", "fasta.txt"},
      {"PipeRecendOnly", R"~(-k --pipe --recend 'END\n' --block 300 'head -n1')~", "recs.txt"},
      {"PipeRecstartRecend",
       R"~(-k --pipe --recstart BEGIN --recend 'END\n' --block 500 'sed -n "1p;$p"')~", "recs.txt"},
      {"PipeRecstartRecendN", R"~(-k --pipe --recstart BEGIN --recend 'END\n' -N 3 md5sum)~",
       "recs.txt"},
      {"PipeRecendEscapes", R"~(-k --pipe --recend '\r\n' --block 300 wc -c)~", "crlf.txt"},
      {"PipeNulRecords", R"~(-k --pipe --recend '\0' -N1 'od -c')~", "null.bin"},
      {"PipeNulRecordsBlock", R"~(-k --pipe --recend '\0' --block 8 'od -c')~", "null.bin"},
      {"PipeRegexpRecstart", "-k --pipe --regexp --recstart '>seq[0-9]+ ' --block 3k 'head -n1'",
       "fasta.txt"},
      {"PipeRegexpRecstartN", "-k --pipe --regexp --recstart '>seq[0-9]+ ' -N 25 'grep -c seq'",
       "fasta.txt"},
      {"PipeRegexpRecend", R"~(-k --pipe --regexp --recend 'E.D\n' --block 400 'head -n1')~",
       "recs.txt"},
      {"PipeRegexpAlternation", R"~(-k --pipe --regexp --recend 'END\n|XXX\n' -N 9 'head -n1')~",
       "recs.txt"},
      {"PipeRegexpNonGreedy",
       R"~(-k --pipe --regexp --recstart 'B.*?N' --recend '\n' -N 4 'head -n1')~", "recs.txt"},
      {"PipeRegexpCaseless", "-k --pipe --regexp --recstart '(?i)begin' -N 10 'head -n1'",
       "recs.txt"},
      {"PipeRegexpGarbageFirst",
       "-k --pipe --regexp --recstart 's' -N 1 'echo ---; head -c 30; echo'", "longrec.txt"},
      {"PipeHeaderColon", "-k --pipe --header : --block 1k 'head -n2'", "table.csv"},
      {"PipeHeaderRegexp", R"~(-k --pipe --header 'name.*\n' -N 500 'md5sum')~", "table.csv"},
      {"PipeHeaderCount", "-k --pipe --header 2 -N 600 'head -n3'", "table.csv"},
      {"PipeHeaderNoMatch", "-k --pipe --header 'zzz' cat", "nums.txt"},
      {"PipeHeaderOnly", "-k --pipe --header 3 cat", "abc.txt"},
      {"PipeCat", "-k --pipe --cat --block 5k 'wc -l < {}'", "lines.txt"},
      {"PipeCatNoBraces", "-k --pipe --cat 'cat'", "abc.txt"},
      {"PipeCatImpliesPipe", "-k --cat -N 2000 'tail -n1 {}'", "lines.txt"},
      {"PipeFifo", "-k --pipe --fifo --block 5k 'wc -l < {}'", "lines.txt"},
      {"PipeFifoImpliesPipe", "-k --fifo -N2 'cat {}'", "nums.txt"},
      {"PipeRoundRobinSorted", "--pipe --round-robin -j3 --block 1k cat", "lines.txt", kSorted},
      {"PipeRoundRobinJobCount",
       "-k --pipe --round-robin -j2 --block 1k 'echo job; cat >/dev/null'", "lines.txt"},
      {"PipeRoundRobinFewBlocks", "-k --pipe --round-robin -j3 --block 2 'echo job; cat'",
       "abc.txt"},
      {"PipeRoundRobinEmpty", "--pipe --round-robin -j2 'echo job'", "empty.txt"},
      // Fewer blocks than job slots: the jobs that did start get end of file all the same.
      {"PipeRoundRobinOneBlockThreeSlots", "--pipe --round-robin -j3 cat", "nums.txt"},
      {"PipeRoundRobinFewerRecordsThanSlots", "-k --pipe --round-robin -N1 -j5 cat", "abc.txt"},
      {"PipeRoundRobinHeader",
       "--pipe --round-robin -j2 --header : --block 2k 'head -n1; cat >/dev/null'", "table.csv",
       kSorted},
      {"PipeKeepOrderManyJobs", "-k -j4 --pipe --block 500 'tail -n1'", "lines.txt"},
      {"PipeSeqAndSlot", "-k -j1 --pipe -N2 'echo {#} {%}; cat'", "nums.txt"},
      {"PipeEnvSeq", "-k --pipe -N1 'cat >/dev/null; echo $PARALLEL_SEQ'", "nums.txt"},
      {"PipeExitStatusCount", "-k --pipe -N1 'read x; echo $x; exit $x'", "nums.txt"},
      {"PipeExitFailSome", "-k --pipe -N1 'grep -v 3'", "nums.txt"},
      {"PipeJobReadsPart", "-k --pipe --block 10k 'head -n 1'", "lines.txt"},
      {"PipeHaltNow", "-j1 --pipe -N1 --halt now,fail=1 'read x; echo $x; test $x != 2'",
       "nums.txt"},
      {"PipeJoblog", "-k -j1 --pipe -N2 --joblog log 'cat; exit 0'", "nums.txt", kJoblog},
      {"PipeTagstring", "-k --pipe -N1 --tagstring 'job{#}' cat", "abc.txt"},
      {"PipeLineBuffer", "-k --pipe -N1 --line-buffer cat", "nums.txt"},
      {"PipeUngroup", "-j1 --pipe -N1 -u cat", "nums.txt"},
      {"PipePart", "-k --pipepart -a lines.txt --block 1k wc -l"},
      {"PipePartDefaultBlock", "-k -j2 --pipepart -a lines.txt wc -l"},
      {"PipePartNegativeBlock", "-k -j2 --pipepart -a lines.txt --block -3 wc -l"},
      {"PipePartRecstart", "-k --pipepart -a fasta.txt --recstart '>' --block 5k 'head -n1'"},
      {"PipePartRegexp",
       "-k --pipepart -a fasta.txt --regexp --recstart '>seq' --block 3k 'head -n1'"},
      {"PipePartHeader", "-k --pipepart -a table.csv --header : --block 3k 'head -n2'"},
      {"PipePartBinary", "-k --pipepart -a big.dat --block 20k md5sum"},
      {"PipePartRoundRobin", "--pipepart -a lines.txt -j2 --round-robin cat", nullptr, kSorted},
      {"PipePartCat", "-k --pipepart -a lines.txt --block 8k --cat 'tail -n1 {}'"},
      {"PipePartEmpty", "--pipepart -a empty.txt echo job"},
      {"PipePartRecordLargerThanBlock", "-k --pipepart -a longrec.txt --block 10 wc -c"},
      {"PipePartNoRecend", "-k --pipepart -a lines.txt --recend '' --block 10k wc -c"},
      {"PipeBadBlockAbc", "--pipe --block abc wc -l", "lines.txt", kExitOnly},
      {"PipeBadNegativeBlock", "--pipe --block -1 wc -l", "lines.txt", kExitOnly},
      {"PipeBadPipepartOnPipe", "--pipepart -a - wc -l", "lines.txt", kExitOnly},
      {"PipeBadCatFifo", "--pipe --cat --fifo wc -l", "lines.txt", kExitOnly},
      {"PipeBadMissingFile", "--pipepart -a no-such-file wc -l", nullptr, kExitOnly},
      {"PipeBadRetriesRoundRobin", "--pipe --round-robin --retries 2 wc -l", "lines.txt",
       kExitOnly},
      {"PipeJobReadsNothingLarge", "-k --pipe --block 20k 'cat >/dev/null; echo done'",
       "lines.txt"},
      {"PipeRetries", "-k -j1 --pipe -N2 --retries 2 'cat'", "nums.txt"},
      {"PipeTimeoutKeepsOthers", "-k --pipe -N1 --timeout 5 'cat'", "nums.txt"},
      {"PipeDashDash", "-k --pipe -N1 -- cat", "abc.txt"},
      {"PipeJobs4", "-k -j4 --pipe --block 2k md5sum", "lines.txt"},
      {"PipeSpreadstdinAlias", "-k --spreadstdin -N2 cat", "abc.txt"},
      {"PipeRoundAlias", "--pipe --round -j2 --block 3k cat", "lines.txt", kSorted},
      {"PipeRegexpRecendEmpty", "-k --pipe --regexp --recend '' -N2 'echo ---; cat'", "abc.txt"},
      {"PipeRecstartOnlyN1", "-k --pipe --recstart BEGIN -N1 'head -c 9; echo'", "recs.txt"},
      {"PipeHeaderWithN1", "-k --pipe --header 1 -N1 cat", "abc.txt"},
      {"PipeTagstringSeq", "-k --pipe -N2 --tagstring '{#}-{%}' -j1 cat", "nums.txt"},
      {"PipeKeepOrderSlowFirst", "-k -j3 --pipe -N1 'read x; sleep 0.$((6-x)); echo $x'",
       "nums.txt"},
      {"PipePartHeaderNegativeBlock",
       "-k -j2 --pipepart -a table.csv --header : --block -2 'md5sum'"},
      {"PipePartRecstartRecend",
       R"~(-k --pipepart -a recs.txt --recstart BEGIN --recend 'END\n' --block 400 'head -n1')~"},
      {"PipeBadZeroBlock", "--pipe --block 0x wc -l", "lines.txt", kExitOnly},

      // --results as one table, templated --results names, --files, -k --line-buffer.
      {"ResultsCsv",
       R"~(-k --results res.csv 'printf "x y\0z"; echo e"{}" >&2; test {#} != 2 || kill -9 $$; exit {#}' ::: a 'b,c' 'd"e' '')~",
       nullptr, kResults | kTimes},
      {"ResultsTsvToStdout", "-k --results -.tsv 'echo {}; echo e >&2' ::: 'a\tb' c", nullptr,
       kTimes | kStderr},
      {"ResultsJsonUppercaseNameTwoSources",
       R"~(-k --results res.JSON 'echo "{}"; printf "\\\t\001" >&2' ::: 'a"b' 'x\y' ::: 1 2)~",
       nullptr, kResults | kTimes},
      {"ResultsTemplatedFile",
       "-k --results 'res/{1/.}-{2}' 'cat {1}; echo {2} >&2' ::: abc.txt nums.txt ::: x", nullptr,
       kResults},
      {"ResultsTemplatedDirectory", "-k --results 'res/{}/' 'echo {}' ::: a 'x y'", nullptr,
       kResults},
      {"FilesWithResultsDirectory", "-k --files --results res 'echo {}' ::: p q", nullptr,
       kResults},
      {"FilesWithCsv", "-k --files --results res.csv 'echo {}' ::: 1", nullptr,
       kTempFiles | kResults | kTimes},
      {"FilesTagEmptyOutputNoStderr",
       "-k --tag --files 'test {} = b || echo {}; echo e >&2' ::: a b c", nullptr,
       kTempFiles | kStderr},
      {"FilesLargeOutput", "-k --files 'cat big.dat big.dat big.dat big.dat; echo {}' ::: 1",
       nullptr, kTempFiles},
      {"DryRunResultsTable", "-k --dry-run --tag --results res.tsv echo ::: a 'b c'", nullptr,
       kResults | kTimes},
      {"DryRunFilesWithResults", "-k --dry-run --files --results res echo ::: a b", nullptr,
       kResults},
      {"KeepOrderLineBufferTagPartialLine",
       R"~(-k --lb --tag -j2 'printf "a\nb"; echo e{} >&2' ::: 1 2)~", nullptr, kStderr},
      {"KeepOrderLineBufferLargeOutput",
       "-k --lb -j2 'cat big.dat big.dat big.dat big.dat; echo {}' ::: 1 2"},

      // Resources: --nice, --termseq, --memfree, --load, --limit.
      {"NiceSeven", "-k --nice 7 'echo {}; cut -d\" \" -f19 /proc/self/stat' ::: a b"},
      {"NiceAboveNineteenIsNineteen", "--nice 30 'cut -d\" \" -f19 /proc/self/stat' ::: a"},
      {"NiceZeroIsForkpoolsOwn", "--nice 0 'cut -d\" \" -f19 /proc/self/stat' ::: a"},
      // The shell notes each trapped signal; TERM ends it. A second: the traps are set first.
      {"TermseqOnTimeout",
       "--termseq USR1,100,TERM,2000,KILL,25 --timeout 1 "
       "'trap \"echo usr1\" USR1; trap \"echo term; exit 4\" TERM; "
       "while :; do sleep 0.05; done' ::: a"},
      {"MemfreeBelowFreeMemory", "-k --memfree 1k echo ::: a b"},
      {"LoadAboveAnyLoad", "-k --load 100000% echo ::: a b"},
      {"LimitCommandSaysStart", "-k --limit 'test -n \"$SSHLOGIN\"' echo ::: a b"},
      {"LimitBuiltInMem", "--limit 'mem 1k' echo ::: a"},
      {"LimitBuiltInLoad", "--limit 'load 100000' echo ::: a"},

      // --header outside --pipe: columns by name.
      {"HeaderColumnNames", "-k --header : --colsep '\\t' echo {c}-{a}-{1}-{} :::: cols.tsv"},
      {"HeaderOfValueSources", "-k --header : echo {x}{y} ::: x 1 2 ::: y a b"},
      {"HeaderImpliesATabUntrimmed", "-k --header : echo '[{b}]' :::: cols.tsv"},
      {"HeaderFromStdin", "-k --header : echo {c}", "cols.tsv"},
      {"HeaderFromStdinAPipe", "-k --header : echo {c} {a} < <(cat cols.tsv)", nullptr, kBash},
      {"HeaderFromAPipe", "-k --header : echo {b} :::: <(cat cols.tsv)", nullptr, kBash},
      {"HeaderOfACrossedFileReadAgain", "-k --header : echo {x}{a} ::: x 1 2 :::: cols.tsv"},
      {"HeaderWithModifiers", "-k --header : echo {p.} {p/} {p//} {p/.} ::: p /a/b.c d/e.f"},
      {"HeaderInPerlExpression", "-k --header : echo '{=x $_.=\"!\" =}' ::: x a b"},
      {"HeaderEmptyColumnName", "-k --header : --colsep , echo {z}-{y} :::: cols.csv"},
      {"HeaderInTagstring", "-k --header : --tagstring {b} echo {a} :::: cols.tsv"},
      {"HeaderZeroReadsNoHeader", "-k --header 0 echo {2} :::: cols.tsv"},
      {"HeaderWithoutReplacementStrings", "-k --header : echo ::: a b c"},

      // -L / --max-lines outside --pipe: lines per job; a line ending in whitespace goes on.
      {"MaxLinesLContextReplace", "-k -L 2 echo '[{}]' :::: weird.txt"},
      {"MaxLinesContinuedLines", "-k -L 1 echo :::: weird.txt"},
      {"MaxLinesFromStdin", "-k -L 3 echo", "weird.txt"},
      {"MaxLinesLongFormNoContext", "-k --max-lines 2 echo 'x{}y' ::: a b c"},
      {"MaxLinesCountFromN", "-k -L 2 -n 3 echo 'x{}y' ::: a b c d"},
      {"MaxLinesPositional", "-k -L2 echo {1}-{2} :::: nums.txt"},
      {"MaxLinesBlankAtTheEndStays", "-k -L 1 echo '[{}]' ::: 'a ' 'b '"},
      {"MaxLinesDryRun", "-k -L 3 --dry-run echo ::: a b c d e"},

      // Argument options: -E and -r on ::: values, --csv, -i / --replace, --parens.
      {"EndOfFileStringInValues", "-E d -k echo ::: a b d e ::: 1 2"},
      {"NoRunIfEmptyValuesCrossed", "-r -k echo x{1}y{2} ::: '' ' ' a ::: b c"},
      {"NoRunIfEmptyValuesLinked", "-r --link -k echo '{1}-{2}' ::: a ' ' b ::: 1 2 3 4"},
      {"MaxLinesEndOfFileAndBlank", "-k -L 2 -E d -r echo ::: 'a ' b '  ' 'c ' d e"},
      {"CsvQuotedFields", "--csv -k echo {3}/{2}/{1} :::: quoted.csv"},
      {"CsvColsepIsLiteral", R"~(--csv --colsep '|+' -k echo {2}/{1} ::: 'a|+"b|+"|+c')~"},
      {"CsvNotTrimmedWithoutColsep", "--csv -k echo x{1}x ::: ' a , b '"},
      {"CsvHeader", "--csv --header : -k echo {h2}/{h1} :::: header.csv"},
      {"CsvEndOfFileAndBlank", "--csv -r -E stop -k echo {2} :::: quoted.csv"},
      {"CsvNullSeparatedHalfRecord", R"~(--csv -0 -k echo {2}/{1} ::: 'a,"b' 'c",d')~"},
      {"CsvBadRecord", R"~(--csv -k echo ::: 'a"b')~", nullptr, kExitOnly},
      {"ReplaceTakesTheNextWord", "-k -i echo X{}X ::: a b"},
      {"ReplaceLongWithEquals", "-k --replace=XX echo XX {} ::: a"},
      {"ReplaceWithCapitalI", "-k -i Y -I X echo X Y {} ::: a"},
      {"ReplaceTakesASeparator", "--replace ::: echo X ::: a"},
      {"TagWithCapitalI", "-k --tag -I X echo X ::: a b"},
      {"ParensCommas", "-k --parens ,, echo ',s/a/b/,' {} ::: a ab"},
      {"ParensOddLength", "-k --parens abc echo 'a$_.=1bc' ::: x"},
      {"ParensWordsMerged", "-k --parens '<<>>' echo '<<' 's/a/b/' '>>' ::: a"},
      {"ParensWithPlusAndTag", "-k --parens ,, --plus --tag echo {..} ::: a/b.c.d"},
      {"ParensInHeader", "-k --header : --parens ,, echo ',h1 s/a/b/,' ::: h1 a"},
      // skip() and @arg in {= =}: a skipped job runs nothing and counts as failed (Exitval -2).
      {"SkipChooseK", "-k --plus echo {#} {choose_k} ::: A B C ::: A B C"},
      {"SkipUniqJoblog", "-k --joblog log --plus echo {uniq} ::: A B ::: A B ::: B C", nullptr,
       kJoblog},
      {"SkipDryRunStillPrints", R"~(-k --dry-run echo '{= skip() if $_ eq "b" =}' ::: a b c)~"},
      {"ArgIsOneBased", R"~(-k echo '{= $_ = join("+", @arg) =}' ::: a b ::: c d)~"},
      {"ArgUntrimmedUnderColsep",
       R"~(-k --colsep , echo '{1} {= $_=$arg[1] =}' ::: 'a, b' 'c ,d')~"},
      {"ArgHoldsTheRecordsSoFar", R"~(-k -n2 echo '{= $_ = $#arg =}' ::: a b c)~"},
      // -L outside --pipe with --colsep, --header, -0, -d, -m, -X.
      {"MaxLinesColsep", "-k -L 2 --colsep , echo {1}/{2}/{3} :::: lines.csv"},
      {"MaxLinesHeader", "-k -L 2 --header : --colsep , echo {h1}/{h2} :::: header.csv"},
      {"MaxLinesNullColsepBlankEof",
       "-k -L 1 -0 -r -E d --colsep ' ' echo {1}/{2} :::: nulcont.bin"},
      {"MaxLinesDelimiter", "-k -L 1 -d , echo x{}x ::: 'a ,b,c,d ,,e ,'"},
      {"MaxLinesFillLine", "-k -L 3 -m -j4 echo :::: spaced.txt"},

      // ---- --ctag, --ctagstring, --color, --color-failed: each job's lines in GNU parallel's
      // colour for its seq, '\r' and a missing final newline. (The wrap past its 307 colours:
      // RunOptions.TagColorsAreGnuParallelsAndWrapAfter307.)
      {"CtagKeepOrder", "-k --ctag echo ::: a b c"},
      {"CtagstringWithStderr", "-k --ctagstring '<{}>' 'echo {}; echo err{} >&2' ::: q r", nullptr,
       kStderr},
      {"ColorCarriageReturnAndNoFinalNewline", "-k --color 'printf \"x\\ny\\rz\"' ::: a"},
      {"ColorFirstTwelveColours", "-k --colour echo {#} ::: $(seq 12)"},
      {"ColorEmptyOutputPrintsNothing", "-k --color true ::: a b"},
      {"ColorFailed", "-k --color-failed 'echo {}; exit {}' ::: 0 1 2"},
      {"ColorAndColorFailed", "-k --color --cf 'echo {}; exit {}' ::: 0 1"},
      {"CtagDryRun", "-k --ctag --dry-run echo ::: a b"},
      {"CtagUngrouped", "-u --ctag echo ::: a"},

      // ---- -n 0 / -N 0, and the argument of a --pipe job: GNU parallel computes every
      // replacement string on its marker "\0noarg" ({//} is ".", {= =} sees it in $_), drops a
      // value that is still the marker, and a NUL left in the command ends it for the shell.
      // --pipe's argument is one empty value; --cat's and --fifo's {} is $PARALLEL_TMP unquoted.
      {"NoArgBuiltinReplacements",
       "-k -n0 echo {} {.} {/} {//} {/.} {1//} x{}y {#} '{= $_=\"x\" =}' ::: a b"},
      {"NoArgPerlSeesTheMarker",
       R"~(-k -N0 --dry-run echo '{= $_ .= "y" =}' '{= $_ = join("+", map {length} @arg) =}' ::: a b)~"},
      {"NoArgNulEndsTheCommand", "-k -N0 echo '{= s/^/y/ =}' ::: a b"},
      {"NoArgQuotedWordsAndTagstring",
       R"~(-k -N0 -q --plus --tagstring '<{//}{= $_=length =}>' echo {+/} {..} {} '{= $_="a b" =}' ::: a ::: b)~"},
      // The job reads its block: GNU parallel's exit status is 1 now and then (9 runs in 40)
      // when a --pipe job exits before taking its input, a race no comparison can pin.
      {"PipeArgumentIsEmpty",
       R"~(--pipe -k --tagstring '<{}{/}{= $_=length =}>' 'sh -c "cat >/dev/null; echo \$# [\$1]" x {} {//} {= $_=length =}')~",
       "abc.txt"},
      {"PipePartNoArg", "--pipepart -a nums.txt --block 3 -k echo '{= $_=length =}' {//} '[{}]'"},
      {"PipeCatNamesParallelTmp",
       R"~(--pipe --cat -k --joblog log --tagstring '{/}{= $_=length =}' 'wc -l < {/}; echo {= $_="a;echo b" =}')~",
       "abc.txt", kJoblog},
      // -S : sends each block in its job's request: the command itself names $PARALLEL_TMP.
      {"PipeCatInTheRequest",
       "-S : --pipe --cat --block 4 -k 'wc -l < {}; test -f {/} && echo {= $_=length =}'",
       "nums.txt"},

      // ---- --color, --ctag, --ctagstring with --line-buffer: whole lines coloured as they come,
      // a '\r' that ends what is read on a line of its own, and what follows the last '\n' after
      // the tag alone, uncoloured. --color-failed alone colours nothing there.
      {"LineBufferCtagUnfinishedLine",
       R"~(--line-buffer -j1 --ctag 'printf "a\rb\r\n\r\rc\nd\re"' ::: 1 2)~"},
      {"LineBufferCtagOnlyCarriageReturns",
       R"~(--line-buffer -k -j2 --ctag 'printf "a\rb\r"; printf "{}" >&2' ::: x 'y\r')~", nullptr,
       kStderr},
      {"LineBufferKeepOrderColor", "--line-buffer -k -j3 --color 'seq {}' ::: 1 2 3 4 0"},
      {"LineBufferCtagstringStderr",
       "--line-buffer -j1 --ctagstring '<{#}>' 'echo {}; echo {}2; echo err{} >&2' ::: a b",
       nullptr, kStderr},
      {"LineBufferColorInterleaved", "--line-buffer -j3 --color 'echo {}; echo {}{}' ::: a b c",
       nullptr, kSorted},
      // Without a colour, --tag leaves what ends in '\r' after the last '\n' untagged.
      {"LineBufferTagAfterTheLastNewline",
       R"~(--line-buffer -j1 --tag 'printf "a\nb\rc\rd"; printf "e\n\rf" >&2' ::: 1 2)~", nullptr,
       kStderr},
      {"LineBufferKeepOrderTagAfterTheLastNewline",
       R"~(--line-buffer -k -j2 --tagstring '<{}>' 'printf "a\r\nb\rc\r"' ::: 1 2)~"},
      {"LineBufferColorFailedAloneIsPlain",
       "--line-buffer -k -j2 --color-failed --tag 'echo {}; exit {}' ::: 0 1 2"},

      // ---- --header with --results: the directories named after the columns, in the order of
      // their names (numbers first), and each -a/:::: file's name taking the place of the
      // column with its number among the files (even with --header 0); the table's header.
      {"HeaderResultsNamesTheDirectories",
       "--results res --header : --colsep , -k echo {h1} {h2} :::: header.csv", nullptr, kResults},
      {"HeaderResultsFileNamesReplaceColumnNames",
       "--results res --header : --colsep , -k echo {a} ::: a,b 1,2 :::: abc.txt", nullptr,
       kResults},
      {"HeaderZeroNamesTheFiles",
       "--results res --header 0 -k echo {nums.txt}{abc.txt} :::: abc.txt nums.txt", nullptr,
       kResults},
      {"HeaderResultsTemplate",
       "--results 'res/{h1}' --header : --colsep , -k echo {h2} :::: header.csv", nullptr,
       kResults},
      {"HeaderResultsNumericOrder",
       "--results res --header : --colsep , -k echo ::: 10,9,x,2e1 1,2,3,4", nullptr, kResults},
      {"HeaderResultsFromStdin", "--results res --header : -k echo", "abc.txt", kResults},
      {"HeaderResultsTableNames",
       R"~(--results res.csv --header : --colsep , -k echo ::: 'a,"b c",' 1,2,3,4 :::: nums.txt)~",
       nullptr, kResults | kTimes},

      // ---- --csv with --pipe (blocks end at a CSV record's end; -N and --recend ignored, -L
      // not), with --pipepart (ignored) and with -L (CSV records, continued after whitespace).
      {"CsvPipeBlocksEndAtRecords", "--csv --pipe --block 12 -k 'echo ---; cat'", "quoted.csv"},
      {"CsvPipeIgnoresRecordsPerJob", "--csv --pipe -N1 --recend , -k 'echo ---; cat'",
       "quoted.csv"},
      {"CsvPipeMaxLinesWins", "--csv --pipe -L 1 -k 'echo ---; cat'", "quoted.csv"},
      {"CsvPipePartIgnoresCsv", "--csv --pipepart -a quoted.csv --block 10 -k 'echo ---; cat'"},
      {"CsvMaxLinesContinued", "--csv -L 2 -k echo :::: lines.csv"},

      // ---- The caller's shell is tcsh: values quoted as GNU parallel quotes them for csh
      // (backslashes; a newline as "\<newline>"), in the command, -q, --shellquote, Q() and
      // the lengths -X fills lines to; the jobs run in tcsh.
      {"TcshDryRunQuoting", "-k --dry-run echo {} x{}y :::: weird.txt", nullptr, kTcsh},
      {"TcshJobsRunQuotedValues", "-k echo :::: weird.txt", nullptr, kTcsh},
      {"TcshJobShell", R"~(-k 'echo $0 {}' ::: 'a b')~", nullptr, kTcsh},
      {"TcshQuoteOption", R"~(-k -q --dry-run printf '%s
' {} ::: 'a b' 'c;d')~",
       nullptr, kTcsh},
      {"TcshShellquoteTwice", "--shellquote --shellquote ::: 'a b' \\", nullptr, kTcsh},
      {"TcshPerlQuote", R"~(-k --dry-run echo '{= $_=Q($_) =}' ::: 'a b' "it's")~", nullptr, kTcsh},
      {"TcshNewlineInAValue", "-0 -k --dry-run echo :::: null.bin", nullptr, kTcsh},
      {"TcshLinesFilledToTheirQuotedLength", "-k -X -s 60 --dry-run echo x{}y :::: weird.txt",
       nullptr, kTcsh},
  };
  return all;
}

// ---- Fixtures ---------------------------------------------------------------------------------

// The inputs of the --pipe cases: many lines, FASTA records, a CSV table with a header, CRLF
// line ends, no final newline, records far longer than a block, UTF-8, blank lines, and
// BEGIN/END records.
namespace {

void write_pipe_fixtures(const std::string& dir) {
  std::string lines, fasta, table = "name,value\n", crlf, utf8, recs;
  for (int i = 1; i <= 10000; ++i) lines += std::to_string(i) + "\n";
  // For cases that make a job of every few lines: lines.txt made ~500 jobs, 15 s of GNU
  // parallel's time per configuration.
  std::string lines1k = lines.substr(0, lines.find("\n1001\n") + 1);
  for (int i = 1; i <= 300; ++i) {
    std::string bases;
    for (int k = 0; k < (i * 13) % 50 + 1; ++k) bases += "ACGT";
    fasta += ">seq" + std::to_string(i) + " some description\n";
    for (int k = 0; k < i % 3 + 1; ++k) fasta += bases + "\n";
  }
  for (int i = 1; i <= 2000; ++i)
    table += "row" + std::to_string(i) + "," + std::to_string(i * i) + "\n";
  for (int i = 1; i < 200; ++i) crlf += "line " + std::to_string(i) + "\r\n";
  for (int i = 0; i < 500; ++i)
    utf8 += "h\u00e9llo w\u00f6rld " + std::to_string(i) + " \u65e5\u672c\u8a9e\n";
  for (int i = 0; i < 100; ++i) {
    recs += "BEGIN " + std::to_string(i) + "\nbody " + std::to_string(i) + "\nEND\n";
  }
  write_file(dir + "/lines.txt", lines);
  write_file(dir + "/lines1k.txt", lines1k);
  write_file(dir + "/fasta.txt", fasta);
  write_file(dir + "/table.csv", table);
  write_file(dir + "/crlf.txt", crlf);
  write_file(dir + "/noeol.txt", "x\ny\nz");
  write_file(dir + "/longrec.txt", "short\n" + std::string(5000, 'L') + "\nshort2\n" +
                                       std::string(3000, 'M') + "\nend\n");
  write_file(dir + "/utf8.txt", utf8);
  write_file(dir + "/blank.txt", "\n\n\na\n\nb\n\n");
  write_file(dir + "/recs.txt", recs);
}

}  // namespace

// The files every case may use, written afresh into the working directory before each run.
void write_fixtures(const std::string& dir) {
  write_file(dir + "/abc.txt", "a\nb\nc\n");
  write_file(dir + "/nums.txt", "1\n2\n3\n4\n5\n");
  write_file(dir + "/paths.txt",
             "/usr/lib/x.tar.gz\nrel/dir/file.txt\nnoext\n.hidden\ndir.d/file\nfile.\n"
             "a/b/\n./c.d\n");
  // Every shell metacharacter, leading and trailing spaces, an empty line, UTF-8.
  write_file(dir + "/weird.txt",
             "two words\nit's\nsay \"hi\"\n$HOME\nback\\slash\n*\nsemi;colon\na|b&c\n`id`\n"
             "tab\there\n  lead\ntrail  \n~user\n#hash\n\nhéllo wörld\n日本語\n(x)<y>{z}[w]!\n"
             "a\\nb\n%s%d\n");
  write_file(dir + "/null.bin", std::string("one\0two words\0multi\nline\0\0last", 31));
  write_file(dir + "/cols.tsv", "a\tb\tc\nd\te\tf\n1\t\t3\n");
  write_file(dir + "/cols.csv", "x,,y,z\n1,2,,3\n");
  write_file(dir + "/empty.txt", "");
  write_file(dir + "/funcs.txt", "greet one\ntwice two\n");
  write_file(dir + "/blanks.txt", "\n  \n\t\n");
  write_file(dir + "/profile", "-k --tag\n# a comment\n  # another\n--tagstring '<{}>'\n");
  write_file(dir + "/cmds.txt", "echo one\necho two; echo three\nexit 2\necho 'four  spaces'\n");
  std::string bin;
  for (int i = 0; i < 1024; ++i) bin += static_cast<char>(i % 256);
  write_file(dir + "/bin.dat", bin);
  std::string big;
  for (int i = 0; i < 300000; ++i) big += static_cast<char>((i * 7) % 251);
  write_file(dir + "/big.dat", big);
  write_pipe_fixtures(dir);
  write_file(dir + "/quoted.csv", "a,\"b,c\",d\n\"x\"\"y\",\"1\n2\",z\n\n  ,  ,\nstop\nafter,x\n");
  write_file(dir + "/header.csv", "h1,h2\n1,2\n\"3,4\",5\n");
  write_file(dir + "/lines.csv", "a,b\nc,d \ne,f\ng\n");
  write_file(dir + "/spaced.txt", "a b\nc d \ne f\ng\nh i \nj\n1\n2 \n3\n4\n5 \n6\n7\n8\n");
  write_file(dir + "/nulcont.bin", std::string("a \nb\0c\0d\n \0\0e \0d\0f", 18));
}

}  // namespace forkpool::testing
