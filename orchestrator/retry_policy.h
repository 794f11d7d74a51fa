// The retry policy: whether a failed attempt runs again. Pure: no I/O, no pool state.
#pragma once

#include <exception>
#include <string>
#include <vector>

namespace forkpool::orchestrator {

// Whether a failed attempt may be run again: the task itself failed (threw, died, hung, or its
// reply was garbled), not the caller or the pool (cancel, close, a message that can never fit,
// a task no worker has).
bool retryable(const std::exception_ptr& error);

// Whether an attempt that failed with `error` runs again: it has retries left, the pool still
// takes work (`pool_accepting`: running or closing, not broken), and the failure is retryable.
bool should_retry(int retries_left, bool pool_accepting, const std::exception_ptr& error);

// The error's what(), or "unknown error" for an exception that is not a std::exception.
std::string what_of(const std::exception_ptr& error);

// Gives the forkpool::Error inside `error` the reasons its earlier attempts failed (nothing
// for another exception type).
void set_earlier_attempts(const std::exception_ptr& error, std::vector<std::string> attempts);

}  // namespace forkpool::orchestrator
