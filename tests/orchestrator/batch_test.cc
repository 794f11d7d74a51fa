// Pool::batch(): calls that travel to one worker in one Batch frame, after Mercurial's
// wireproto batching. Every start method.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "orchestrator/fault_tasks.h"
#include "orchestrator/start_case_test.h"
#include "serialization/messages.h"
#include "support/files.h"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;

class BatchTest : public StartCaseTest {};

TEST_P(BatchTest, NothingTravelsUntilSentThenEveryCallAnswers) {
  {
    Pool pool(options());
    Batch batch = pool.batch();
    std::vector<Future<int>> futures;
    for (int i = 0; i < 100; ++i) futures.push_back(batch.submit(identity_task, i));
    auto text = batch.submit(echo_string_task, std::string("batched"));
    EXPECT_EQ(batch.size(), 101u);
    EXPECT_FALSE(batch.sent());
    EXPECT_EQ(pool.stats().submitted, 0u) << "a call left before the batch was sent";
    for (const auto& f : futures) EXPECT_EQ(f.status(), FutureStatus::kPending);
    batch.send();
    EXPECT_TRUE(batch.sent());
    EXPECT_EQ(pool.stats().submitted, 101u);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(get_within_deadline(futures[i]), i);
    EXPECT_EQ(get_within_deadline(text), "batched");
  }
  leaks_.check();
}

TEST_P(BatchTest, GetOnAnUnsentBatchSendsItInsteadOfWaitingForEver) {
  {
    Pool pool(options());
    Batch batch = pool.batch();
    auto a = batch.submit(identity_task, 1);
    auto b = batch.submit(identity, 2);    // naming the function
    EXPECT_EQ(get_within_deadline(b), 2);  // wait_for() sent it
    EXPECT_TRUE(batch.sent());
    EXPECT_EQ(a.get(), 1);
    Batch other = pool.batch();
    auto c = other.submit(identity_task, 3);
    EXPECT_EQ(c.get(), 3);  // get() alone sends it too
    EXPECT_TRUE(other.sent());
  }
  leaks_.check();
}

TEST_P(BatchTest, ASentBatchTakesNoMoreCalls) {
  {
    Pool pool(options());
    Batch batch = pool.batch();
    auto a = batch.submit(identity_task, 1);
    EXPECT_EQ(a.get(), 1);
    try {
      batch.submit(identity_task, 2);
      FAIL() << "a sent batch took a call";
    } catch (const BatchSent& e) {
      EXPECT_NE(std::string(e.what()).find("pool.batch()"), std::string::npos) << e.what();
    }
    EXPECT_EQ(pool.stats().submitted, 1u);
    batch.send();  // idempotent
    EXPECT_EQ(pool.stats().submitted, 1u);
  }
  leaks_.check();
}

TEST_P(BatchTest, TheCallsOfABatchRunOnOneWorker) {
  {
    Pool pool(options(2));
    // Both workers idle: separate submits would spread; a batch goes to one of them whole.
    for (int round = 0; round < 5; ++round) {
      Batch batch = pool.batch();
      std::vector<Future<pid_t>> pids;
      for (int i = 0; i < 20; ++i) pids.push_back(batch.submit(worker_pid_task));
      batch.send();
      std::set<pid_t> seen;
      for (const auto& f : pids) seen.insert(get_within_deadline(f));
      EXPECT_EQ(seen.size(), 1u) << "round " << round;
    }
  }
  leaks_.check();
}

TEST_P(BatchTest, ResultsResolveOneByOne) {
  {
    Pool pool(options(1));
    Gate gate;
    Batch batch = pool.batch();
    auto first = batch.submit(identity_task, 7);
    auto held = batch.submit(gated_task, gate.dir());
    auto last = batch.submit(identity_task, 8);
    batch.send();
    gate.wait_entered();
    // The second call is running: the first has its value already, the last has not started.
    ASSERT_TRUE(first.wait_for(kDeadline));
    EXPECT_EQ(first.get(), 7);
    EXPECT_EQ(held.status(), FutureStatus::kRunning);
    EXPECT_EQ(last.status(), FutureStatus::kPending);
    gate.release();
    EXPECT_GT(get_within_deadline(held), 0);
    EXPECT_EQ(get_within_deadline(last), 8);
  }
  leaks_.check();
}

