// Library misuse gets one clear error (UsageError, ResourceLimit) instead of a crash, a hang or
// an abort from deep inside: an empty Future; waiting, closing or destroying a pool, or waiting
// for room in its full queue, inside an on_ready callback of its own futures; and more workers
// than the descriptor limit allows.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "orchestrator/start_case_test.h"
#include "support/leak_check.h"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// What an on_ready callback saw, handed to the test thread.
class CallbackReport {
 public:
  void set(std::string message) {
    {
      std::lock_guard lock(mutex_);
      message_ = std::move(message);
    }
    done_.notify_all();
  }
  // The callback's message, or nullopt if it did not run within the hang deadline.
  std::optional<std::string> wait() {
    std::unique_lock lock(mutex_);
    done_.wait_for(lock, kDeadline, [&] { return message_.has_value(); });
    return message_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  std::optional<std::string> message_;
};

// Runs `action` and describes how it ended: "UsageError: ...", "other: ..." or "returned".
template <typename Action>
std::string outcome_of(Action&& action) {
  try {
    action();
    return "returned";
  } catch (const UsageError& e) {
    return std::string("UsageError: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("other: ") + e.what();
  }
}

TEST(Misuse, EveryCallOnADefaultConstructedFutureIsAUsageError) {
  Future<int> f;
  EXPECT_FALSE(f.valid());
  EXPECT_THROW(f.get(), UsageError);  // dereferenced a null state before
  EXPECT_THROW(f.wait(), UsageError);
  EXPECT_THROW(f.wait_for(1ms), UsageError);
  EXPECT_THROW(f.ready(), UsageError);
  EXPECT_THROW(f.status(), UsageError);
  EXPECT_THROW(f.cancel(), UsageError);
  EXPECT_THROW(f.on_ready([] {}), UsageError);
  Future<void> v;
  try {
    v.get();
    ADD_FAILURE() << "get() returned";
  } catch (const UsageError& e) {
    EXPECT_THAT(e.what(), HasSubstr("default-constructed"));
  }
}

// The callback runs in the collector thread: it was set while the task was held at a gate.
// close() there used to join the collector from itself (std::system_error, then abort).
TEST(Misuse, CloseInsideOnReadyIsAUsageErrorAndThePoolGoesOn) {
  LeakCheck leaks;
  {
    Pool pool({.workers = 1});
    Gate gate;
    auto held = pool.submit(gated_task, gate.dir());
    gate.wait_entered();
    CallbackReport report;
    held.on_ready([&] { report.set(outcome_of([&] { pool.close(); })); });
    gate.release();
    const auto seen = report.wait();
    ASSERT_TRUE(seen.has_value()) << "the callback never ran";
    EXPECT_THAT(*seen, HasSubstr("UsageError"));
    EXPECT_THAT(*seen, HasSubstr("Pool::close() inside an on_ready callback"));
    // Nothing was changed: the pool still takes and runs work.
    EXPECT_EQ(get_within_deadline(pool.submit(identity_task, 41)), 41);
  }
  leaks.check();
}

TEST(Misuse, TerminateInsideOnReadyIsAUsageErrorAndThePoolGoesOn) {
  LeakCheck leaks;
  {
    Pool pool({.workers = 1});
    Gate gate;
    auto held = pool.submit(gated_task, gate.dir());
    gate.wait_entered();
    CallbackReport report;
    held.on_ready([&] { report.set(outcome_of([&] { pool.terminate(); })); });
    gate.release();
    const auto seen = report.wait();
    ASSERT_TRUE(seen.has_value()) << "the callback never ran";
    EXPECT_THAT(*seen, HasSubstr("UsageError"));
    EXPECT_THAT(*seen, HasSubstr("Pool::terminate()"));
    EXPECT_EQ(get_within_deadline(pool.submit(identity_task, 42)), 42);
  }
  leaks.check();
}

// The refusal does not depend on the thread: here cancel() settles the future, so the callback
// runs in the test's own thread, where close() would have worked by accident.
TEST(Misuse, CloseInsideOnReadyRunByCancelIsRefusedToo) {
  LeakCheck leaks;
  {
    Pool pool({.workers = 1});
    Gate gate;
    auto busy = pool.submit(gated_task, gate.dir());
    gate.wait_entered();
    auto queued = pool.submit(identity_task, 1);
    std::string seen;
    queued.on_ready([&] { seen = outcome_of([&] { pool.close(); }); });
    ASSERT_TRUE(queued.cancel());
    EXPECT_THAT(seen, HasSubstr("UsageError"));
    gate.release();
    get_within_deadline(busy);
    EXPECT_EQ(get_within_deadline(pool.submit(identity_task, 43)), 43);
  }
  leaks.check();
}

// get() of an unfinished future of the same pool inside a callback used to wait for ever: the
// collector, which alone could settle it, was the thread waiting. get() of the future whose
// callback it is has settled, and stays allowed.
TEST(Misuse, GetOfAnUnfinishedFutureInsideOnReadyIsAUsageError) {
  LeakCheck leaks;
  {
    Pool pool({.workers = 2});
    Gate first_gate;
    Gate second_gate;
    auto first = pool.submit(gated_task, first_gate.dir());
    auto second = pool.submit(gated_task, second_gate.dir());
    const pid_t first_pid = first_gate.wait_entered();
    second_gate.wait_entered();
    CallbackReport report;
    first.on_ready([&] {
      const std::string own = outcome_of([&] { EXPECT_EQ(first.get(), first_pid); });
      report.set(own + " | " + outcome_of([&] { second.get(); }));
    });
    first_gate.release();
    const auto seen = report.wait();
    if (!seen) pool.terminate();  // frees a collector stuck in second.get()
    ASSERT_TRUE(seen.has_value()) << "the callback is stuck in get()";
    EXPECT_THAT(*seen, HasSubstr("returned | UsageError"));
    EXPECT_THAT(*seen, HasSubstr("inside an on_ready callback of the same pool"));
    second_gate.release();
    get_within_deadline(second);  // the refused get() changed nothing
  }
  leaks.check();
}

// Room in a full queue is made by the collector thread, which runs this callback (a timeout
// settles the hung task there, and no other worker is ready): a submit waiting for room would
// wait for itself for ever.
TEST(Misuse, ASubmitThatWouldWaitForRoomInsideOnReadyIsAUsageError) {
  LeakCheck leaks;
  {
    Options o{.workers = 1};
    o.pipeline_depth = 1;
    o.queue_capacity = 1;  // on_full: kBlock
    Pool pool(o);
    Gate gate;
    auto hung = pool.submit(TaskOptions{.timeout = 100ms}, hang_forever_task, gate.dir());
    gate.wait_entered();
    auto queued = pool.submit(identity_task, 1);  // the queue is full
    CallbackReport report;
    hung.on_ready([&] { report.set(outcome_of([&] { pool.submit(identity_task, 2); })); });
    const auto seen = report.wait();
    if (!seen) pool.terminate();  // frees a collector stuck in submit()
    ASSERT_TRUE(seen.has_value()) << "the callback is stuck in submit()";
    EXPECT_THAT(*seen, HasSubstr("UsageError"));
    EXPECT_THAT(*seen, HasSubstr("inside an on_ready callback of the same pool"));
    EXPECT_THROW(hung.get(), TaskTimeout);
    EXPECT_EQ(get_within_deadline(queued), 1);
    EXPECT_EQ(get_within_deadline(pool.submit(identity_task, 3)), 3) << "the pool goes on";
  }
  leaks.check();
}

// Only the same pool's futures are refused: waiting on another pool's holds up this collector
// but ends, as that pool settles its own futures.
TEST(Misuse, GetOfAnotherPoolsFutureInsideOnReadyIsAllowed) {
  LeakCheck leaks;
  {
    Pool pool({.workers = 1});
    Pool other({.workers = 1});
    Gate gate;
    auto held = pool.submit(gated_task, gate.dir());
    gate.wait_entered();
    auto elsewhere = other.submit(identity_task, 7);
    CallbackReport report;
    held.on_ready([&] { report.set(outcome_of([&] { EXPECT_EQ(elsewhere.get(), 7); })); });
    gate.release();
    const auto seen = report.wait();
    ASSERT_TRUE(seen.has_value());
    EXPECT_EQ(*seen, "returned");
  }
  leaks.check();
}

// A callback that cancels another future runs that future's callback inside itself: the inner
// one is still inside a callback of the pool.
TEST(Misuse, ANestedCallbackIsStillInsideThePoolsCallback) {
  LeakCheck leaks;
  {
    Pool pool({.workers = 1});
    Gate gate;
    auto busy = pool.submit(gated_task, gate.dir());
    gate.wait_entered();
    auto outer = pool.submit(identity_task, 1);
    auto inner = pool.submit(identity_task, 2);
    std::string seen;
    inner.on_ready([&] { seen = outcome_of([&] { pool.close(); }); });
    outer.on_ready([&] { inner.cancel(); });
    ASSERT_TRUE(outer.cancel());
    EXPECT_THAT(seen, HasSubstr("UsageError"));
    gate.release();
    get_within_deadline(busy);
  }
  leaks.check();
}

// A destructor cannot hand an error back and must neither join the thread running it nor free
// the pool under it, so it ends the program, with the reason instead of "Resource deadlock
// avoided". Checked in a child process (gtest re-executes this binary for it).
TEST(MisuseDeathTest, DestroyingThePoolInsideOnReadyEndsTheProgramWithTheReason) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        auto pool = std::make_unique<Pool>(Options{.workers = 1});
        Gate gate;
        auto held = pool->submit(gated_task, gate.dir());
        gate.wait_entered();
        std::mutex mutex;
        std::condition_variable never;
        held.on_ready([&] { pool.reset(); });
        gate.release();
        std::unique_lock lock(mutex);
        never.wait_for(lock, kDeadline);  // the collector ends the program meanwhile
        std::exit(0);
      },
      ::testing::KilledBySignal(SIGABRT),
      "UsageError.*destroying the Pool inside an on_ready callback");
}

