#include "cli/job_tally.h"

#include <algorithm>
#include <cmath>

namespace forkpool::cli {
namespace {

int percent_of(std::uint64_t part, std::uint64_t whole) {
  return static_cast<int>(std::ceil(static_cast<double>(part) /
                                    static_cast<double>(std::max<std::uint64_t>(whole, 1)) * 100));
}

}  // namespace

JobTally::Verdict JobTally::count(bool failed, int exitval, int signal) {
  ++completed_;
  Verdict verdict;
  std::optional<std::uint64_t> limit;
  using Condition = HaltPolicy::Condition;
  const bool halting_on = halt_.when != HaltPolicy::When::kNever;
  if (failed) {
    ++failed_;
    if (halting_on && halt_.condition == Condition::kFail) {
      verdict.announcement = "This job failed: ";
      limit = failed_;
    }
  } else if (halting_on && halt_.condition == Condition::kSuccess) {
    verdict.announcement = "This job succeeded: ";
    limit = completed_ - failed_;
  }
  if (halting_on && halt_.condition == Condition::kDone) {
    verdict.announcement = "This job finished: ";
    limit = completed_;
  }
  if (!limit || halt_status_) return verdict;
  const double needed =
      halt_.percent ? static_cast<double>(total_jobs_) * halt_.threshold / 100 : halt_.threshold;
  if (static_cast<double>(*limit) < needed) return verdict;
  halt_status_ = status_at_halt(exitval, signal);
  verdict.halt_status = halt_status_;
  return verdict;
}

int JobTally::status_at_halt(int exitval, int signal) const {
  if (halt_.condition == HaltPolicy::Condition::kSuccess) return 0;
  if (halt_.percent) return percent_of(failed_, total_jobs_);
  // Bash's 128+N for a signal, as GNU parallel emulates it.
  if (halt_.threshold == 1) return exitval != 0 ? exitval : (signal != 0 ? signal + 128 : 0);
  return static_cast<int>(std::min<std::uint64_t>(failed_, 101));
}

int JobTally::exit_status() const {
  if (halt_status_) return *halt_status_ & 0xff;
  if (halt_.when != HaltPolicy::When::kNever && halt_.percent) return percent_of(failed_, started_);
  return static_cast<int>(std::min<std::uint64_t>(failed_, 101));
}

}  // namespace forkpool::cli