TEST_P(BatchTest, AFailingCallFailsOnlyItself) {
  {
    Pool pool(options());
    Batch batch = pool.batch();
    auto before = batch.submit(identity_task, 1);
    auto throws = batch.submit(throw_custom_error_task, std::string("in a batch"));
    auto after = batch.submit(identity_task, 2);
    batch.send();
    EXPECT_EQ(get_within_deadline(before), 1);
    ASSERT_TRUE(throws.wait_for(kDeadline));
    try {
      throws.get();
      FAIL() << "no error";
    } catch (const RemoteError& e) {
      EXPECT_EQ(e.type_name, "forkpool::testing::CustomError");
      EXPECT_EQ(e.message, "in a batch");
      EXPECT_EQ(e.task_name, "throw_custom_error_task");
    }
    EXPECT_EQ(get_within_deadline(after), 2);
  }
  leaks_.check();
}

// A call with a timeout makes its frame answered call by call (the pool times the call it
// knows is running): a death then fails the running call alone, and the calls queued behind
// it in the worker's pipe run elsewhere.
TEST_P(BatchTest, AWorkerThatDiesMidBatchFailsOneCallAndTheRestRunElsewhere) {
  {
    Pool pool(options(2));
    Batch batch = pool.batch();
    auto before = batch.submit(worker_pid_task);
    auto dies = batch.submit(TaskOptions{.timeout = std::chrono::hours(1)}, die_by_exit_task, 5);
    std::vector<Future<int>> after;
    for (int i = 0; i < 5; ++i) after.push_back(batch.submit(identity_task, 10 + i));
    batch.send();
    const pid_t dead = get_within_deadline(before);
    ASSERT_TRUE(dies.wait_for(kDeadline));
    try {
      dies.get();
      FAIL() << "no error";
    } catch (const WorkerDied& e) {
      EXPECT_EQ(e.pid, dead);
      EXPECT_EQ(e.status.str(), "exited with code 5");
    }
    for (int i = 0; i < 5; ++i) EXPECT_EQ(get_within_deadline(after[i]), 10 + i);
    EXPECT_EQ(pool.stats().requeued, 5u) << "the calls after the crash did not wait in its pipe";
    EXPECT_EQ(pool.stats().worker_deaths, 1u);
  }
  leaks_.check();
}

// Without timeouts, the worker holds the replies of a batch's calls and sends them together
// (serialization::kBatchHoldReplies), so which calls it ran dies with it. They all run again,
// each alone: the call that kills a worker fails by itself, with WorkerDied, and no other
// call fails.
TEST_P(BatchTest, AWorkerThatDiesHoldingRepliesFailsOnlyTheCallThatKillsIt) {
  {
    Pool pool(options(2));
    Batch batch = pool.batch();
    std::vector<Future<int>> before, after;
    for (int i = 0; i < 5; ++i) before.push_back(batch.submit(identity_task, i));
    auto dies = batch.submit(die_by_exit_task, 5);
    for (int i = 0; i < 5; ++i) after.push_back(batch.submit(identity_task, 10 + i));
    batch.send();
    ASSERT_TRUE(dies.wait_for(kDeadline));
    try {
      dies.get();
      FAIL() << "no error";
    } catch (const WorkerDied& e) {
      EXPECT_EQ(e.status.str(), "exited with code 5");
      EXPECT_EQ(e.task_name, "die_by_exit_task");
    }
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(get_within_deadline(before[i]), i);
      EXPECT_EQ(get_within_deadline(after[i]), 10 + i);
    }
    const PoolStats stats = pool.stats();
    EXPECT_EQ(stats.failed, 1u) << "a call that did not kill its worker failed";
    EXPECT_GE(stats.requeued, 6u) << "the unanswered calls did not run again";
    EXPECT_EQ(stats.worker_deaths, 2u) << "once in the batch, once alone";
  }
  leaks_.check();
}