// Lowers this process's soft RLIMIT_NOFILE for one test, and restores it.
class FdLimit {
 public:
  explicit FdLimit(rlim_t soft) {
    EXPECT_EQ(::getrlimit(RLIMIT_NOFILE, &saved_), 0);
    rlimit lowered = saved_;
    lowered.rlim_cur = soft;
    EXPECT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  }
  ~FdLimit() { ::setrlimit(RLIMIT_NOFILE, &saved_); }
  FdLimit(const FdLimit&) = delete;
  FdLimit& operator=(const FdLimit&) = delete;

 private:
  rlimit saved_{};
};

// More workers than the descriptor limit allows used to start one by one until a pipe()
// failed (36 s for 100000 workers under a limit of 20000) and then break the pool.
TEST(Misuse, MoreWorkersThanTheFdLimitAllowsAreRefusedUpFront) {
  LeakCheck leaks;
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  const auto workers = static_cast<unsigned>(std::min<rlim_t>(limit.rlim_cur, 1u << 30));
  try {
    Pool pool({.workers = workers});
    ADD_FAILURE() << "a pool of " << workers << " workers started under a limit of "
                  << limit.rlim_cur << " descriptors";
  } catch (const ResourceLimit& e) {
    EXPECT_EQ(e.limit, limit.rlim_cur);
    EXPECT_GT(e.needed, 3ull * workers);
    EXPECT_THAT(e.what(), HasSubstr("RLIMIT_NOFILE"));
    EXPECT_THAT(e.what(), HasSubstr(std::to_string(workers) + " workers"));
  }
  leaks.check();  // nothing was started
}

