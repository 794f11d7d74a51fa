// Future: explicit states, waiting, and values that look like "nothing".
#include <gtest/gtest.h>

#include <chrono>

#include "orchestrator/test_tasks.h"
#include "support/leak_check.h"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;

TEST(Future, DefaultConstructedIsInvalid) {
  Future<int> f;
  EXPECT_FALSE(f.valid());
}

TEST(Future, StatesGoFromRunningToValue) {
  LeakCheck leaks;
  {
    Pool pool({.workers = 1});
    Gate gate;
    auto f = pool.submit(gated_task, gate.dir());
    const pid_t pid = gate.wait_entered();
    // The task is inside the worker: the future says so, and is not ready.
    EXPECT_EQ(f.status(), FutureStatus::kRunning);
    EXPECT_FALSE(f.ready());
    EXPECT_FALSE(f.wait_for(1ms));
    gate.release();
    EXPECT_TRUE(f.wait_for(60s));
    EXPECT_EQ(f.status(), FutureStatus::kValue);
    EXPECT_EQ(f.get(), pid);
    EXPECT_EQ(f.get(), pid);  // get() may be called again
  }
  leaks.check();
}

TEST(Future, QueuedBehindABusyWorkerIsPending) {
  LeakCheck leaks;
  {
    Pool pool({.workers = 1});
    Gate gate;
    auto busy = pool.submit(gated_task, gate.dir());
    gate.wait_entered();
    auto queued = pool.submit(identity_task, 1);
    EXPECT_EQ(queued.status(), FutureStatus::kPending);
    gate.release();
    EXPECT_EQ(queued.get(), 1);
    busy.get();
  }
  leaks.check();
}

TEST(Future, ZeroEmptyAndDefaultResultsAreValues) {
  LeakCheck leaks;
  {
    Pool pool({.workers = 1});
    auto zero = pool.submit(identity_task, 0);
    auto empty = pool.submit(echo_string_task, std::string());
    auto none = pool.submit(iota_vector_task, 0);
    auto point = pool.submit(move_point_task, Point{}, 0);
    zero.wait();
    empty.wait();
    none.wait();
    point.wait();
    EXPECT_EQ(zero.status(), FutureStatus::kValue);
    EXPECT_EQ(empty.status(), FutureStatus::kValue);
    EXPECT_EQ(none.status(), FutureStatus::kValue);
    EXPECT_EQ(zero.get(), 0);
    EXPECT_EQ(empty.get(), "");
    EXPECT_TRUE(none.get().empty());
    EXPECT_EQ(point.get(), (Point{0, 0, "", {0}}));
  }
  leaks.check();
}

TEST(Future, ErrorStateRethrowsEveryTime) {
  LeakCheck leaks;
  {
    Pool pool({.workers = 1});
    auto f = pool.submit(throw_runtime_error_task, std::string("again"));
    f.wait();
    EXPECT_EQ(f.status(), FutureStatus::kError);
    EXPECT_THROW(f.get(), RemoteError);
    EXPECT_THROW(f.get(), RemoteError);
  }
  leaks.check();
}

TEST(FutureState, SettlesOnlyOnce) {
  detail::FutureState state;
  EXPECT_TRUE(state.set_error(std::make_exception_ptr(PoolClosed("test"))));
  EXPECT_FALSE(state.set_value({}));  // a late reply cannot overwrite the outcome
  EXPECT_EQ(state.status(), FutureStatus::kError);
  EXPECT_THROW(state.payload_or_throw(), PoolClosed);
}

// Running goes back to pending only when a frame did not reach its worker; a settled state
// never moves again.
TEST(FutureState, RunningCanGoBackToPendingButSettledCannot) {
  detail::FutureState state;
  EXPECT_EQ(state.status(), FutureStatus::kPending);
  state.set_running();
  EXPECT_EQ(state.status(), FutureStatus::kRunning);
  state.set_pending();
  EXPECT_EQ(state.status(), FutureStatus::kPending);
  state.set_running();
  EXPECT_TRUE(state.set_value({}));
  state.set_pending();
  state.set_running();
  EXPECT_EQ(state.status(), FutureStatus::kValue);
}

}  // namespace
}  // namespace forkpool::testing