// A batch's small calls share one buffer of encoded calls, a large one has its own; results
// are held in place up to a size and in a buffer above it. Calls of every kind run again after
// their worker dies holding their replies, and every result of every size comes back whole.
TEST_P(BatchTest, SharedAndOwnedCallsAndResultsOfEverySizeSurviveADeath) {
  {
    Pool pool(options(2));
    Batch batch = pool.batch();
    std::vector<Future<std::string>> echoes;
    const auto text = [](std::size_t length) {
      return std::string(length, static_cast<char>('a' + length % 26));
    };
    // Results from 8 to 48 bytes (a string's archive: its length, then its bytes), then
    // arguments of 5000 bytes, each with a buffer of its own.
    for (std::size_t length = 0; length <= 40; ++length) {
      echoes.push_back(batch.submit(echo_string_task, text(length)));
    }
    echoes.push_back(batch.submit(echo_string_task, text(5000)));
    auto dies = batch.submit(die_by_exit_task, 5);
    for (std::size_t length : {3, 30, 6000}) {
      echoes.push_back(batch.submit(echo_string_task, text(length)));
    }
    batch.send();
    ASSERT_TRUE(dies.wait_for(kDeadline));
    EXPECT_THROW(dies.get(), WorkerDied);
    std::vector<std::size_t> lengths;
    for (std::size_t length = 0; length <= 40; ++length) lengths.push_back(length);
    lengths.insert(lengths.end(), {5000, 3, 30, 6000});
    for (std::size_t i = 0; i < echoes.size(); ++i) {
      EXPECT_EQ(get_within_deadline(echoes[i]), text(lengths[i])) << "call " << i;
    }
    EXPECT_EQ(pool.stats().failed, 1u);
    // The same results through single submits, whose replies come one frame each.
    for (std::size_t length = 0; length <= 40; ++length) {
      EXPECT_EQ(get_within_deadline(pool.submit(echo_string_task, text(length))), text(length));
    }
  }
  leaks_.check();
}

// A running call of a batch whose replies are held is cancelled as any call: its worker is
// stopped after cancel_grace, and the calls behind it run elsewhere. The call before it was
// answered while it ran, not held back behind it.
TEST_P(BatchTest, ACancelledCallOfABatchThatHoldsRepliesStopsAlone) {
  {
    Options o = options(1);
    o.kill_grace = 100ms;
    Pool pool(o);
    Gate gate;
    Batch batch = pool.batch();
    auto first = batch.submit(identity_task, 1);
    auto stuck = batch.submit(gated_task, gate.dir());  // never released
    auto last = batch.submit(identity_task, 3);
    batch.send();
    gate.wait_entered();
    EXPECT_EQ(get_within_deadline(first), 1);
    EXPECT_TRUE(stuck.cancel());
    EXPECT_THROW(stuck.get(), TaskCancelled);
    EXPECT_EQ(get_within_deadline(last), 3);
    EXPECT_EQ(pool.stats().failed, 0u);
    EXPECT_EQ(pool.stats().cancelled, 1u);
  }
  leaks_.check();
}

TEST_P(BatchTest, ACallCancelledBeforeSendingNeverTravels) {
  {
    Pool pool(options());
    Batch batch = pool.batch();
    auto kept = batch.submit(identity_task, 1);
    auto dropped = batch.submit(identity_task, 2);
    EXPECT_TRUE(dropped.cancel());
    EXPECT_EQ(dropped.status(), FutureStatus::kCancelled);
    EXPECT_FALSE(dropped.cancel());
    EXPECT_THROW(dropped.get(), TaskCancelled);
    EXPECT_EQ(batch.size(), 1u);
    batch.send();
    EXPECT_EQ(get_within_deadline(kept), 1);
    EXPECT_EQ(pool.stats().submitted, 1u);
  }
  leaks_.check();
}

// Before sending, a call is taken out of whichever run holds it: one already closed (another
// function came after it) or the one still open. The other calls of both runs still travel.
TEST_P(BatchTest, ACallCancelledBeforeSendingLeavesTheRestOfItsRun) {
  {
    Pool pool(options());
    TempDir dir;
    Batch batch = pool.batch();
    std::vector<Future<int>> first, second;
    for (int i = 0; i < 4; ++i)
      first.push_back(batch.submit(touch_task, dir / ("a" + std::to_string(i))));
    for (int i = 0; i < 4; ++i) second.push_back(batch.submit(identity_task, i));
    EXPECT_TRUE(first[1].cancel());   // in the closed run
    EXPECT_TRUE(second[2].cancel());  // in the open one
    EXPECT_EQ(batch.size(), 6u);
    batch.send();
    for (int i : {0, 2, 3}) {
      EXPECT_EQ(get_within_deadline(first[static_cast<std::size_t>(i)]), 1);
    }
    for (int i : {0, 1, 3}) {
      EXPECT_EQ(get_within_deadline(second[static_cast<std::size_t>(i)]), i);
    }
    EXPECT_THROW(first[1].get(), TaskCancelled);
    EXPECT_THROW(second[2].get(), TaskCancelled);
    EXPECT_FALSE(std::filesystem::exists(dir / "a1")) << "a cancelled call ran";
    EXPECT_EQ(pool.stats().submitted, 6u) << "the cancelled calls were not handed to the pool";
  }
  leaks_.check();
}