class FdLimitTest : public StartCaseTest {};

// The check's arithmetic against reality, for every start method: under a limit just large
// enough by the check, every worker starts and holds a task at once; one worker more is refused.
TEST_P(FdLimitTest, APoolThatFitsTheLimitByTheCheckReallyRuns) {
  constexpr unsigned kWorkers = 8;
  // Opened before the count (its descriptors are not the pool's), closed before the leak check.
  auto gate = std::make_unique<Gate>();
  const rlim_t open = open_fds().size();
  // The check's per-pool reserve and 3 per worker, and 2 to spare for the descriptor the check
  // reads /proc/self/fd with (one worker more needs 3).
  FdLimit limit(open + 16 + 3 * kWorkers + 2);
  EXPECT_THROW({ Pool refused(options(kWorkers + 1)); }, ResourceLimit);
  {
    Pool pool(options(kWorkers));
    std::vector<Future<pid_t>> held;
    for (unsigned i = 0; i < kWorkers; ++i) held.push_back(pool.submit(gated_task, gate->dir()));
    std::set<pid_t> pids;
    for (unsigned i = 0; i < kWorkers; ++i) pids.insert(gate->wait_entered());
    EXPECT_EQ(pids.size(), kWorkers);  // every worker up, with its pipes, at the same time
    for (unsigned i = 0; i < kWorkers; ++i) gate->release();
    for (auto& f : held) EXPECT_TRUE(pids.count(get_within_deadline(f)));
    EXPECT_EQ(pool.stats().worker_deaths, 0u);
  }
  gate.reset();
  leaks_.check();
}

INSTANTIATE_TEST_SUITE_P(AllStartMethods, FdLimitTest, ::testing::ValuesIn(all_start_cases(2)),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace forkpool::testing
