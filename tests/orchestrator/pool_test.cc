// The Pool, for every way of starting workers: values, volume, large results, task errors.
#include <gtest/gtest.h>
#include <pthread.h>
#include <spdlog/sinks/ostream_sink.h>
#include <unistd.h>
#include <xxhash.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <ranges>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "orchestrator/start_case_test.h"
#include "support/gate.h"

namespace forkpool::testing {

// Returns x + 1, computed in a thread of its own.
inline int add_one_in_a_thread(int x) {
  int sum = 0;
  std::thread([&] { sum = x + 1; }).join();
  return sum;
}
FORKPOOL_TASK(add_one_in_a_thread_task, add_one_in_a_thread);

namespace {

using namespace std::chrono_literals;

class PoolTest : public StartCaseTest {};

TEST_P(PoolTest, ValuesOfSeveralTypesComeBackRight) {
  {
    Pool pool(options());
    EXPECT_EQ(get_within_deadline(pool.submit(identity_task, 42)), 42);
    EXPECT_EQ(get_within_deadline(pool.submit(identity_task, 0)), 0);
    EXPECT_EQ(get_within_deadline(pool.submit(identity_task, std::numeric_limits<int>::min())),
              std::numeric_limits<int>::min());
    EXPECT_EQ(get_within_deadline(pool.submit(echo_string_task, std::string("hé\0llo", 6))),
              std::string("hé\0llo", 6));
    EXPECT_EQ(get_within_deadline(pool.submit(echo_string_task, std::string())), "");
    EXPECT_EQ(get_within_deadline(pool.submit(iota_vector_task, 5)),
              (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
    EXPECT_TRUE(get_within_deadline(pool.submit(iota_vector_task, 0)).empty());
    EXPECT_EQ(
        get_within_deadline(pool.submit(word_lengths_task, std::vector<std::string>{"a", "bcd"})),
        (std::map<std::string, int>{{"a", 1}, {"bcd", 3}}));
    Point p{1, 2.5, "p", {7}};
    EXPECT_EQ(get_within_deadline(pool.submit(move_point_task, p, 3)),
              (Point{4, 2.5, "p", {7, 3}}));
    EXPECT_EQ(get_within_deadline(pool.submit(half_task, 5)), 2.5);  // int converts to double
    EXPECT_TRUE(std::isnan(get_within_deadline(pool.submit(half_task, std::nan("")))));
    auto nothing = pool.submit(do_nothing_task);
    ASSERT_TRUE(nothing.wait_for(kDeadline));
    EXPECT_EQ(nothing.status(), FutureStatus::kValue);
    EXPECT_NO_THROW(nothing.get());
    // Naming the function instead of its handle.
    EXPECT_EQ(get_within_deadline(pool.submit(identity, 9)), 9);
  }
  leaks_.check();
}

TEST_P(PoolTest, TenThousandTinyTasksAllComplete) {
  {
    Pool pool(options());
    std::vector<Future<int>> futures;
    for (int i = 0; i < 10000; ++i) futures.push_back(pool.submit(identity_task, i));
    std::int64_t sum = 0;
    for (int i = 0; i < 10000; ++i) {
      int v = get_within_deadline(futures[i]);
      ASSERT_EQ(v, i);
      sum += v;
    }
    EXPECT_EQ(sum, 9999LL * 10000 / 2);
    EXPECT_EQ(pool.stats().completed, 10000u);
  }
  leaks_.check();
}

TEST_P(PoolTest, StatsSayWhereTasksAreAndHowManyBytesMoved) {
  {
    Options o = options();
    o.workers = 1;
    Pool pool(o);
    Gate gate;
    Future<pid_t> running = pool.submit(gated_task, gate.dir());
    gate.wait_entered();
    std::vector<Future<int>> behind;
    for (int i = 0; i < 3; ++i) behind.push_back(pool.submit(identity_task, i));
    PoolStats now = pool.stats();
    EXPECT_EQ(now.workers_alive, 1u);
    EXPECT_GE(now.in_workers, 1u) << "the gated task runs in the worker";
    EXPECT_EQ(now.queued + now.in_workers, 4u) << "each unfinished task is queued or in a worker";
    const std::uint64_t task_frame = 24 + gate.dir().size();  // a header and the path, at least
    EXPECT_GE(now.bytes_sent, task_frame);
    gate.release();
    EXPECT_GT(get_within_deadline(running), 0);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(get_within_deadline(behind[i]), i);
    now = pool.stats();
    EXPECT_EQ(now.queued, 0u);
    EXPECT_EQ(now.in_workers, 0u);
    EXPECT_GE(now.bytes_sent, task_frame + 3 * (24 + sizeof(int)));
    EXPECT_GE(now.bytes_received, 4 * 24u) << "four Result frames at least";
  }
  leaks_.check();
}

TEST_P(PoolTest, FiftyMebibyteResultArrivesIntact) {
  {
    Pool pool(options());
    auto bytes = get_within_deadline(pool.submit(patterned_bytes_task, 50));
    ASSERT_EQ(bytes.size(), std::size_t{50} << 20);
    const auto expected = patterned_bytes(50);
    EXPECT_EQ(XXH3_64bits(bytes.data(), bytes.size()),
              XXH3_64bits(expected.data(), expected.size()));
    EXPECT_TRUE(bytes == expected);
  }
  leaks_.check();
}

TEST_P(PoolTest, TaskExceptionsComeBackAsRemoteError) {
  {
    Pool pool(options());
    auto runtime = pool.submit(throw_runtime_error_task, std::string("disk on fire"));
    auto custom = pool.submit(throw_custom_error_task, std::string("custom trouble"));
    auto non_std = pool.submit(throw_int_task, 7);
    ASSERT_TRUE(runtime.wait_for(kDeadline));
    try {
      runtime.get();
      FAIL() << "expected RemoteError";
    } catch (const RemoteError& e) {
      EXPECT_EQ(e.type_name, "std::runtime_error");
      EXPECT_EQ(e.message, "disk on fire");
      EXPECT_EQ(e.task_name, "throw_runtime_error_task");
      EXPECT_GT(e.worker_pid, 0);
      EXPECT_NE(e.worker_pid, ::getpid());
      EXPECT_NE(std::string(e.what()).find("disk on fire"), std::string::npos);
    }
    ASSERT_TRUE(custom.wait_for(kDeadline));
    try {
      custom.get();
      FAIL() << "expected RemoteError";
    } catch (const RemoteError& e) {
      EXPECT_EQ(e.type_name, "forkpool::testing::CustomError");
      EXPECT_EQ(e.message, "custom trouble");
      EXPECT_GT(e.task_id, 0u);
    }
    ASSERT_TRUE(non_std.wait_for(kDeadline));
    try {
      non_std.get();
      FAIL() << "expected RemoteError";
    } catch (const RemoteError& e) {
      EXPECT_EQ(e.type_name, "int");
    }
    // A task's exception does not cost a worker.
    EXPECT_EQ(pool.stats().worker_deaths, 0u);
    EXPECT_EQ(get_within_deadline(pool.submit(identity_task, 5)), 5);
  }
  leaks_.check();
}

TEST_P(PoolTest, MapYieldsResultsInOrder) {
  {
    Pool pool(options());
    std::vector<int> inputs(500);
    std::iota(inputs.begin(), inputs.end(), 0);
    std::vector<int> outputs;
    for (int v : pool.map(identity_task, inputs)) outputs.push_back(v);
    EXPECT_EQ(outputs, inputs);
  }
  leaks_.check();
}

TEST_P(PoolTest, MapKeepsABoundedNumberOfChunksInFlight) {
  {
    Options o = options();
    o.map_window = 8;
    Pool pool(o);
    std::uint64_t consumed = 0, most_unread = 0;
    // A lazy input range: nothing is materialized, so only the window can be in flight. Each
    // chunk is one submitted task; a chunk is unread until its last result is consumed.
    auto results = pool.map(identity_task, std::views::iota(0, 200000));
    for (int v : results) {
      ASSERT_EQ(v, static_cast<int>(consumed));
      ++consumed;
      const auto s = pool.stats();
      most_unread = std::max<std::uint64_t>(most_unread, s.submitted - s.completed);
    }
    EXPECT_EQ(consumed, 200000u);
    EXPECT_LE(most_unread, 8u);
    EXPECT_GE(most_unread, 1u);
    // The calls travelled in chunks: far fewer tasks than calls.
    EXPECT_LT(pool.stats().submitted, 200000u / 10);
  }
  leaks_.check();
}

TEST_P(PoolTest, TasksWaitingInTheWorkerThatDiesRunElsewhere) {
  {
    Options o = options(1);
    o.pipeline_depth = 4;
    o.pipeline_below = std::chrono::seconds(10);  // measured tasks always count as short here
    Pool pool(o);
    for (int i = 0; i < 20; ++i) ASSERT_EQ(get_within_deadline(pool.submit(identity_task, i)), i);
    Gate gate;
    auto dying = pool.submit(gated_exit_task, gate.dir(), 7);
    gate.wait_entered();
    // The worker is busy: these three wait in its pipe behind the task that will kill it.
    std::vector<Future<int>> waiting;
    for (int i = 0; i < 3; ++i) waiting.push_back(pool.submit(identity_task, 100 + i));
    for (auto& f : waiting) EXPECT_EQ(f.status(), FutureStatus::kPending);
    gate.release();
    ASSERT_TRUE(dying.wait_for(kDeadline));
    EXPECT_THROW(dying.get(), WorkerDied);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(get_within_deadline(waiting[i]), 100 + i);
    EXPECT_EQ(pool.stats().requeued, 3u);  // they really were in the dead worker's pipe
    EXPECT_EQ(pool.stats().worker_deaths, 1u);
  }
  leaks_.check();
}

TEST_P(PoolTest, WithoutPipeliningTasksWaitInThePool) {
  {
    Options o = options(1);
    o.pipeline_depth = 1;
    Pool pool(o);
    for (int i = 0; i < 20; ++i) ASSERT_EQ(get_within_deadline(pool.submit(identity_task, i)), i);
    Gate gate;
    auto dying = pool.submit(gated_exit_task, gate.dir(), 7);
    gate.wait_entered();
    auto waiting = pool.submit(identity_task, 5);
    gate.release();
    EXPECT_THROW(dying.get(), WorkerDied);
    EXPECT_EQ(get_within_deadline(waiting), 5);
    EXPECT_EQ(pool.stats().requeued, 0u);
  }
  leaks_.check();
}

TEST_P(PoolTest, TasksRunInDifferentWorkerProcesses) {
  {
    Pool pool(options(2));
    Gate a, b;
    auto first = pool.submit(gated_task, a.dir());
    auto second = pool.submit(gated_task, b.dir());
    // Both run at once, so they must be in two workers.
    const pid_t pa = a.wait_entered();
    const pid_t pb = b.wait_entered();
    EXPECT_NE(pa, pb);
    EXPECT_NE(pa, ::getpid());
    std::set<pid_t> pids;
    for (pid_t p : pool.worker_pids()) pids.insert(p);
    EXPECT_TRUE(pids.count(pa) && pids.count(pb));
    a.release();
    b.release();
    EXPECT_EQ(get_within_deadline(first), pa);
    EXPECT_EQ(get_within_deadline(second), pb);
  }
  leaks_.check();
}

TEST_P(PoolTest, TaskLogLinesReachTheParent) {
  auto captured = std::make_shared<std::ostringstream>();
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*captured);
  task_logger().sinks().push_back(sink);
  pid_t pid = 0;
  {
    Pool pool(options(1));
    pid = get_within_deadline(pool.submit(worker_pid_task));
    // The Log frame precedes the Result frame on the same pipe, and the collector handles
    // frames in order, so the line is logged before the result is delivered.
    EXPECT_EQ(get_within_deadline(pool.submit(log_line_task, std::string("hello from a task"))), 1);
  }
  task_logger().sinks().pop_back();
  EXPECT_NE(captured->str().find("[worker pid " + std::to_string(pid) + "] hello from a task"),
            std::string::npos)
      << captured->str();
  leaks_.check();
}

TEST_P(PoolTest, CloseFinishesQueuedWorkAndIsIdempotent) {
  std::vector<Future<int>> futures;
  {
    Pool pool(options());
    for (int i = 0; i < 200; ++i) futures.push_back(pool.submit(identity_task, i));
    pool.close();
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(futures[i].ready()) << "close() returned before task " << i << " settled";
      EXPECT_EQ(futures[i].get(), i);
    }
    EXPECT_TRUE(pool.worker_pids().empty());
    EXPECT_THROW(pool.submit(identity_task, 1), PoolClosed);
    pool.close();
  }
  leaks_.check();
}

// A task may start threads. ThreadSanitizer kills a process that starts one if it was forked
// from a multi-threaded process, which is how it notices a forkserver zygote (or a fork
// worker) forked after the pool had a thread of its own.
TEST_P(PoolTest, ATaskMayStartAThread) {
  {
    Pool pool(options(1));
    EXPECT_EQ(get_within_deadline(pool.submit(add_one_in_a_thread_task, 41)), 42);
    EXPECT_EQ(pool.stats().worker_deaths, 0u);
  }
  leaks_.check();
}

TEST_P(PoolTest, TerminateEndsATaskThatNeverReturns) {
  {
    Pool pool(options());
    Gate gate;
    auto stuck = pool.submit(hang_forever_task, gate.dir());
    auto queued = std::vector<Future<int>>();
    gate.wait_entered();
    pool.terminate();
    ASSERT_TRUE(stuck.ready());
    EXPECT_THROW(stuck.get(), PoolClosed);
    EXPECT_TRUE(pool.worker_pids().empty());
  }
  leaks_.check();
}

// A worker encodes its replies into one buffer kept from reply to reply (large ones included):
// each reply must carry its own bytes only, whatever came before it in the same worker.
TEST(PoolReplyBufferTest, EachReplyCarriesItsOwnBytesOnly) {
  LeakCheck leaks;
  {
    Pool pool({.workers = 1});  // one worker: every reply goes through the same buffer
    const std::vector<std::pair<int, int>> sizes_and_seeds = {{2048, 1}, {1536, 2}, {600, 3},
                                                              {1, 4},    {0, 5},    {1200, 6}};
    for (const auto& [kib, seed] : sizes_and_seeds) {
      const auto bytes = get_within_deadline(pool.submit(seeded_bytes_task, kib, seed));
      EXPECT_TRUE(bytes == seeded_bytes(kib, seed)) << kib << " KiB, seed " << seed;
    }
    // An error and a small value right after a large reply.
    auto threw = pool.submit(throw_runtime_error_task, std::string("after a large reply"));
    ASSERT_TRUE(threw.wait_for(kDeadline));
    try {
      threw.get();
      FAIL() << "expected RemoteError";
    } catch (const RemoteError& e) {
      EXPECT_EQ(e.message, "after a large reply");
    }
    EXPECT_EQ(get_within_deadline(pool.submit(identity_task, 17)), 17);
    EXPECT_TRUE(get_within_deadline(pool.submit(seeded_bytes_task, 2048, 9)) ==
                seeded_bytes(2048, 9));
  }
  leaks.check();
}

// Large frames and small ones from two workers, all in flight at once, each intact.
TEST(PoolReplyBufferTest, LargeAndSmallRepliesFromTwoWorkersInterleave) {
  LeakCheck leaks;
  {
    Pool pool({.workers = 2});
    std::vector<Future<std::vector<char>>> futures;
    for (int i = 0; i < 8; ++i) {
      const int kib = i % 2 == 0 ? 1100 + i : i;  // over 1 MiB, then a few KiB
      futures.push_back(pool.submit(seeded_bytes_task, kib, i));
    }
    for (int i = 0; i < 8; ++i) {
      const int kib = i % 2 == 0 ? 1100 + i : i;
      EXPECT_TRUE(get_within_deadline(futures[i]) == seeded_bytes(kib, i)) << "task " << i;
    }
  }
  leaks.check();
}

// What a pthread_atfork handler saw: the threads of this process at each fork(2), while armed.
struct ForkRecord {
  std::mutex mutex;
  bool armed = false;
  std::vector<int> threads_at_fork;
};
ForkRecord fork_record;

void record_threads_at_fork() {
  std::lock_guard lock(fork_record.mutex);
  if (fork_record.armed) fork_record.threads_at_fork.push_back(threads_of_this_process());
}

// What a pool forks from its caller's process as it starts (the forkserver's zygote, the fork
// method's first workers) is forked before the pool has a thread of its own: from a
// single-threaded caller it copies a single-threaded process, with no other thread's lock
// held in the copy. (fork(2) runs pthread_atfork handlers; the zygote's clones do not.)
TEST(PoolStartTest, ForksAtStartCopyNoThreadOfThePool) {
  static const int registered = ::pthread_atfork(record_threads_at_fork, nullptr, nullptr);
  ASSERT_EQ(registered, 0);
  ASSERT_EQ(::gettid(), ::getpid()) << "the test must run on the main thread";
  const std::vector<std::pair<StartMethod, std::size_t>> forks_at_start = {
      {StartMethod::kForkserver, 1}, {StartMethod::kFork, 2}};
  for (const auto& [method, forks] : forks_at_start) {
    SCOPED_TRACE(to_string(method));
    LeakCheck leaks;
    const int threads_before = threads_of_this_process();
    ASSERT_GT(threads_before, 0);
    {
      {
        std::lock_guard lock(fork_record.mutex);
        fork_record.armed = true;
        fork_record.threads_at_fork.clear();
      }
      Pool pool({.workers = 2, .start_method = method});
      std::vector<int> seen;
      {
        std::lock_guard lock(fork_record.mutex);
        fork_record.armed = false;
        seen = fork_record.threads_at_fork;
      }
      EXPECT_EQ(seen, std::vector<int>(forks, threads_before));
      EXPECT_EQ(get_within_deadline(pool.submit(identity_task, 5)), 5);
    }
    leaks.check();
  }
}

INSTANTIATE_TEST_SUITE_P(AllStartMethods, PoolTest, ::testing::ValuesIn(all_start_cases(2)),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace forkpool::testing