TEST_P(BatchTest, TheDestructorSendsWhatWasNotSent) {
  {
    Pool pool(options());
    std::vector<Future<int>> futures;
    {
      Batch batch = pool.batch();
      for (int i = 0; i < 10; ++i) futures.push_back(batch.submit(identity_task, i));
    }
    for (int i = 0; i < 10; ++i) EXPECT_EQ(get_within_deadline(futures[i]), i);
  }
  leaks_.check();
}

TEST_P(BatchTest, ABatchLargerThanOneFrameTravelsInSeveral) {
  {
    Options o = options(1);
    o.max_frame = 64 * 1024;
    Pool pool(o);
    Batch batch = pool.batch();
    std::vector<Future<std::string>> futures;
    // 40 calls of 10 KB each: about 400 KB, so at least seven frames of 64 KiB.
    for (int i = 0; i < 40; ++i) {
      futures.push_back(
          batch.submit(echo_string_task, std::string(10000, static_cast<char>('a' + i % 26))));
    }
    batch.send();
    for (int i = 0; i < 40; ++i) {
      EXPECT_EQ(get_within_deadline(futures[i]),
                std::string(10000, static_cast<char>('a' + i % 26)));
    }
    // One call alone too large for a frame fails alone.
    Batch mixed = pool.batch();
    auto fine = mixed.submit(identity_task, 1);
    auto huge = mixed.submit(echo_string_task, std::string(100000, 'x'));
    mixed.send();
    EXPECT_EQ(get_within_deadline(fine), 1);
    ASSERT_TRUE(huge.wait_for(kDeadline));
    EXPECT_THROW(huge.get(), MessageTooLarge);
  }
  leaks_.check();
}

// A result that fits in a frame of its own but not in a Replies frame with its entry's header
// travels alone; the worker does not die over it.
TEST_P(BatchTest, AResultJustUnderMaxFrameTravelsAloneFromABatchThatHoldsReplies) {
  {
    Options o = options(1);
    o.max_frame = 4096;
    // The largest iota_vector result that is at most max_frame bytes: too big for a Replies
    // entry (4 + 13 bytes of headers more).
    int n = 0;
    std::size_t bytes = 0;
    for (int i = 1; i < 1000; ++i) {
      detail::Payload encoded;
      detail::encode_values(encoded, iota_vector(i));
      if (encoded.size() > o.max_frame) break;
      n = i;
      bytes = encoded.size();
    }
    ASSERT_GT(bytes + serialization::kBatchCountSize + serialization::batch_entry_size(0),
              o.max_frame);
    Pool pool(o);
    Batch batch = pool.batch();
    auto before = batch.submit(identity_task, 1);
    auto big = batch.submit(iota_vector_task, n);
    auto after = batch.submit(identity_task, 2);
    batch.send();
    EXPECT_EQ(get_within_deadline(before), 1);
    EXPECT_EQ(get_within_deadline(big).size(), static_cast<std::size_t>(n));
    EXPECT_EQ(get_within_deadline(after), 2);
    EXPECT_EQ(pool.stats().worker_deaths, 0u);
  }
  leaks_.check();
}

TEST_P(BatchTest, RecyclingCountsEveryCallOfABatch) {
  {
    Options o = options(1);
    o.max_tasks_per_worker = 4;
    Pool pool(o);
    Batch batch = pool.batch();
    std::vector<Future<pid_t>> pids;
    for (int i = 0; i < 10; ++i) pids.push_back(batch.submit(worker_pid_task));
    batch.send();
    std::vector<pid_t> order;
    for (const auto& f : pids) order.push_back(get_within_deadline(f));
    // Four calls a worker, in order: 4 + 4 + 2.
    for (int i = 0; i < 10; ++i) EXPECT_EQ(order[i], order[i / 4 * 4]) << i;
    EXPECT_NE(order[0], order[4]);
    EXPECT_NE(order[4], order[8]);
    EXPECT_GE(pool.stats().workers_recycled, 2u);
  }
  leaks_.check();
}

