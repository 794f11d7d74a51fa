// Future: explicit states, waiting, and values that look like "nothing".
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "forkpool/detail/small_mutex.h"
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

// get_into decodes into the caller's value, keeping storage that is big enough: a vector
// reused for result after result is not allocated again. Errors are thrown as get() throws.
TEST(Future, GetIntoDecodesIntoTheCallersStorage) {
  Pool pool({.workers = 1});
  std::vector<char> into;
  into.reserve(3 << 20);
  const char* storage = into.data();
  for (int mib : {2, 1, 3}) {
    pool.submit(patterned_bytes_task, mib).get_into(into);
    EXPECT_EQ(into, patterned_bytes(mib)) << mib << " MiB";
    EXPECT_EQ(into.data(), storage) << "reallocated for " << mib << " MiB";
  }
  std::string text = "left over";
  pool.submit(echo_string_task, std::string("abc")).get_into(text);
  EXPECT_EQ(text, "abc");
  int value = 0;
  EXPECT_THROW(pool.submit(throw_runtime_error_task, std::string("no")).get_into(value),
               RemoteError);
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
// The lock of a future's state (and of a batch and a worker's channel): it must exclude, and a
// thread that sleeps on it must be woken. Four threads on two cores contend, so the sleeping
// path runs; a lost increment, or a hang, is a broken lock (and ThreadSanitizer sees the race).
TEST(FutureState, ItsSmallMutexExcludesAndWakesItsSleepers) {
  detail::SmallMutex mutex;
  ASSERT_TRUE(mutex.try_lock());
  EXPECT_FALSE(mutex.try_lock());
  constexpr int kThreads = 4;
  constexpr int kRounds = 50000;
  long counter = 0;  // not atomic: only the lock keeps the increments whole
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < kRounds; ++i) {
          std::lock_guard lock(mutex);
          ++counter;
        }
      });
    }
    mutex.unlock();  // the threads may have found it held, and sleep on it
  }
  EXPECT_EQ(counter, long{kThreads} * kRounds);
  EXPECT_TRUE(mutex.try_lock());
  mutex.unlock();
}

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

// on_settled runs once, after the state is settled (a callback that reads the state sees the
// outcome), in the settling thread, or at once when the state had already settled.
TEST(FutureState, OnSettledRunsOnceWhenSettled) {
  detail::FutureState state;
  int calls = 0;
  FutureStatus seen = FutureStatus::kPending;
  state.on_settled([&] {
    ++calls;
    seen = state.status();
  });
  EXPECT_EQ(calls, 0);
  state.set_running();
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(state.set_value({}));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen, FutureStatus::kValue);
  EXPECT_FALSE(state.set_error(std::make_exception_ptr(PoolClosed("late"))));
  EXPECT_EQ(calls, 1);
  state.on_settled([&] { calls += 10; });  // already settled: runs now
  EXPECT_EQ(calls, 11);
}

// The order future.h states for on_ready: the settle wakes the waiters first, then runs the
// callback, so a waiter may return while the callback has yet to run or is running. (Holding
// waiters until the callback returned would make Pool::map's reader, which a callback wakes,
// sleep again on the future's futex for each chunk.) The callback here cannot finish until the
// waiter has returned; the other order would leave the waiter asleep past the deadline.
TEST(FutureState, AWaiterMayReturnBeforeTheCallbackHasRun) {
  detail::FutureState state;
  std::promise<void> waiter_returned;
  std::promise<void> callback_started;
  std::shared_future<void> returned = waiter_returned.get_future().share();
  bool callback_saw_waiter = false;
  state.on_settled([&] {
    callback_started.set_value();
    // Bounded, so that the other order fails the test instead of hanging it.
    callback_saw_waiter = returned.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  });
  std::thread waiter([&] {
    state.wait();
    waiter_returned.set_value();
  });
  std::thread settler([&] { EXPECT_TRUE(state.set_value({})); });
  settler.join();
  waiter.join();
  EXPECT_TRUE(callback_saw_waiter) << "the waiter stayed asleep until the callback returned";
  EXPECT_EQ(callback_started.get_future().wait_for(std::chrono::seconds(0)),
            std::future_status::ready);
}

