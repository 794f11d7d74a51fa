// {= perl expression =} and every replacement string GNU parallel defines in Perl (--plus,
// --rpl): evaluated by one perl interpreter kept for the whole run, not one per job.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/fd.h"
#include "workers/child.h"

namespace forkpool::cli {

// A perl coprocess speaking a length-prefixed protocol on its stdin and stdout: each field is
// "<decimal length>\n<bytes>". It compiles every expression once, as GNU parallel 20221122's
// Arg::replace() does (`sub { no strict; no warnings; my $job = shift; EXPR }`), then, per
// request, sets $_ to the argument and runs one. What GNU parallel provides to expressions is
// there: $job->seq(), $job->slot(), seq(), slot(), total_jobs(), Q(), pQ(), uq(), the date
// helpers, $Global::max_jobs_running, @arg (every argument of the job) and skip() (the job is
// not to run: Value::skip).
//
// Not thread-safe: one caller at a time (the runner's main thread).
class PerlEvaluator {
 public:
  // Starts perl and compiles `expressions`; Q() quotes for csh with `csh_quoting`. Throws
  // UsageError if perl cannot be started or an expression does not compile ("cannot use perl
  // expression 'EXPR': ...").
  PerlEvaluator(const std::vector<std::string>& expressions, unsigned job_slots,
                bool csh_quoting = false);
  // Closes perl's stdin: it exits, and is reaped (killed if it does not exit promptly).
  ~PerlEvaluator();
  PerlEvaluator(const PerlEvaluator&) = delete;
  PerlEvaluator& operator=(const PerlEvaluator&) = delete;

  struct Value {
    std::string text;   // $_ after the expression ("" when undefined)
    bool unquoted;      // the expression called uq(): the value is inserted as it is
    bool skip = false;  // the expression called skip() (or $job->skip())
  };
  // Runs expression `index` with $_ = `arg` and @arg = `all_args` (from $arg[1], as in GNU
  // parallel). Throws UsageError if it dies.
  Value eval(std::size_t index, std::string_view arg, std::uint64_t seq, unsigned slot,
             std::uint64_t total_jobs, std::span<const std::string_view> all_args = {});

 private:
  void send(const std::vector<std::string_view>& fields);
  std::string receive();

  io::Fd to_perl_;
  io::Fd from_perl_;
  workers::Child perl_;
  std::string buffer_;  // read from perl, not yet taken
  std::vector<std::string> expressions_;
  bool sends_all_args_;
};

// GNU parallel's perl_quote_scalar(): \ " $ @ escaped, for a string inside "..." in Perl.
std::string perl_quote(std::string_view value);

}  // namespace forkpool::cli
