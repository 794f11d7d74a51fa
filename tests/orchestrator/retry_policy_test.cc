// The retry policy: which failures run again.
#include "orchestrator/retry_policy.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "forkpool/errors.h"
#include "serialization/error_reply.h"

namespace forkpool::orchestrator {
namespace {

template <typename E>
std::exception_ptr error(E e) {
  return std::make_exception_ptr(std::move(e));
}

TEST(RetryPolicy, TheTasksOwnFailuresAreRetryable) {
  EXPECT_TRUE(retryable(error(RemoteError("std::runtime_error", "boom", "t", 1, 2))));
  EXPECT_TRUE(retryable(error(WorkerDied(2, ExitStatus::signaled(9, false), 1, "t"))));
  EXPECT_TRUE(retryable(error(TaskTimeout(1, "t", 2, 0.5))));
  EXPECT_TRUE(retryable(error(ProtocolError("a garbled reply"))));
}

TEST(RetryPolicy, TheCallersAndThePoolsAreNot) {
  EXPECT_FALSE(retryable(error(TaskCancelled(1, "t", true))));
  EXPECT_FALSE(retryable(error(PoolClosed("close() was called"))));
  EXPECT_FALSE(retryable(error(PoolBroken("crash loop"))));
  EXPECT_FALSE(retryable(error(MessageTooLarge(100, 10))));
  EXPECT_FALSE(retryable(error(UnknownTask("no such task"))));
  EXPECT_FALSE(retryable(error(HandshakeError("another build"))));
  // What a worker's "no such task" reply becomes on the parent's side.
  const std::string name = "t";
  EXPECT_FALSE(
      retryable(serialization::exception_for(serialization::NoSuchTask{7, false}, {name, 1, 2})));
  EXPECT_FALSE(retryable(
      serialization::exception_for(serialization::ResultTooLarge{100, 10}, {name, 1, 2})));
  EXPECT_FALSE(retryable(error(std::runtime_error("not a forkpool error"))));
}

TEST(RetryPolicy, ShouldRetryNeedsRetriesLeftAndAPoolThatTakesWork) {
  const auto died = error(WorkerDied(2, ExitStatus::exited(1), 1, "t"));
  EXPECT_TRUE(should_retry(1, true, died));
  EXPECT_FALSE(should_retry(0, true, died));
  EXPECT_FALSE(should_retry(3, false, died));
  EXPECT_FALSE(should_retry(3, true, error(TaskCancelled(1, "t", false))));
}

TEST(RetryPolicy, EarlierAttemptsReachTheErrorThePtrHolds) {
  const auto died = error(WorkerDied(2, ExitStatus::exited(1), 1, "t"));
  set_earlier_attempts(died, {"first", "second"});
  try {
    std::rethrow_exception(died);
  } catch (const Error& e) {
    EXPECT_EQ(e.earlier_attempts().size(), 2u);
    EXPECT_NE(std::string(e.what()).find("second"), std::string::npos) << e.what();
  }
  EXPECT_EQ(what_of(error(std::runtime_error("plain"))), "plain");
  EXPECT_EQ(what_of(std::make_exception_ptr(42)), "unknown error");
}

}  // namespace
}  // namespace forkpool::orchestrator
