#include "cli/perl_evaluator.h"

#include <spawn.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "cli/run_options.h"
#include "io/pipe.h"
#include "io/syscalls.h"

extern "C" char** environ;

namespace forkpool::cli {
namespace {

using namespace std::chrono_literals;

// The coprocess. Its helpers are GNU parallel 20221122's own (Q is
// shell_quote_scalar_default, or shell_quote_scalar_csh for csh, make_regexp_ungreedy for
// --plus's {#...} and {%...}).
constexpr const char* kScript = R"PERL(
use POSIX ();
binmode STDIN; binmode STDOUT; $| = 1;
sub rd { my $h = <STDIN>; exit 0 unless defined $h; chomp $h; my $b = '';
  while (length($b) < $h) { my $n = read(STDIN, $b, $h - length($b), length($b)); exit 0 unless $n; }
  return $b; }
sub wr { for (@_) { print STDOUT length($_), "\n", $_; } }
package Forkpool::Job;
sub new { my ($c, %a) = @_; return bless {%a}, $c; }
sub seq { return $_[0]{seq}; }
sub slot { return $_[0]{slot}; }
sub skip { $main::fp_skip = 1; }
package main;
our ($fp_job, $fp_total, $fp_unquote, $fp_skip, $fp_csh, @arg);
sub Q { if ($fp_csh) { my $a = $_[0]; if (defined $a) {
    if (($a =~ s/[\002-\011\013-\032\\\#\?\`\(\)\{\}\[\]\^\*\<\=\>\~\|\; \"\!\$\&\'\202-\377]/\\$&/go)
        + ($a =~ s/[\n]/"\\\n"/go)) { } elsif ($a eq "") { $a = "''"; } elsif ($a eq "\0") { $a = ""; } }
    return $a; }
  local $_ = $_[0];
  if (/[^-_.+a-z0-9\/]/i) { s/'/'"'"'/g; $_ = "'$_'"; s/^''//; s/''$//; return $_; }
  elsif ($_ eq "") { return "''"; } else { return $_; } }
sub perl_quote_scalar { my $a = $_[0]; if (defined $a) { $a =~ s/[\\\"\$\@]/\\$&/go; } return $a; }
sub pQ { return perl_quote_scalar($_[0]); }
sub uq { $fp_unquote = 1; }
sub total_jobs { return $fp_total; }
sub seq { return $fp_job->seq(); }
sub slot { return $fp_job->slot(); }
sub skip { $fp_job->skip(); }
sub uniq { my %h; return grep { !$h{$_}++ } @_; }
sub yyyy_mm_dd_hh_mm_ss { POSIX::strftime("%Y-%m-%dT%H:%M:%S", localtime(time())) }
sub yyyy_mm_dd_hh_mm { POSIX::strftime("%Y-%m-%dT%H:%M", localtime(time())) }
sub yyyy_mm_dd { POSIX::strftime("%Y-%m-%d", localtime(time())) }
sub hh_mm_ss { POSIX::strftime("%H:%M:%S", localtime(time())) }
sub hh_mm { POSIX::strftime("%H:%M", localtime(time())) }
sub yyyymmddhhmmss { POSIX::strftime("%Y%m%d%H%M%S", localtime(time())) }
sub yyyymmddhhmm { POSIX::strftime("%Y%m%d%H%M", localtime(time())) }
sub yyyymmdd { POSIX::strftime("%Y%m%d", localtime(time())) }
sub hhmmss { POSIX::strftime("%H%M%S", localtime(time())) }
sub hhmm { POSIX::strftime("%H%M", localtime(time())) }
sub make_regexp_ungreedy { my $regexp = shift; my $class_state = 0; my $escape_state = 0;
  my $found = 0; my $ungreedy = ""; my $c;
  for $c (split (//, $regexp)) {
    if ($found) { if ($c ne "?") { $ungreedy .= "?"; } $found = 0; }
    $ungreedy .= $c;
    if ($escape_state) { $escape_state = 0; next; }
    if ($c eq "\\") { $escape_state = 1; next; }
    if ($c eq '[') { $class_state = 1; next; }
    if ($class_state) { if ($c eq ']') { $class_state = 0; } next; }
    if ($c =~ /[*}+]/) { $found = 1; } }
  if ($found) { $ungreedy .= '?'; }
  return $ungreedy; }
$fp_csh = rd();
$Global::max_jobs_running = rd();
my @subs;
for (1 .. rd()) {
  my $source = rd();
  my $sub = eval('sub { no strict; no warnings; my $job = shift; ' . $source . ' }');
  if ($sub) { push @subs, $sub; wr(""); } else { my $e = $@; $e =~ s/\s+$//; wr($e || "error"); }
}
while (1) {
  my $i = rd(); my $seq = rd(); my $slot = rd(); $fp_total = rd(); my $arg = rd();
  my $n = rd(); @arg = (undef, map { rd() } 1 .. $n);  # 1-based, as GNU parallel's
  $fp_job = Forkpool::Job->new(seq => $seq, slot => $slot);
  $fp_unquote = 0; $fp_skip = 0;
  local $_ = $arg;
  if (eval { $subs[$i]->($fp_job); 1 }) {
    wr(($fp_unquote ? "u" : "q") . ($fp_skip ? "s" : ""), defined $_ ? "$_" : ""); }
  else { my $e = $@; $e =~ s/\s+$//; wr("e", $e); }
}
)PERL";

// Starts `perl -e kScript` with its stdin and stdout on pipes; stderr is forkpool's.
workers::Child start_perl(io::Fd& to_perl, io::Fd& from_perl) {
  io::Pipe in = io::Pipe::create();
  io::Pipe out = io::Pipe::create();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.read.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out.write.get(), STDOUT_FILENO);
  // A process group of its own: Ctrl-C at the terminal stops the run through forkpool, which
  // still needs perl to render nothing more; perl exits when its stdin closes.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  const char* argv[] = {"perl", "-e", kScript, nullptr};
  pid_t pid = 0;
  const int rc =
      posix_spawnp(&pid, "perl", &actions, &attr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    throw UsageError(std::string("cannot run perl for {= =} expressions: ") + std::strerror(rc));
  to_perl = std::move(in.write);
  from_perl = std::move(out.read);
  return workers::Child(pid);
}

std::string_view trimmed(std::string_view s, std::size_t max) {
  return s.size() > max ? s.substr(0, max) : s;
}

}  // namespace

std::string perl_quote(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"' || c == '$' || c == '@') out += '\\';
    out += c;
  }
  return out;
}

PerlEvaluator::PerlEvaluator(const std::vector<std::string>& expressions, unsigned job_slots,
                             bool csh_quoting)
    : expressions_(expressions),
      // @arg costs every argument of the job per evaluation: sent only to expressions that
      // may read it ($arg[1], @arg, $#arg).
      sends_all_args_(std::any_of(expressions.begin(), expressions.end(), [](const std::string& e) {
        return e.find("arg") != std::string::npos;
      })) {
  perl_ = start_perl(to_perl_, from_perl_);
  const std::string slots = std::to_string(job_slots);
  const std::string count = std::to_string(expressions.size());
  std::vector<std::string_view> fields{csh_quoting ? "1" : "0", slots, count};
  for (const std::string& e : expressions) fields.push_back(e);
  send(fields);
  for (const std::string& e : expressions) {
    const std::string error = receive();
    if (!error.empty())
      throw UsageError("cannot use perl expression '" + std::string(trimmed(e, 200)) +
                       "': " + error);
  }
}

PerlEvaluator::~PerlEvaluator() {
  to_perl_ = io::Fd();  // EOF: the script exits
  if (perl_.running()) perl_.wait_or_kill(5s);
}

PerlEvaluator::Value PerlEvaluator::eval(std::size_t index, std::string_view arg, std::uint64_t seq,
                                         unsigned slot, std::uint64_t total_jobs,
                                         std::span<const std::string_view> all_args) {
  const std::string i = std::to_string(index), s = std::to_string(seq), j = std::to_string(slot),
                    t = std::to_string(total_jobs);
  const std::string n = std::to_string(sends_all_args_ ? all_args.size() : 0);
  std::vector<std::string_view> fields{i, s, j, t, arg, n};
  if (sends_all_args_) fields.insert(fields.end(), all_args.begin(), all_args.end());
  send(fields);
  const std::string kind = receive();
  std::string value = receive();
  if (kind == "e")
    throw UsageError("perl expression '" + std::string(trimmed(expressions_[index], 200)) +
                     "' failed: " + value);
  return Value{std::move(value), kind.starts_with('u'), kind.ends_with('s')};
}

void PerlEvaluator::send(const std::vector<std::string_view>& fields) {
  std::vector<std::string> heads;
  heads.reserve(fields.size());
  std::vector<iovec> iov;
  for (std::string_view f : fields) {
    heads.push_back(std::to_string(f.size()) + "\n");
    iov.push_back({heads.back().data(), heads.back().size()});
    iov.push_back({const_cast<char*>(f.data()), f.size()});
  }
  if (!io::write_all(to_perl_.get(), iov, std::nullopt))
    throw UsageError("the perl coprocess for {= =} expressions exited");
}

std::string PerlEvaluator::receive() {
  auto fill = [&] {
    char chunk[65536];
    const std::size_t n = io::read_once(from_perl_.get(), chunk, std::nullopt).value_or(0);
    if (n == 0) throw UsageError("the perl coprocess for {= =} expressions exited");
    buffer_.append(chunk, n);
  };
  std::size_t newline;
  while ((newline = buffer_.find('\n')) == std::string::npos) fill();
  const std::size_t size = std::stoull(buffer_.substr(0, newline));
  while (buffer_.size() < newline + 1 + size) fill();
  std::string field = buffer_.substr(newline + 1, size);
  buffer_.erase(0, newline + 1 + size);
  return field;
}

}  // namespace forkpool::cli
