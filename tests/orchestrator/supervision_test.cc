// Supervision: timeouts, cancellation, retries, recycling, idle retirement, backpressure,
// initializers and late replies.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "io/fd.h"
#include "io/syscalls.h"
#include "orchestrator/fault_tasks.h"
#include "support/files.h"
#include "support/leak_check.h"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;
constexpr auto kDeadline = 60s;  // only detects hangs

bool file_exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// Waits until process `pid` has ended (a pidfd becomes readable when it exits).
bool wait_gone(const io::Fd& pidfd) {
  return io::poll_one(pidfd.get(), POLLIN, std::chrono::milliseconds(kDeadline)) != 0;
}
io::Fd pidfd_of(pid_t pid) { return io::Fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))); }

// Warms the pool up so that it measures tasks as short and pipelines them.
void measure_short_tasks(Pool& pool) {
  for (int i = 0; i < 40; ++i) ASSERT_EQ(pool.submit(identity_task, i).get(), i);
}

class Supervision : public ::testing::TestWithParam<StartCase> {
 protected:
  Options options(unsigned workers) {
    Options o = GetParam().options;
    o.workers = workers;
    return o;
  }
  LeakCheck leaks_;
  TempDir dir_;
};

TEST_P(Supervision, ATimeoutStopsAWorkerThatIgnoresSigtermWithSigkill) {
  {
    Options o = options(1);
    o.task_timeout = 200ms;
    o.kill_grace = 300ms;
    Pool pool(o);
    Gate gate;
    auto f = pool.submit(ignore_sigterm_forever_task, gate.dir());
    const pid_t victim = gate.wait_entered();
    io::Fd victim_fd = pidfd_of(victim);
    ASSERT_TRUE(victim_fd.valid());
    ASSERT_TRUE(f.wait_for(kDeadline));
    EXPECT_THROW(f.get(), TaskTimeout);
    ASSERT_TRUE(wait_gone(victim_fd)) << "SIGTERM is ignored: only SIGKILL can have ended it";
    // The pool timeout applies to every task, but a quick one is well inside it.
    EXPECT_EQ(pool.submit(identity_task, 5).get(), 5);
    const PoolStats stats = pool.stats();
    EXPECT_EQ(stats.timed_out, 1u);
    EXPECT_EQ(stats.workers_stopped, 1u);
    EXPECT_EQ(stats.worker_deaths, 0u) << "a worker the pool stopped is no crash";
  }
  leaks_.check();
}

TEST_P(Supervision, TasksWaitingBehindATimedOutTaskRunElsewhere) {
  {
    Pool pool(options(1));
    measure_short_tasks(pool);
    Gate gate;
    auto hung = pool.submit(TaskOptions{.timeout = 300ms}, hang_forever_task, gate.dir());
    // Short tasks now wait in the hung worker's pipe (pipelined) or in the pool.
    std::vector<Future<int>> behind;
    for (int i = 0; i < 3; ++i) behind.push_back(pool.submit(identity_task, 100 + i));
    gate.wait_entered();
    EXPECT_THROW(hung.get(), TaskTimeout);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(behind[i].get(), 100 + i);
  }
  leaks_.check();
}

TEST_P(Supervision, ALateReplyAfterATimeoutIsDropped) {
  {
    Options o = options(1);
    o.kill_grace = 10s;  // the worker outlives its timeout long enough to answer
    Pool pool(o);
    Gate gate;
    auto f = pool.submit(TaskOptions{.timeout = 200ms}, ignore_sigterm_gated_task, gate.dir(), 42);
    gate.wait_entered();
    ASSERT_TRUE(f.wait_for(kDeadline));
    EXPECT_THROW(f.get(), TaskTimeout);
    const std::uint64_t completed = pool.stats().completed;
    gate.release();  // now it answers 42, too late
    // Another worker runs new tasks meanwhile.
    EXPECT_EQ(pool.submit(identity_task, 7).get(), 7);
    pool.close();  // waits for the stopped worker's answer or its end
    EXPECT_THROW(f.get(), TaskTimeout) << "a late reply resolved a settled future";
    EXPECT_EQ(f.status(), FutureStatus::kError);
    EXPECT_EQ(pool.stats().completed, completed + 1);
  }
  leaks_.check();
}

