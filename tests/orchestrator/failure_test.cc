// Worker deaths, crash loops, oversized messages and parent death, for every start method.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "io/blocking_reader.h"
#include "io/frame_writer.h"
#include "io/pipe.h"
#include "io/syscalls.h"
#include "orchestrator/test_tasks.h"
#include "support/child_process.h"
#include "support/leak_check.h"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;
constexpr auto kDeadline = 60s;  // only detects hangs

// One way for a worker to die while running a task, and the status it must be reported with.
struct Death {
  std::string name;
  std::function<Future<int>(Pool&)> cause;
  ExitStatus expected;
};

std::vector<Death> deaths() {
  return {
      {"abort", [](Pool& p) { return p.submit(die_by_abort_task, 0); },
       ExitStatus::signaled(SIGABRT, false)},
      {"sigsegv", [](Pool& p) { return p.submit(die_by_sigsegv_task, 0); },
       ExitStatus::signaled(SIGSEGV, false)},
      {"exit3", [](Pool& p) { return p.submit(die_by_exit_task, 3); }, ExitStatus::exited(3)},
      {"sigkill_from_outside",
       [](Pool& p) {
         // The task only announces itself and then hangs, so the gate may go once it has.
         Gate gate;
         auto f = p.submit(hang_forever_task, gate.dir());
         const pid_t pid = gate.wait_entered();
         ::kill(pid, SIGKILL);
         return f;
       },
       ExitStatus::signaled(SIGKILL, false)},
  };
}

struct DeathCase {
  StartCase start;
  Death death;
};

void PrintTo(const DeathCase& c, std::ostream* out) { *out << c.start.name << "/" << c.death.name; }

std::vector<DeathCase> death_cases() {
  std::vector<DeathCase> cases;
  for (const StartCase& s : all_start_cases(2)) {
    for (const Death& d : deaths()) cases.push_back({s, d});
  }
  return cases;
}

class WorkerDeathTest : public ::testing::TestWithParam<DeathCase> {};

TEST_P(WorkerDeathTest, FailsOnlyThatTaskAndThePoolGoesOn) {
  LeakCheck leaks;
  {
    Pool pool(GetParam().start.options);
    // A task that is running elsewhere when the worker dies must be untouched.
    Gate bystander_gate;
    auto bystander = pool.submit(gated_task, bystander_gate.dir());
    const pid_t bystander_pid = bystander_gate.wait_entered();

    auto victim = GetParam().death.cause(pool);
    ASSERT_TRUE(victim.wait_for(kDeadline));
    try {
      victim.get();
      FAIL() << "expected WorkerDied";
    } catch (const WorkerDied& e) {
      EXPECT_EQ(e.status, GetParam().death.expected) << e.status.str();
      EXPECT_NE(e.pid, bystander_pid);
      EXPECT_GT(e.task_id, 0u);
      EXPECT_NE(std::string(e.what()).find(e.status.str()), std::string::npos);
    }
    bystander_gate.release();
    EXPECT_EQ(bystander.get(), bystander_pid);

    std::vector<Future<int>> more;
    for (int i = 0; i < 100; ++i) more.push_back(pool.submit(identity_task, i));
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(more[i].wait_for(kDeadline));
      EXPECT_EQ(more[i].get(), i);
    }
    EXPECT_EQ(pool.stats().worker_deaths, 1u);
    EXPECT_EQ(pool.worker_pids().size(), 2u);
  }
  leaks.check();
}

INSTANTIATE_TEST_SUITE_P(AllStartMethods, WorkerDeathTest, ::testing::ValuesIn(death_cases()),
                         [](const auto& info) {
                           return info.param.start.name + "_" + info.param.death.name;
                         });

class PoolFailureTest : public ::testing::TestWithParam<StartCase> {
 protected:
  LeakCheck leaks_;
};

