// Dispatch: a task frame is written without the pool's mutex, so a worker that takes in a big
// argument slowly (here: not at all, stopped with SIGSTOP) stalls no other worker's results,
// whether a submitter writes the frame or the collector dispatches it (a retry).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "orchestrator/start_case_test.h"
#include "support/files.h"
#include "support/gate.h"

namespace forkpool::testing {

inline std::uint64_t byte_count(std::vector<char> bytes) { return bytes.size(); }
// The first attempt (no marker file yet) makes the marker and kills its worker; a retry counts.
inline std::uint64_t byte_count_dying_once(std::string marker, std::vector<char> bytes) {
  if (::access(marker.c_str(), F_OK) != 0) {
    write_file(marker, "");
    ::_exit(1);
  }
  return bytes.size();
}
FORKPOOL_TASK(byte_count_task, byte_count);
FORKPOOL_TASK(byte_count_dying_once_task, byte_count_dying_once);

namespace {

constexpr std::size_t kBig = std::size_t{64} << 20;

// Stops a worker for the length of a scope (SIGSTOP, then SIGCONT): it reads nothing from its
// pipe meanwhile, so a big frame written to it cannot be finished. A watchdog continues it
// after the hang-detecting deadline, so that a pool that stalls fails its assertions instead
// of hanging.
class StoppedWorker {
 public:
  explicit StoppedWorker(pid_t pid) : pid_(pid) {
    EXPECT_EQ(::kill(pid_, SIGSTOP), 0);
    watchdog_ = std::thread([this] {
      std::unique_lock lock(mutex_);
      if (!done_.wait_for(lock, kDeadline, [this] { return continued_; })) {
        ADD_FAILURE() << "the test hung with worker " << pid_ << " stopped";
        ::kill(pid_, SIGCONT);
      }
    });
  }
  ~StoppedWorker() {
    resume();
    watchdog_.join();
  }
  void resume() {
    std::lock_guard lock(mutex_);
    if (continued_) return;
    continued_ = true;
    ::kill(pid_, SIGCONT);
    done_.notify_all();
  }

 private:
  const pid_t pid_;
  std::mutex mutex_;
  std::condition_variable done_;
  bool continued_ = false;
  std::thread watchdog_;
};

// Waits for a condition that an event in the pool makes true; fails after the deadline.
template <typename Condition>
bool eventually(Condition condition) {
  const auto until = std::chrono::steady_clock::now() + kDeadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::yield();
  }
  return true;
}

// Runs one task on each of the pool's two workers at once, so both are known to be ready;
// returns their pids, the one released last (the most recently idle) second.
std::pair<pid_t, pid_t> both_workers_ready(Pool& pool) {
  Gate first, second;
  auto f1 = pool.submit(gated_task, first.dir());
  auto f2 = pool.submit(gated_task, second.dir());
  const pid_t a = first.wait_entered();
  const pid_t b = second.wait_entered();
  second.release();
  EXPECT_EQ(get_within_deadline(f2), b);
  first.release();
  EXPECT_EQ(get_within_deadline(f1), a);
  return {b, a};
}

class DispatchTest : public StartCaseTest {
 protected:
  Options big_frame_options() const {
    Options o = options(2);
    o.stall_timeout = std::chrono::minutes(10);  // the stopped worker is not given up on
    o.max_frame = 2 * kBig;                      // room for the argument and its encoding
    return o;
  }
};

TEST_P(DispatchTest, ABigArgumentASubmitterWritesStallsNoOtherResult) {
  {
    Pool pool(big_frame_options());
    const auto [idle_first, busy] = both_workers_ready(pool);
    Gate gate;
    auto running = pool.submit(gated_task, gate.dir());  // the most recently idle: `busy`
    ASSERT_EQ(gate.wait_entered(), busy);
    StoppedWorker stopped(idle_first);
    const std::uint64_t submitted = pool.stats().submitted;

    // The submitter claims the one idle worker and writes its frame, which never finishes
    // while that worker is stopped: submit() does not return meanwhile.
    std::atomic<bool> submit_returned{false};
    Future<std::uint64_t> big;
    std::thread submitter([&] {
      big = pool.submit(byte_count_task, std::vector<char>(kBig, 'x'));
      submit_returned = true;
    });
    ASSERT_TRUE(eventually([&] { return pool.stats().submitted == submitted + 1; }));

    // Meanwhile the other worker's result comes in, and it runs more tasks.
    gate.release();
    EXPECT_EQ(get_within_deadline(running), busy);
    for (int i = 0; i < 20; ++i) {
      EXPECT_EQ(get_within_deadline(pool.submit(worker_pid_task)), busy);
    }
    EXPECT_FALSE(submit_returned) << "the big frame was written while its worker was stopped";

    stopped.resume();
    submitter.join();
    EXPECT_EQ(get_within_deadline(big), kBig);
  }
  leaks_.check();
}

TEST_P(DispatchTest, ABigArgumentTheCollectorDispatchesStallsNoOtherResult) {
  TempDir dir;
  {
    Options o = big_frame_options();
    o.retries = 1;
    Pool pool(o);
    const auto [stays_idle, last_idle] = both_workers_ready(pool);
    StoppedWorker stopped(stays_idle);
    // The most recently idle worker takes the task, dies of it, and the collector sends the
    // retry to the one idle worker left: the stopped one.
    auto big =
        pool.submit(byte_count_dying_once_task, dir / "marker", std::vector<char>(kBig, 'x'));
    ASSERT_TRUE(eventually([&] { return pool.stats().retried == 1; }));
    ASSERT_TRUE(eventually([&] { return big.status() == FutureStatus::kRunning; }));

    // The replacement for the worker that died serves other tasks meanwhile.
    for (int i = 0; i < 20; ++i) {
      const pid_t pid = get_within_deadline(pool.submit(worker_pid_task));
      EXPECT_NE(pid, stays_idle);
      EXPECT_NE(pid, last_idle);
    }
    EXPECT_FALSE(big.ready()) << "the retry ran while its worker was stopped";

    stopped.resume();
    EXPECT_EQ(get_within_deadline(big), kBig);
    EXPECT_EQ(pool.stats().worker_deaths, 1u);
  }
  leaks_.check();
}

INSTANTIATE_TEST_SUITE_P(AllStartMethods, DispatchTest, ::testing::ValuesIn(all_start_cases(2)),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace forkpool::testing