TEST_P(Supervision, CancellingAQueuedTaskMeansItNeverRuns) {
  {
    Options o = options(1);
    o.pipeline_depth = 1;  // queued tasks wait in the pool
    Pool pool(o);
    Gate gate;
    auto busy = pool.submit(gated_task, gate.dir());
    const pid_t worker = gate.wait_entered();
    const std::string marker = dir_.path() + "/ran";
    auto queued = pool.submit(touch_task, marker);
    EXPECT_EQ(queued.status(), FutureStatus::kPending);
    EXPECT_TRUE(queued.cancel());
    EXPECT_EQ(queued.status(), FutureStatus::kCancelled);
    try {
      queued.get();
      FAIL() << "expected TaskCancelled";
    } catch (const TaskCancelled& e) {
      EXPECT_FALSE(e.was_running);
      EXPECT_EQ(e.task_name, "touch_task");
    }
    gate.release();
    EXPECT_EQ(busy.get(), worker);
    EXPECT_EQ(pool.submit(worker_pid_task).get(), worker) << "the worker was not disturbed";
    EXPECT_FALSE(file_exists(marker)) << "the cancelled task ran";
    EXPECT_EQ(pool.stats().cancelled, 1u);
  }
  leaks_.check();
}

TEST_P(Supervision, ACancelledTaskThatPollsCancelledReturnsAndKeepsItsWorker) {
  {
    Pool pool(options(1));
    Gate gate;
    const std::string marker = dir_.path() + "/saw-cancel";
    auto f = pool.submit(until_cancelled_task, gate.dir(), marker);
    const pid_t worker = gate.wait_entered();
    EXPECT_TRUE(f.cancel());
    try {
      f.get();
      FAIL() << "expected TaskCancelled";
    } catch (const TaskCancelled& e) {
      EXPECT_TRUE(e.was_running);
    }
    // The same worker runs the next task, after the cancelled one returned.
    EXPECT_EQ(pool.submit(worker_pid_task).get(), worker);
    EXPECT_TRUE(file_exists(marker)) << "the task never saw this_task::cancelled()";
    EXPECT_EQ(pool.stats().workers_stopped, 0u);
  }
  leaks_.check();
}

TEST_P(Supervision, ACancelledTaskThatIgnoresItHasItsWorkerStopped) {
  {
    Options o = options(1);
    o.cancel_grace = 100ms;
    o.kill_grace = 200ms;
    Pool pool(o);
    Gate gate;
    auto f = pool.submit(ignore_sigterm_forever_task, gate.dir());
    const pid_t worker = gate.wait_entered();
    io::Fd worker_fd = pidfd_of(worker);
    EXPECT_TRUE(f.cancel());
    EXPECT_THROW(f.get(), TaskCancelled);
    ASSERT_TRUE(wait_gone(worker_fd));
    EXPECT_NE(pool.submit(worker_pid_task).get(), worker);
    EXPECT_EQ(pool.stats().workers_stopped, 1u);
    EXPECT_EQ(pool.stats().worker_deaths, 0u);
  }
  leaks_.check();
}

TEST_P(Supervision, CancellingATaskWaitingInAWorkersPipeDropsItThere) {
  {
    Pool pool(options(1));
    measure_short_tasks(pool);  // now a task is pipelined behind a running one
    Gate gate;
    auto running = pool.submit(gated_task, gate.dir());
    const pid_t worker = gate.wait_entered();
    const std::string marker = dir_.path() + "/ran";
    auto waiting = pool.submit(touch_task, marker);
    EXPECT_TRUE(waiting.cancel());
    EXPECT_THROW(waiting.get(), TaskCancelled);
    gate.release();
    EXPECT_EQ(running.get(), worker);
    EXPECT_EQ(pool.submit(worker_pid_task).get(), worker) << "the worker was not disturbed";
    EXPECT_FALSE(file_exists(marker)) << "the cancelled task ran";
    EXPECT_EQ(pool.stats().workers_stopped, 0u);
  }
  leaks_.check();
}

TEST_P(Supervision, AnOnReadyCallbackMayCancelAnotherTask) {
  {
    Options o = options(1);
    o.pipeline_depth = 1;
    Pool pool(o);
    Gate gate;
    auto busy = pool.submit(gated_task, gate.dir());
    const pid_t worker = gate.wait_entered();
    auto first = pool.submit(identity_task, 1);
    auto second = pool.submit(identity_task, 2);
    bool second_cancelled = false;
    first.on_ready([&] { second_cancelled = second.cancel(); });  // runs inside first.cancel()
    EXPECT_TRUE(first.cancel());
    EXPECT_TRUE(second_cancelled);
    EXPECT_EQ(second.status(), FutureStatus::kCancelled);
    gate.release();
    EXPECT_EQ(busy.get(), worker);
  }
  leaks_.check();
}

TEST_P(Supervision, CancelAllCancelsRunningAndQueuedTasksAndThePoolGoesOn) {
  {
    Options o = options(2);
    o.cancel_grace = 100ms;
    o.kill_grace = 200ms;
    Pool pool(o);
    Gate gates[2];  // one each: a gate's wait_entered() may lose a second task's entry
    std::vector<Future<int>> futures;
    for (int i = 0; i < 2; ++i) futures.push_back(pool.submit(hang_forever_task, gates[i].dir()));
    gates[0].wait_entered();
    gates[1].wait_entered();
    for (int i = 0; i < 5; ++i) futures.push_back(pool.submit(identity_task, i));
    EXPECT_EQ(pool.cancel_all(), 7u);
    for (auto& f : futures) EXPECT_THROW(f.get(), TaskCancelled);
    EXPECT_EQ(pool.cancel_all(), 0u);
    EXPECT_EQ(pool.submit(identity_task, 9).get(), 9);
  }
  leaks_.check();
}