TEST_P(PoolFailureTest, CrashLoopStopsRespawningWithAClearError) {
  {
    Options o = GetParam().options;
    o.workers = 1;
    o.crash_loop = {.deaths = 3, .window = 60s};
    Pool pool(o);
    std::vector<Future<int>> futures;
    for (int i = 0; i < 3; ++i) futures.push_back(pool.submit(die_by_exit_task, 9));
    for (auto& f : futures) {
      ASSERT_TRUE(f.wait_for(kDeadline));
      EXPECT_THROW(f.get(), WorkerDied);
    }
    try {
      pool.submit(identity_task, 1);
      FAIL() << "expected PoolBroken";
    } catch (const PoolBroken& e) {
      EXPECT_NE(std::string(e.what()).find("3 times in a row"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("exited with code 9"), std::string::npos) << e.what();
    }
    EXPECT_EQ(pool.stats().worker_deaths, 3u);
  }
  leaks_.check();
}

TEST_P(PoolFailureTest, AnArgumentLargerThanMaxFrameFailsOnlyItsTask) {
  {
    Options o = GetParam().options;
    o.max_frame = 4096;
    Pool pool(o);
    auto too_big = pool.submit(echo_string_task, std::string(8192, 'x'));
    ASSERT_TRUE(too_big.ready());
    EXPECT_THROW(too_big.get(), MessageTooLarge);
    EXPECT_EQ(pool.submit(echo_string_task, std::string(100, 'y')).get(), std::string(100, 'y'));
  }
  leaks_.check();
}

TEST_P(PoolFailureTest, AResultLargerThanMaxFrameFailsOnlyItsTask) {
  {
    Options o = GetParam().options;
    o.max_frame = 1 << 20;
    Pool pool(o);
    auto too_big = pool.submit(patterned_bytes_task, 2);
    ASSERT_TRUE(too_big.wait_for(kDeadline));
    try {
      too_big.get();
      FAIL() << "expected MessageTooLarge";
    } catch (const MessageTooLarge& e) {
      // The worker's figures, carried back: 2 MiB of vector plus its 8-byte length.
      EXPECT_EQ(e.size, (std::size_t{2} << 20) + 8);
      EXPECT_EQ(e.max, std::size_t{1} << 20);
    }
    EXPECT_EQ(pool.submit(identity_task, 3).get(), 3);
    EXPECT_EQ(pool.stats().worker_deaths, 0u);
  }
  leaks_.check();
}

TEST_P(PoolFailureTest, UnregisteredFunctionIsAClearError) {
  {
    Pool pool(GetParam().options);
    EXPECT_THROW(pool.submit(
                     +[](int x) { return x; }, 1),
                 UnknownTask);
  }
  leaks_.check();
}

TEST_P(PoolFailureTest, DestructorWithQueuedWorkFinishesIt) {
  std::vector<Future<int>> futures;
  {
    Pool pool(GetParam().options);
    for (int i = 0; i < 50; ++i) futures.push_back(pool.submit(identity_task, i));
  }
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(futures[i].ready());
    EXPECT_EQ(futures[i].get(), i);
  }
  leaks_.check();
}

