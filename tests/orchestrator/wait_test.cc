// forkpool::wait_any, wait_any_for and as_completed: waiting on many futures, every start method.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "orchestrator/start_case_test.h"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class WaitTest : public StartCaseTest {};

// Each held at its own gate, released in the order 2, 0, 1: as_completed yields that order, and
// each step waits only for the next one.
TEST_P(WaitTest, AsCompletedYieldsInTheOrderTheTasksFinish) {
  {
    Pool pool(options(3));
    std::array<Gate, 3> gates;
    std::vector<Future<pid_t>> futures;
    for (Gate& gate : gates) futures.push_back(pool.submit(gated_task, gate.dir()));
    std::vector<pid_t> pids;
    for (Gate& gate : gates) pids.push_back(gate.wait_entered());
    auto completed = as_completed(futures);
    auto it = completed.begin();
    for (const std::size_t next : {2u, 0u, 1u}) {
      ASSERT_FALSE(it == completed.end());
      gates[next].release();
      EXPECT_EQ(it.index(), next);
      EXPECT_EQ(&*it, &futures[next]);  // the caller's own future
      EXPECT_TRUE(it->ready());
      EXPECT_EQ(it->get(), pids[next]);
      ++it;
    }
    EXPECT_TRUE(it == completed.end());
  }
  leaks_.check();
}

// Futures that have settled already come first, in range order; failures are yielded like
// values, and their get() throws.
TEST_P(WaitTest, AsCompletedYieldsSettledFuturesFirstAndFailuresToo) {
  {
    Pool pool(options(1));
    Gate gate;
    std::vector<Future<int>> futures;
    futures.push_back(pool.submit(throw_runtime_error_task, std::string("first")));
    futures.push_back(pool.submit(identity_task, 1));
    for (auto& f : futures) f.wait();
    futures.push_back(pool.submit(hang_forever_task, gate.dir()));
    gate.wait_entered();
    std::vector<std::size_t> order;
    {
      auto completed = as_completed(futures);
      for (auto it = completed.begin(); order.size() < 2; ++it) order.push_back(it.index());
    }  // stops watching the third, which has not finished
    EXPECT_EQ(order, (std::vector<std::size_t>{0, 1}));
    EXPECT_THROW(futures[0].get(), RemoteError);
    pool.terminate();  // the third never finishes by itself
    std::size_t yielded = 0;
    for (Future<int>& f : as_completed(futures)) {
      EXPECT_TRUE(f.ready());
      ++yielded;
    }
    EXPECT_EQ(yielded, 3u);
    EXPECT_THROW(futures[2].get(), PoolClosed);
  }
  leaks_.check();
}

TEST_P(WaitTest, AsCompletedYieldsEachOfManyOnce) {
  {
    Pool pool(options(2));
    std::vector<Future<int>> futures;
    for (int i = 0; i < 2000; ++i) futures.push_back(pool.submit(identity_task, i));
    std::vector<int> seen(2000, 0);
    for (Future<int>& f : as_completed(futures)) ++seen[static_cast<std::size_t>(f.get())];
    EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), 2000);
    const std::vector<Future<int>> none;
    EXPECT_TRUE(as_completed(none).begin() == as_completed(none).end());
  }
  leaks_.check();
}

TEST_P(WaitTest, WaitAnyReturnsTheOneThatFinished) {
  {
    Pool pool(options(2));
    Gate held;
    Gate released;
    std::vector<Future<pid_t>> futures;
    futures.push_back(pool.submit(gated_task, held.dir()));
    futures.push_back(pool.submit(gated_task, released.dir()));
    held.wait_entered();
    released.wait_entered();
    // Neither can finish yet: a short wait says so (the tasks are parked on real gates).
    EXPECT_EQ(wait_any_for(futures, 1ms), std::nullopt);
    released.release();
    EXPECT_EQ(wait_any(futures), 1u);
    EXPECT_EQ(wait_any_for(futures, kDeadline), 1u);  // the lowest ready one, at once
    held.release();
    get_within_deadline(futures[0]);
    EXPECT_EQ(wait_any(futures), 0u);
  }
  leaks_.check();
}