TEST_P(BatchTest, ABatchSentToAClosedPoolFailsEveryCall) {
  {
    Pool pool(options());
    Batch batch = pool.batch();
    auto a = batch.submit(identity_task, 1);
    auto b = batch.submit(identity_task, 2);
    pool.close();
    EXPECT_THROW(batch.send(), PoolClosed);
    EXPECT_THROW(a.get(), PoolClosed);
    EXPECT_THROW(b.get(), PoolClosed);
  }
  leaks_.check();
}

TEST_P(BatchTest, ABatchThatOutlivesItsPoolFailsItsCalls) {
  {
    std::optional<Batch> batch;
    Future<int> f;
    {
      Pool pool(options());
      batch.emplace(pool.batch());
      f = batch->submit(identity_task, 1);
    }
    EXPECT_THROW(f.get(), PoolClosed);  // get() sends it to a pool that is gone
    EXPECT_EQ(f.status(), FutureStatus::kError);
  }
  leaks_.check();
}

// Consecutive calls of one function without options travel as a run: one task, one frame.
// Each call still resolves alone, with its value or its own exception.
TEST_P(BatchTest, TheCallsOfARunResolveOneByOneWithTheirOwnErrors) {
  {
    Pool pool(options());
    Batch batch = pool.batch();
    std::vector<Future<int>> futures;
    for (int i = 1; i <= 50; ++i)
      futures.push_back(batch.submit(double_unless_multiple_of_7_task, i));
    batch.send();
    for (int i = 1; i <= 50; ++i) {
      const Future<int>& f = futures[static_cast<std::size_t>(i - 1)];
      ASSERT_TRUE(f.wait_for(kDeadline));
      if (i % 7 != 0) {
        EXPECT_EQ(f.get(), 2 * i);
        continue;
      }
      try {
        f.get();
        ADD_FAILURE() << "call " << i << " did not throw";
      } catch (const RemoteError& e) {
        EXPECT_EQ(e.message, "multiple of 7: " + std::to_string(i));
        EXPECT_EQ(e.task_name, "double_unless_multiple_of_7_task");
      }
    }
    const PoolStats stats = pool.stats();
    EXPECT_EQ(stats.submitted, 50u);
    EXPECT_EQ(stats.completed, 50u);
    EXPECT_EQ(stats.failed, 0u);
  }
  leaks_.check();
}

// A worker that dies inside a run took the replies it held with it: the run's unanswered calls
// run again, each alone, and only the call that kills a worker fails.
TEST_P(BatchTest, AWorkerThatDiesInARunFailsOnlyTheCallThatKillsIt) {
  {
    Pool pool(options(2));
    Batch batch = pool.batch();
    std::vector<Future<int>> futures;
    for (int i = 0; i < 30; ++i) futures.push_back(batch.submit(exit_on_13_task, i));
    batch.send();
    for (int i = 0; i < 30; ++i) {
      const Future<int>& f = futures[static_cast<std::size_t>(i)];
      if (i == 13) {
        ASSERT_TRUE(f.wait_for(kDeadline));
        EXPECT_THROW(f.get(), WorkerDied);
      } else {
        EXPECT_EQ(get_within_deadline(f), i);
      }
    }
    const PoolStats stats = pool.stats();
    EXPECT_EQ(stats.failed, 1u) << "a call that did not kill its worker failed";
    EXPECT_GE(stats.requeued, 17u) << "the calls after the one that killed it did not run again";
    EXPECT_EQ(stats.worker_deaths, 2u) << "once in the run, once alone";
  }
  leaks_.check();
}

// A call of a run cancelled while the run waits in the queue never runs; the others do.
TEST_P(BatchTest, ACallCancelledInAQueuedRunNeverRuns) {
  {
    Pool pool(options(1));
    Gate gate;
    TempDir dir;
    auto busy = pool.submit(gated_task, gate.dir());
    gate.wait_entered();
    Batch batch = pool.batch();
    std::vector<Future<int>> touched;
    for (int i = 0; i < 5; ++i)
      touched.push_back(batch.submit(touch_task, dir / std::to_string(i)));
    batch.send();
    EXPECT_TRUE(touched[2].cancel());
    EXPECT_EQ(touched[2].status(), FutureStatus::kCancelled);
    gate.release();
    EXPECT_GT(get_within_deadline(busy), 0);
    for (int i : {0, 1, 3, 4})
      EXPECT_EQ(get_within_deadline(touched[static_cast<std::size_t>(i)]), 1);
    EXPECT_THROW(touched[2].get(), TaskCancelled);
    EXPECT_FALSE(std::filesystem::exists(dir / "2")) << "a cancelled call ran";
    EXPECT_EQ(pool.stats().cancelled, 1u);
    EXPECT_EQ(pool.stats().failed, 0u);
  }
  leaks_.check();
}