TEST_P(Supervision, RetriesRunAFailingTaskAgainUntilItSucceeds) {
  {
    Options o = options(1);
    o.retries = 2;
    Pool pool(o);
    EXPECT_EQ(pool.submit(fail_first_task, dir_.path() + "/throws", 2, 0).get(), 3);
    EXPECT_EQ(pool.submit(fail_first_task, dir_.path() + "/dies", 2, 1).get(), 3);
    EXPECT_EQ(pool.stats().retried, 4u);
    EXPECT_EQ(pool.stats().failed, 0u);
  }
  leaks_.check();
}

TEST_P(Supervision, TheFinalErrorKeepsEveryAttemptsReason) {
  {
    Pool pool(options(1));
    auto f = pool.submit(TaskOptions{.retries = 1}, fail_first_task, dir_.path() + "/c", 5, 0);
    try {
      f.get();
      FAIL() << "expected RemoteError";
    } catch (const RemoteError& e) {
      EXPECT_EQ(e.message, "attempt 2 fails");
      ASSERT_EQ(e.earlier_attempts().size(), 1u);
      EXPECT_NE(e.earlier_attempts()[0].find("attempt 1 fails"), std::string::npos);
      EXPECT_NE(std::string(e.what()).find("the last of 2 attempts"), std::string::npos)
          << e.what();
    }
    // A task that dies is retried too, with WorkerDied as the reason.
    auto g = pool.submit(TaskOptions{.retries = 1}, fail_first_task, dir_.path() + "/d", 5, 1);
    try {
      g.get();
      FAIL() << "expected WorkerDied";
    } catch (const WorkerDied& e) {
      EXPECT_EQ(e.status, ExitStatus::exited(3));
      ASSERT_EQ(e.earlier_attempts().size(), 1u);
      EXPECT_NE(e.earlier_attempts()[0].find("exited with code 3"), std::string::npos);
    }
    // Without retries, one attempt.
    EXPECT_THROW(pool.submit(fail_first_task, dir_.path() + "/e", 5, 0).get(), RemoteError);
    EXPECT_EQ(read_file(dir_.path() + "/e"), "x");
  }
  leaks_.check();
}

TEST_P(Supervision, WorkersAreRecycledAfterMaxTasks) {
  {
    Options o = options(2);
    o.max_tasks_per_worker = 3;
    Pool pool(o);
    std::vector<Future<pid_t>> futures;
    for (int i = 0; i < 30; ++i) futures.push_back(pool.submit(worker_pid_task));
    std::map<pid_t, int> tasks_per_pid;
    for (auto& f : futures) ++tasks_per_pid[f.get()];
    for (const auto& [pid, n] : tasks_per_pid) EXPECT_LE(n, 3) << "worker " << pid;
    EXPECT_GE(tasks_per_pid.size(), 10u);
    const PoolStats stats = pool.stats();
    EXPECT_GE(stats.workers_recycled, 9u);
    EXPECT_EQ(stats.worker_deaths, 0u);
  }
  leaks_.check();
}

TEST_P(Supervision, IdleWorkersRetireAndTheMostRecentlyIdleIsReusedFirst) {
  {
    Options o = options(3);
    o.min_workers = 1;
    o.idle_timeout = 300ms;
    Pool pool(o);
    Gate gates[3];
    std::vector<Future<pid_t>> busy;
    pid_t pids[3];
    for (int i = 0; i < 3; ++i) {
      busy.push_back(pool.submit(gated_task, gates[i].dir()));
      pids[i] = gates[i].wait_entered();
    }
    // Idle in the order 0, 1, 2: worker 2 is the most recently idle.
    for (int i = 0; i < 3; ++i) {
      gates[i].release();
      EXPECT_EQ(busy[i].get(), pids[i]);
    }
    EXPECT_EQ(pool.submit(worker_pid_task).get(), pids[2]) << "not the most recently idle worker";
    // Workers 0 and 1 stay idle past the timeout and exit; worker 2 is the one kept.
    io::Fd gone0 = pidfd_of(pids[0]), gone1 = pidfd_of(pids[1]);
    ASSERT_TRUE(wait_gone(gone0));
    ASSERT_TRUE(wait_gone(gone1));
    EXPECT_EQ(pool.stats().workers_retired, 2u);
    EXPECT_EQ(pool.stats().worker_deaths, 0u);
    EXPECT_EQ(::kill(pids[2], 0), 0) << "the min_workers worker retired";
    // Work that needs three workers starts two again.
    Gate again[3];  // one each: a gate releases one waiter at a time
    std::vector<Future<pid_t>> three;
    for (int i = 0; i < 3; ++i) three.push_back(pool.submit(gated_task, again[i].dir()));
    std::set<pid_t> seen;
    for (int i = 0; i < 3; ++i) seen.insert(again[i].wait_entered());
    EXPECT_EQ(seen.size(), 3u);
    for (int i = 0; i < 3; ++i) again[i].release();
    for (auto& f : three) f.get();
    EXPECT_EQ(pool.stats().workers_started, 5u);
  }
  leaks_.check();
}