// Any number of waiters on the same futures, beside the one on_ready callback each may have.
TEST_P(WaitTest, SeveralWaitersAndACallbackAllSeeTheSameFuture) {
  {
    Pool pool(options(1));
    Gate gate;
    std::vector<Future<pid_t>> futures{pool.submit(gated_task, gate.dir())};
    gate.wait_entered();
    std::atomic<int> callbacks{0};
    // The callback runs on the thread that settles the future, which may wake the waiters
    // first: the test waits for the callback itself before counting.
    std::promise<void> called;
    futures[0].on_ready([&] {
      if (++callbacks == 1) called.set_value();
    });
    std::vector<std::size_t> found(4, 99);
    std::vector<std::thread> waiters;
    for (std::size_t i = 0; i < found.size(); ++i) {
      waiters.emplace_back([&, i] { found[i] = wait_any(futures); });
    }
    gate.release();
    for (auto& t : waiters) t.join();
    EXPECT_THAT(found, ::testing::Each(0u));
    ASSERT_EQ(called.get_future().wait_for(kDeadline), std::future_status::ready);
    EXPECT_EQ(callbacks.load(), 1);
  }
  leaks_.check();
}

// The futures of an unsent batch send it, as get() does, instead of waiting for ever.
TEST_P(WaitTest, WaitingOnAnUnsentBatchSendsIt) {
  {
    Pool pool(options(2));
    Batch batch = pool.batch();
    std::vector<Future<int>> futures{batch.submit(identity_task, 5),
                                     batch.submit(identity_task, 6)};
    EXPECT_FALSE(batch.sent());
    std::vector<int> values;
    for (Future<int>& f : as_completed(futures)) values.push_back(f.get());
    EXPECT_TRUE(batch.sent());
    std::sort(values.begin(), values.end());
    EXPECT_EQ(values, (std::vector<int>{5, 6}));
  }
  leaks_.check();
}

INSTANTIATE_TEST_SUITE_P(AllStartMethods, WaitTest, ::testing::ValuesIn(all_start_cases(2)),
                         [](const auto& info) { return info.param.name; });

TEST(Wait, NothingToWaitOnOrAnEmptyFutureIsAUsageError) {
  const std::vector<Future<int>> none;
  EXPECT_THROW(wait_any(none), UsageError);
  EXPECT_THROW(wait_any_for(none, 1ms), UsageError);
  const std::vector<Future<int>> empty(2);
  try {
    wait_any(empty);
    ADD_FAILURE() << "wait_any returned";
  } catch (const UsageError& e) {
    EXPECT_THAT(e.what(), HasSubstr("future 0"));
  }
  std::vector<Future<int>> also_empty(1);
  EXPECT_THROW(as_completed(also_empty), UsageError);
}

// wait_any inside an on_ready callback of the same pool could wait for ever, as get() could.
TEST(Wait, WaitAnyInsideOnReadyOfTheSamePoolIsAUsageError) {
  LeakCheck leaks;
  {
    Pool pool({.workers = 2});
    Gate first_gate;
    Gate second_gate;
    auto first = pool.submit(gated_task, first_gate.dir());
    std::vector<Future<pid_t>> others{pool.submit(gated_task, second_gate.dir())};
    first_gate.wait_entered();
    second_gate.wait_entered();
    std::mutex mutex;
    std::condition_variable done;
    std::optional<std::string> seen;
    first.on_ready([&] {
      std::string what = "returned";
      try {
        wait_any(others);
      } catch (const UsageError& e) {
        what = e.what();
      }
      std::lock_guard lock(mutex);
      seen = what;
      done.notify_all();
    });
    first_gate.release();
    {
      std::unique_lock lock(mutex);
      ASSERT_TRUE(done.wait_for(lock, kDeadline, [&] { return seen.has_value(); }));
    }
    EXPECT_THAT(*seen, HasSubstr("inside an on_ready callback"));
    second_gate.release();
    get_within_deadline(others[0]);
  }
  leaks.check();
}

}  // namespace
}  // namespace forkpool::testing