// Watchers (what wait_any and as_completed use) beside the one callback: each watching set hears
// of the settle once, a state that settled already reports at once, and an unwatched set hears
// nothing.
TEST(FutureState, EveryWatcherHearsOfTheSettleOnceUntilUnwatched) {
  detail::FutureState state;
  detail::ReadySet first;
  detail::ReadySet second;
  detail::ReadySet dropped;
  const auto now = std::chrono::steady_clock::now;
  int callbacks = 0;
  state.on_settled([&] { ++callbacks; });
  state.watch(&first, 3);
  state.watch(&second, 5);
  state.watch(&dropped, 7);
  state.unwatch(&dropped);
  EXPECT_EQ(first.pop_until(now()), std::nullopt);
  EXPECT_TRUE(state.set_value({}));
  EXPECT_EQ(first.pop_until(now()), 3u);
  EXPECT_EQ(second.pop_until(now()), 5u);
  EXPECT_EQ(dropped.pop_until(now()), std::nullopt);
  EXPECT_EQ(callbacks, 1);
  EXPECT_FALSE(state.set_error(std::make_exception_ptr(PoolClosed("late"))));
  EXPECT_EQ(first.pop_until(now()), std::nullopt);  // once only
  state.watch(&dropped, 9);                         // settled already: at once
  EXPECT_EQ(dropped.pop_until(now()), 9u);
}

// The marker is set only inside a callback, names its owner, and covers a callback that runs
// nested inside another's.
TEST(FutureState, ACallbackRunsMarkedAsItsOwnersAndNestedOnesToo) {
  int pool_a = 0;
  int pool_b = 0;
  detail::FutureState outer;
  detail::FutureState inner;
  outer.set_owner(&pool_a);
  inner.set_owner(&pool_b);
  std::vector<bool> seen;
  inner.on_settled([&] {
    seen.push_back(detail::in_ready_callback_of(&pool_a));
    seen.push_back(detail::in_ready_callback_of(&pool_b));
  });
  outer.on_settled([&] {
    seen.push_back(detail::in_ready_callback_of(&pool_a));
    seen.push_back(detail::in_ready_callback_of(&pool_b));
    inner.set_value({});
  });
  EXPECT_FALSE(detail::in_ready_callback_of(&pool_a));
  outer.set_value({});
  EXPECT_EQ(seen, (std::vector<bool>{true, false, true, true}));
  EXPECT_FALSE(detail::in_ready_callback_of(&pool_a));
  EXPECT_FALSE(detail::in_ready_callback_of(&pool_b));
  EXPECT_FALSE(detail::in_ready_callback_of(nullptr));
}

// wait() on an unsettled state of the same owner inside a callback is refused; of another owner,
// or on a settled one, it is not.
TEST(FutureState, WaitInsideACallbackOfTheSameOwnerIsRefused) {
  int pool = 0;
  detail::FutureState done;
  detail::FutureState pending;
  detail::FutureState foreign;
  done.set_owner(&pool);
  pending.set_owner(&pool);
  std::vector<std::string> seen;
  done.on_settled([&] {
    done.wait();
    try {
      pending.wait();
      seen.push_back("waited");
    } catch (const UsageError&) {
      seen.push_back("refused");
    }
    EXPECT_FALSE(foreign.wait_for(std::chrono::nanoseconds(0)));  // bounded: allowed
    seen.push_back(foreign.ready() ? "ready" : "pending");
  });
  done.set_value({});
  EXPECT_EQ(seen, (std::vector<std::string>{"refused", "pending"}));
}

// Waiting on many futures in completion order, the use on_ready exists for: every task's
// callback fires exactly once, from the collector thread, and each future is ready by then.
TEST(Future, OnReadyReportsEveryTaskOnce) {
  LeakCheck leaks;
  {
    Pool pool({.workers = 2});
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<int> done;
    std::vector<Future<int>> futures;
    for (int i = 0; i < 50; ++i) futures.push_back(pool.submit(identity_task, i));
    for (int i = 0; i < 50; ++i) {
      futures[i].on_ready([&, i] {
        std::lock_guard lock(mutex);
        done.push_back(i);
        cv.notify_one();
      });
    }
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return done.size() == 50; }));
    std::sort(done.begin(), done.end());
    for (int i = 0; i < 50; ++i) {
      EXPECT_EQ(done[i], i);
      EXPECT_TRUE(futures[i].ready());
      EXPECT_EQ(futures[i].get(), i);
    }
  }
  leaks.check();
}

// A future's result is freed with the future: its frame's storage is then the one the next
// large payload reuses (detail::LargeBlockCache), so finding it there shows it was freed.
TEST(Future, ADroppedFuturesResultIsFreed) {
  Pool pool({.workers = 1});
  const int mib = 8;
  {
    auto big = pool.submit(patterned_bytes_task, mib);
    EXPECT_EQ(big.get().size(), std::size_t(mib) << 20);
  }
  // A second reply through the collector: it handled the first one wholly before reading it.
  EXPECT_EQ(pool.submit(identity_task, 3).get(), 3);
  // The frame is the vector and its archive's length: one huge page more. Nothing else in
  // this process was a payload that large.
  void* block = detail::LargeBlockCache::instance().take((std::size_t(mib) + 2) << 20);
  EXPECT_NE(block, nullptr) << "the dropped future's result was not freed";
  std::free(block);
}

}  // namespace
}  // namespace forkpool::testing