// The running call of a run is told to stop (this_task::cancelled()) as a task alone is, and
// the run goes on with the next call: no worker is stopped for it.
TEST_P(BatchTest, TheRunningCallOfARunStopsWhenCancelledAndTheRunGoesOn) {
  {
    Pool pool(options(1));
    Gate first, second;
    TempDir dir;
    Batch batch = pool.batch();
    auto a = batch.submit(until_cancelled_task, first.dir(), dir / "a");
    auto b = batch.submit(until_cancelled_task, second.dir(), dir / "b");
    batch.send();
    first.wait_entered();
    EXPECT_TRUE(a.cancel());
    second.wait_entered();  // the run went on to its next call
    EXPECT_TRUE(b.cancel());
    EXPECT_THROW(a.get(), TaskCancelled);
    EXPECT_THROW(b.get(), TaskCancelled);
    // Each call saw its cancel and returned: the worker answered for both, and lives.
    EXPECT_EQ(get_within_deadline(pool.submit(identity_task, 5)), 5);
    EXPECT_TRUE(std::filesystem::exists(dir / "a"));
    EXPECT_TRUE(std::filesystem::exists(dir / "b"));
    EXPECT_EQ(pool.stats().worker_deaths, 0u);
    EXPECT_EQ(pool.stats().cancelled, 2u);
  }
  leaks_.check();
}

// A call of an unsent run cancelled, then the rest of the batch: the run's frame is rebuilt
// without it; a run is cut where another function, options or max_frame say.
TEST_P(BatchTest, RunsAreCutByFunctionOptionsAndFrameSize) {
  {
    Options o = options(1);
    o.max_frame = 16 * 1024;
    Pool pool(o);
    Batch batch = pool.batch();
    std::vector<Future<std::string>> echoes;
    for (int i = 0; i < 30; ++i) {
      echoes.push_back(
          batch.submit(echo_string_task, std::string(3000, static_cast<char>('a' + i))));
    }
    auto dropped = batch.submit(echo_string_task, std::string("dropped"));
    auto with_options =
        batch.submit(TaskOptions{.timeout = std::chrono::hours(1)}, identity_task, 1);
    auto other = batch.submit(identity_task, 2);
    auto last = batch.submit(echo_string_task, std::string("last"));
    EXPECT_TRUE(dropped.cancel());
    EXPECT_EQ(batch.size(), 33u);
    batch.send();
    for (int i = 0; i < 30; ++i) {
      EXPECT_EQ(get_within_deadline(echoes[static_cast<std::size_t>(i)]),
                std::string(3000, static_cast<char>('a' + i)));
    }
    EXPECT_THROW(dropped.get(), TaskCancelled);
    EXPECT_EQ(get_within_deadline(with_options), 1);
    EXPECT_EQ(get_within_deadline(other), 2);
    EXPECT_EQ(get_within_deadline(last), "last");
    EXPECT_EQ(pool.stats().submitted, 33u);
  }
  leaks_.check();
}

// Pool::cancel_all() reaches each call of a run: those not yet answered are cancelled.
TEST_P(BatchTest, CancelAllCancelsTheCallsOfARun) {
  {
    Options o = options(1);
    o.cancel_grace = 1ms;  // the gated task never looks: its worker is stopped at once
    Pool pool(o);
    Gate gate;
    auto busy = pool.submit(gated_task, gate.dir());
    gate.wait_entered();
    Batch batch = pool.batch();
    std::vector<Future<int>> futures;
    for (int i = 0; i < 10; ++i) futures.push_back(batch.submit(identity_task, i));
    batch.send();
    const PoolStats before = pool.stats();  // calls, not tasks: the run is ten
    EXPECT_EQ(before.queued + before.in_workers, 11u);
    EXPECT_EQ(pool.cancel_all(), 11u);
    for (const auto& f : futures) EXPECT_THROW(f.get(), TaskCancelled);
    EXPECT_THROW(busy.get(), TaskCancelled);
  }
  leaks_.check();
}

INSTANTIATE_TEST_SUITE_P(AllStartMethods, BatchTest, ::testing::ValuesIn(all_start_cases(2)),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace forkpool::testing