// A helper process that owns a pool is killed with SIGKILL: no worker may outlive it.
TEST_P(PoolFailureTest, WorkersDieWithTheirParent) {
  io::Pipe report = io::Pipe::create();
  const pid_t owner = ::fork();
  ASSERT_GE(owner, 0);
  if (owner == 0) {
    Pool pool(GetParam().options);
    for (int i = 0; i < 2; ++i) pool.submit(identity_task, i).get();  // the workers are up
    std::vector<pid_t> pids = pool.worker_pids();
    pids.resize(2, 0);
    io::FrameWriter(report.write)
        .write_frame(0, 0, 0,
                     std::span<const char>(reinterpret_cast<const char*>(pids.data()),
                                           pids.size() * sizeof(pid_t)));
    for (;;) ::pause();  // killed by the test
  }
  report.write.reset();
  auto frame = io::BlockingReader(report.read).read_frame();
  ASSERT_TRUE(frame.has_value());
  ASSERT_EQ(frame->payload.size(), 2 * sizeof(pid_t));
  pid_t workers[2];
  std::memcpy(workers, frame->payload.data(), sizeof workers);
  // Hold a pidfd on each worker before the owner dies, so a recycled pid cannot fool us.
  std::vector<io::Fd> pidfds;
  for (pid_t pid : workers) {
    ASSERT_GT(pid, 0);
    pidfds.emplace_back(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    ASSERT_TRUE(pidfds.back().valid()) << "worker " << pid << " is already gone";
  }
  ::kill(owner, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(owner, &status, 0), owner);
  for (const io::Fd& pidfd : pidfds) {
    EXPECT_NE(io::poll_one(pidfd.get(), POLLIN, std::chrono::milliseconds(kDeadline)), 0)
        << "a worker outlived its parent";
  }
}

// Waits until the kernel has released the ended thread `tid` of this process; by then its end
// has signalled whatever it set off (PR_SET_PDEATHSIG of the processes it forked). join()
// returns earlier, once the thread has stopped running.
void wait_until_released(pid_t tid) {
  const std::string task = "/proc/self/task/" + std::to_string(tid);
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (::access(task.c_str(), F_OK) == 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "thread " << tid << " never ended";
    std::this_thread::yield();
  }
}

pid_t worker_pid_from(Pool& pool) {
  auto f = pool.submit(worker_pid_task);
  EXPECT_TRUE(f.wait_for(kDeadline)) << "the future did not settle: hang";
  return f.get();
}

// The thread that makes a pool may end long before the pool does. PR_SET_PDEATHSIG kills a
// worker when the thread that forked it (or its zygote) ends, not the process, so workers must
// be started by a thread that lives as long as the pool.
TEST_P(PoolFailureTest, WorkersOutliveTheThreadThatMadeThePool) {
  {
    Options o = GetParam().options;
    o.workers = 1;
    std::unique_ptr<Pool> pool;
    pid_t maker = 0;
    pid_t worker = 0;
    std::thread([&] {
      maker = ::gettid();
      pool = std::make_unique<Pool>(o);
      worker = worker_pid_from(*pool);
    }).join();
    wait_until_released(maker);
    ASSERT_GT(worker, 0);
    // A worker killed by the thread's end could not answer this.
    EXPECT_EQ(worker_pid_from(*pool), worker);
    EXPECT_EQ(pool->stats().worker_deaths, 0u);
    EXPECT_EQ(pool->stats().workers_started, 1u);
  }
  leaks_.check();
}

INSTANTIATE_TEST_SUITE_P(AllStartMethods, PoolFailureTest, ::testing::ValuesIn(all_start_cases(2)),
                         [](const auto& info) { return info.param.name; });

// A pool that cannot start workers breaks on its own time, maybe before the test's submit()
// runs: then submit() throws PoolBroken, otherwise the future fails with it. Either way, the
// message; "" if nothing failed.
std::string broken_message(Pool& pool) {
  try {
    auto f = pool.submit(identity_task, 1);
    if (!f.wait_for(kDeadline)) return "the future never settled";
    f.get();
  } catch (const PoolBroken& e) {
    return e.what();
  }
  return "";
}

TEST(PoolFailure, SpawnOfAProgramThatIsNoWorkerBreaksThePool) {
  LeakCheck leaks;
  {
    Pool pool({.workers = 1,
               .start_method = StartMethod::kSpawn,
               .worker_executable = "/bin/true",
               .crash_loop = {.deaths = 3, .window = 60s}});
    const std::string what = broken_message(pool);
    EXPECT_NE(what.find("before its handshake"), std::string::npos) << what;
    EXPECT_NE(what.find("/bin/true"), std::string::npos) << what;
    EXPECT_THROW(pool.submit(identity_task, 2), PoolBroken);
  }
  leaks.check();
}

TEST(PoolFailure, SpawnOfAMissingProgramBreaksThePool) {
  LeakCheck leaks;
  {
    Pool pool({.workers = 1,
               .start_method = StartMethod::kSpawn,
               .worker_executable = "/nonexistent/forkpool-worker"});
    const std::string what = broken_message(pool);
    EXPECT_NE(what.find("/nonexistent/forkpool-worker"), std::string::npos) << what;
  }
  leaks.check();
}

// Makes every fork of this process fail with EAGAIN, as a process limit would, while threads
// still start (CLONE_THREAD, or clone3, which glibc's fork does not use). A seccomp filter is
// for ever: for a helper process only. No architecture check: nothing here runs a foreign ABI.
bool forbid_forks() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0])),  // flags, low half
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EAGAIN),
  };
  sock_fprog program{static_cast<unsigned short>(std::size(filter)), filter};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