TEST_P(Supervision, AFullQueueFailsSubmitWithQueueFull) {
  {
    Options o = options(1);
    o.pipeline_depth = 1;
    o.queue_capacity = 2;
    o.on_full = OnFull::kFail;
    Pool pool(o);
    Gate gate;
    auto busy = pool.submit(gated_task, gate.dir());
    gate.wait_entered();
    auto a = pool.submit(identity_task, 1);
    auto b = pool.submit(identity_task, 2);
    try {
      pool.submit(identity_task, 3);
      FAIL() << "expected QueueFull";
    } catch (const QueueFull& e) {
      EXPECT_EQ(e.capacity, 2u);
    }
    gate.release();
    busy.get();
    EXPECT_EQ(a.get(), 1);
    EXPECT_EQ(b.get(), 2);
    EXPECT_EQ(pool.submit(identity_task, 4).get(), 4) << "room again";
    EXPECT_EQ(pool.stats().submitted, 4u) << "a refused task is not submitted";
  }
  leaks_.check();
}

TEST_P(Supervision, AFullQueueBlocksSubmitUntilThereIsRoom) {
  {
    Options o = options(1);
    o.pipeline_depth = 1;
    o.queue_capacity = 1;
    Pool pool(o);
    Gate gate;
    auto busy = pool.submit(gated_task, gate.dir());
    gate.wait_entered();
    auto queued = pool.submit(identity_task, 1);
    std::atomic<bool> returned{false};
    Future<int> blocked;
    std::thread submitter([&] {
      blocked = pool.submit(identity_task, 2);
      returned = true;
    });
    gate.release();  // the queue drains, the submitter gets its turn
    submitter.join();
    EXPECT_TRUE(returned);
    busy.get();
    EXPECT_EQ(queued.get(), 1);
    EXPECT_EQ(blocked.get(), 2);
  }
  leaks_.check();
}

TEST_P(Supervision, ABlockedSubmitterIsWokenByTerminate) {
  {
    Options o = options(1);
    o.pipeline_depth = 1;
    o.queue_capacity = 1;
    Pool pool(o);
    Gate gate;
    auto busy = pool.submit(hang_forever_task, gate.dir());
    gate.wait_entered();
    auto queued = pool.submit(identity_task, 1);
    std::atomic<bool> closed{false};
    std::thread submitter([&] {
      try {
        pool.submit(identity_task, 2);
      } catch (const PoolClosed&) {
        closed = true;
      }
    });
    pool.terminate();
    submitter.join();
    EXPECT_TRUE(closed);
    EXPECT_THROW(busy.get(), PoolClosed);
    EXPECT_THROW(queued.get(), PoolClosed);
  }
  leaks_.check();
}

TEST_P(Supervision, EveryWorkerRunsTheInitializerBeforeItsTasks) {
  {
    Options o = options(2);
    o.initializer = initializer(remember_task, std::string("ready"));
    o.max_tasks_per_worker = 2;  // new workers too
    Pool pool(o);
    std::vector<Future<std::string>> futures;
    for (int i = 0; i < 8; ++i) futures.push_back(pool.submit(what_was_initialized_task));
    for (auto& f : futures) EXPECT_EQ(f.get(), "ready");
  }
  leaks_.check();
}

TEST_P(Supervision, AnInitializerThatThrowsBreaksThePoolWithItsReason) {
  {
    Options o = options(1);
    o.initializer = initializer(refuse_to_start_task, std::string("no database"));
    o.crash_loop.start_failures = 2;
    Pool pool(o);
    std::string what;
    try {
      pool.submit(identity_task, 1).get();
    } catch (const PoolBroken& e) {
      what = e.what();
    }
    EXPECT_NE(what.find("initializer 'refuse_to_start_task' threw std::runtime_error: no database"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("2 workers in a row failed to start"), std::string::npos) << what;
  }
  leaks_.check();
}

INSTANTIATE_TEST_SUITE_P(AllStartMethods, Supervision, ::testing::ValuesIn(all_start_cases(2)),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace forkpool::testing