// A forkserver pool whose zygote cannot be forked breaks with the reason, made on the main
// thread (which forks the zygote itself) or on another (whose collector does), and leaves no
// process and no thread behind.
TEST(PoolFailure, AZygoteThatCannotBeForkedBreaksThePool) {
  LeakCheck leaks;
  {
    io::Pipe report = io::Pipe::create();
    // This process is single-threaded here, as fork_child requires.
    ForkedChild helper = fork_child([&] {
      report.read.reset();
      if (!forbid_forks()) return 2;
      std::string lines;
      // A sanitizer may have threads of its own, some started with the first thread.
      std::thread([] {}).join();
      const int threads_before = threads_of_this_process();
      for (const bool on_main_thread : {true, false}) {
        std::unique_ptr<Pool> pool;
        const auto make = [&] {
          pool = std::make_unique<Pool>(Options{.workers = 1});  // forkserver, the default
        };
        if (on_main_thread) {
          make();
        } else {
          std::thread(make).join();
        }
        lines += broken_message(*pool);
        pool.reset();
        lines += " | children: " + children_left() +
                 " | threads left: " + std::to_string(threads_of_this_process() - threads_before) +
                 "\n";
      }
      io::FrameWriter(report.write).write_frame(0, 0, 0, std::span<const char>(lines));
      return 0;
    });
    report.write.reset();
    auto frame = io::BlockingReader(report.read).read_frame();
    EXPECT_EQ(helper.wait(), ExitStatus::exited(0));
    ASSERT_TRUE(frame.has_value());
    const std::string each =
        "pool broken: cannot start workers: fork: Resource temporarily unavailable | children:  | "
        "threads left: 0\n";
    EXPECT_EQ(std::string(frame->payload.begin(), frame->payload.end()), each + each);
  }
  leaks.check();
}

// A launcher that starts but never speaks (an ssh stuck at a password prompt; here, sleep):
// each try is killed at the handshake timeout, and after `start_failures` of them in a row
// the pool gives up with one clear error instead of waiting, and close() returns.
TEST(PoolFailure, AWorkerThatNeverSaysHelloIsGivenUpOn) {
  LeakCheck leaks;
  {
    Pool pool({.workers = 1,
               .worker_command = {"/bin/sleep", "1000"},
               .handshake_timeout = 200ms,
               .crash_loop = {.start_failures = 2}});
    const std::string what = broken_message(pool);
    EXPECT_NE(what.find("2 workers in a row failed to start"), std::string::npos) << what;
    EXPECT_NE(what.find("it said no Hello within 200 ms"), std::string::npos) << what;
    EXPECT_NE(what.find("SIGKILL"), std::string::npos) << what;
    EXPECT_NE(what.find("/bin/sleep"), std::string::npos) << what;
    EXPECT_EQ(pool.stats().worker_deaths, 2u);
    EXPECT_EQ(pool.stats().workers_started, 2u);
    EXPECT_THROW(pool.submit(identity_task, 2), PoolBroken);
    pool.close();
  }
  leaks.check();
}

// The handshake timeout bounds only the wait for Hello: a task may run far longer.
TEST(PoolFailure, TheHandshakeTimeoutDoesNotLimitTasks) {
  LeakCheck leaks;
  {
    // Long enough for a start on a loaded machine under a sanitizer.
    Pool pool({.workers = 1, .handshake_timeout = 1500ms});
    Gate gate;
    auto f = pool.submit(gated_task, gate.dir());
    const pid_t pid = gate.wait_entered();
    // The handshake timeout passes while the task runs; if it applied to a ready worker, the
    // worker would be killed meanwhile and the task would fail with WorkerDied.
    std::this_thread::sleep_for(2s);
    gate.release();
    ASSERT_TRUE(f.wait_for(kDeadline));
    EXPECT_EQ(f.get(), pid);
    EXPECT_EQ(pool.stats().worker_deaths, 0u);
    EXPECT_EQ(pool.stats().workers_started, 1u);
  }
  leaks.check();
}

// The longest timeouts mean "never", not an overflow into the past: a worker is not killed
// at once for a handshake deadline that wrapped around, and close() still returns.
TEST(PoolFailure, TheLongestTimeoutsMeanNever) {
  LeakCheck leaks;
  {
    Pool pool({.workers = 1,
               .handshake_timeout = std::chrono::milliseconds::max(),
               .shutdown_grace = std::chrono::milliseconds::max()});
    auto f = pool.submit(identity_task, 5);
    ASSERT_TRUE(f.wait_for(kDeadline));
    EXPECT_EQ(f.get(), 5);
    EXPECT_EQ(pool.stats().worker_deaths, 0u);
    pool.close();
  }
  leaks.check();
}

}  // namespace
}  // namespace forkpool::testing
