// The fault matrix: every way a task, a worker or the caller can fail, under every start
// method. For each: the right error type and fields; a task running on another worker at the
// time is untouched; the pool serves new tasks afterwards; no descriptor and no child is left.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "forkpool/exec.h"
#include "orchestrator/fault_tasks.h"
#include "support/files.h"
#include "support/leak_check.h"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;
constexpr auto kDeadline = 60s;  // only detects hangs

// Runs `f` to its end and returns the error it failed with (null if it did not).
template <typename R>
std::exception_ptr error_of(const Future<R>& f) {
  EXPECT_TRUE(f.wait_for(kDeadline)) << "the task never settled";
  try {
    f.get();
  } catch (...) {
    return std::current_exception();
  }
  return nullptr;
}

// Rethrows `error` as E and hands it to `check`; a failure if it is anything else.
template <typename E>
void expect_error(std::exception_ptr error, const std::function<void(const E&)>& check) {
  ASSERT_TRUE(error) << "the task succeeded";
  try {
    std::rethrow_exception(error);
  } catch (const E& e) {
    check(e);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong error type " << typeid(e).name() << ": " << e.what();
  }
}

// What a fault sees of the test around it.
struct Scene {
  Pool& pool;
  pid_t bystander_pid;  // the worker busy with the bystander task
  Gate& bystander_gate;
  bool bystander_released = false;
  bool pool_closed = false;  // the fault closed the pool: it serves nothing afterwards
};

struct Fault {
  std::string name;
  std::function<void(Options&)> configure;
  std::function<void(Scene&)> run;
};

void no_change(Options&) {}

// The worker that ran the victim has been replaced: with the bystander holding one worker, a
// task that enters now runs on a third process.
void expect_worker_replaced(Pool& pool, pid_t victim_pid) {
  Gate gate;
  auto f = pool.submit(gated_task, gate.dir());
  const pid_t runner = gate.wait_entered();
  EXPECT_NE(runner, victim_pid) << "the faulty worker is still in use";
  gate.release();
  EXPECT_EQ(f.get(), runner);
}

std::vector<Fault> faults() {
  return {
      {"task_throws", no_change,
       [](Scene& s) {
         auto f = s.pool.submit(throw_custom_error_task, "boom");
         expect_error<RemoteError>(error_of(f), [&](const RemoteError& e) {
           EXPECT_EQ(e.type_name, "forkpool::testing::CustomError");
           EXPECT_EQ(e.message, "boom");
           EXPECT_EQ(e.task_name, "throw_custom_error_task");
           EXPECT_GT(e.worker_pid, 0);
           EXPECT_NE(e.worker_pid, s.bystander_pid);
         });
         EXPECT_EQ(s.pool.stats().worker_deaths, 0u);
       }},
      {"abort", no_change,
       [](Scene& s) {
         auto f = s.pool.submit(die_by_abort_task, 0);
         expect_error<WorkerDied>(error_of(f), [&](const WorkerDied& e) {
           EXPECT_EQ(e.status, ExitStatus::signaled(SIGABRT, false));
           EXPECT_EQ(e.task_name, "die_by_abort_task");
           EXPECT_NE(e.pid, s.bystander_pid);
         });
       }},
      {"sigsegv", no_change,
       [](Scene& s) {
         auto f = s.pool.submit(die_by_sigsegv_task, 0);
         expect_error<WorkerDied>(error_of(f), [&](const WorkerDied& e) {
           EXPECT_EQ(e.status, ExitStatus::signaled(SIGSEGV, false));
           EXPECT_NE(e.pid, s.bystander_pid);
         });
       }},
      {"exit7", no_change,
       [](Scene& s) {
         auto f = s.pool.submit(die_by_exit_task, 7);
         expect_error<WorkerDied>(error_of(f), [&](const WorkerDied& e) {
           EXPECT_EQ(e.status, ExitStatus::exited(7));
           EXPECT_NE(e.pid, s.bystander_pid);
         });
       }},
      {"sigkill_from_outside", no_change,
       [](Scene& s) {
         Gate gate;
         auto f = s.pool.submit(hang_forever_task, gate.dir());
         const pid_t victim = gate.wait_entered();
         ASSERT_EQ(::kill(victim, SIGKILL), 0);
         expect_error<WorkerDied>(error_of(f), [&](const WorkerDied& e) {
           EXPECT_EQ(e.pid, victim);
           EXPECT_EQ(e.status, ExitStatus::signaled(SIGKILL, false));
         });
         expect_worker_replaced(s.pool, victim);
       }},
      {"hang_timeout", no_change,
       [](Scene& s) {
         Gate gate;
         auto f = s.pool.submit(TaskOptions{.timeout = 300ms}, hang_forever_task, gate.dir());
         const pid_t victim = gate.wait_entered();
         expect_error<TaskTimeout>(error_of(f), [&](const TaskTimeout& e) {
           EXPECT_EQ(e.worker_pid, victim);
           EXPECT_EQ(e.task_name, "hang_forever_task");
           EXPECT_DOUBLE_EQ(e.seconds, 0.3);
         });
         EXPECT_EQ(s.pool.stats().timed_out, 1u);
         expect_worker_replaced(s.pool, victim);
       }},
      {"hang_cancel", no_change,
       [](Scene& s) {
         Gate gate;
         auto f = s.pool.submit(hang_forever_task, gate.dir());
         const pid_t victim = gate.wait_entered();
         EXPECT_TRUE(f.cancel());
         EXPECT_FALSE(f.cancel()) << "a second cancel has nothing to cancel";
         EXPECT_EQ(f.status(), FutureStatus::kCancelled);
         expect_error<TaskCancelled>(error_of(f), [&](const TaskCancelled& e) {
           EXPECT_EQ(e.task_name, "hang_forever_task");
           EXPECT_TRUE(e.was_running);
         });
         // It never acknowledges: after the grace its worker is stopped and replaced.
         expect_worker_replaced(s.pool, victim);
       }},
      {"truncated_frame", no_change,
       [](Scene& s) {
         auto f = s.pool.submit(send_truncated_frame_task, 0);
         expect_error<TruncatedFrame>(error_of(f), [&](const TruncatedFrame& e) {
           EXPECT_EQ(e.expected, io::kFrameHeaderSize + 100);
           EXPECT_EQ(e.got, io::kFrameHeaderSize + 40);
         });
       }},
      {"garbage_bytes", no_change,
       [](Scene& s) {
         auto f = s.pool.submit(send_garbage_task, 0);
         expect_error<ProtocolError>(error_of(f), [&](const ProtocolError& e) {
           EXPECT_NE(std::string(e.what()).find("magic"), std::string::npos) << e.what();
         });
       }},
      {"garbled_error_reply", no_change,
       [](Scene& s) {
         // Decoding fails after the frame was read whole: the task must still be settled.
         auto f = s.pool.submit(send_garbled_error_task, 0);
         expect_error<ProtocolError>(error_of(f), [&](const ProtocolError& e) {
           EXPECT_NE(std::string(e.what()).find("cannot decode Error"), std::string::npos)
               << e.what();
         });
       }},
      {"stall_mid_frame", [](Options& o) { o.stall_timeout = 300ms; },
       [](Scene& s) {
         auto f = s.pool.submit(stall_mid_frame_task, 0);
         expect_error<StalledFrame>(error_of(f), [&](const StalledFrame& e) {
           EXPECT_EQ(e.expected, io::kFrameHeaderSize + 100);
           EXPECT_EQ(e.got, io::kFrameHeaderSize + 40);
         });
       }},
      {"result_too_large", [](Options& o) { o.max_frame = 1 << 20; },
       [](Scene& s) {
         auto f = s.pool.submit(patterned_bytes_task, 2);
         expect_error<MessageTooLarge>(error_of(f), [&](const MessageTooLarge& e) {
           EXPECT_GT(e.size, std::size_t{2} << 20);
           EXPECT_EQ(e.max, std::size_t{1} << 20);
         });
         EXPECT_EQ(s.pool.stats().worker_deaths, 0u) << "only the task fails, not its worker";
       }},
      {"argument_too_large", [](Options& o) { o.max_frame = 1 << 20; },
       [](Scene& s) {
         auto f = s.pool.submit(echo_string_task, std::string(std::size_t{2} << 20, 'a'));
         EXPECT_TRUE(f.ready()) << "it fails at submit, without a worker";
         expect_error<MessageTooLarge>(error_of(f), [&](const MessageTooLarge& e) {
           EXPECT_GT(e.size, std::size_t{2} << 20);
           EXPECT_EQ(e.max, std::size_t{1} << 20);
         });
       }},
      {"exit_during_handshake", no_change,
       // Configured in the test body: the initializer needs files that outlive this table.
       [](Scene& s) {
         // One of the first workers exits before it is ready (see the test body); a task
         // that needs both workers shows its replacement has started.
         Gate second;
         auto f = s.pool.submit(gated_task, second.dir());
         const pid_t other = second.wait_entered();
         EXPECT_NE(other, s.bystander_pid);
         second.release();
         EXPECT_EQ(f.get(), other);
         const PoolStats stats = s.pool.stats();
         EXPECT_EQ(stats.worker_deaths, 1u);
         EXPECT_EQ(stats.workers_started, 3u);
         EXPECT_EQ(stats.failed, 0u);
       }},
      {"close_while_tasks_run", no_change,
       [](Scene& s) {
         Gate gate;
         auto running = s.pool.submit(gated_task, gate.dir());
         const pid_t victim = gate.wait_entered();
         // Tasks submitted until close() takes effect: every one must still complete.
         std::vector<Future<int>> before_close;
         std::atomic<bool> closed{false};
         std::thread submitter([&] {
           for (int i = 0;; ++i) {
             try {
               before_close.push_back(s.pool.submit(identity_task, i));
             } catch (const PoolClosed&) {
               closed = true;
               return;
             }
           }
         });
         std::thread closer([&] { s.pool.close(); });
         submitter.join();  // it ends once close() has stopped intake
         EXPECT_TRUE(closed);
         // close() waits for the running tasks; let them finish.
         gate.release();
         s.bystander_gate.release();
         s.bystander_released = true;
         closer.join();
         EXPECT_EQ(running.get(), victim);
         for (std::size_t i = 0; i < before_close.size(); ++i) {
           ASSERT_TRUE(before_close[i].ready());
           EXPECT_EQ(before_close[i].get(), static_cast<int>(i));
         }
         EXPECT_THROW(s.pool.submit(identity_task, 1), PoolClosed);
         EXPECT_TRUE(s.pool.worker_pids().empty());
         s.pool_closed = true;
       }},
      {"sigkill_worker_with_exec_children", no_change,
       // The OOM killer's way: the worker dies at once, no handler runs. The exec job and its
       // background children must die with it (the job guard, workers/job_guard.h).
       [](Scene& s) {
         TempDir dir;
         const std::string pids = dir.path() + "/pids";
         ExecRequest job{.command = "sleep 300 & a=$!; sleep 301 & echo $$ $a $! > " + pids +
                                    ".new && mv " + pids + ".new " + pids + "; wait"};
         auto f = s.pool.submit(exec_task, job);
         // True if that process has ended (gone, or a zombie waiting for init).
         auto ended = [](pid_t pid) {
           std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
           std::string line;
           if (!std::getline(stat, line)) return true;
           const auto paren = line.rfind(')');
           return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
         };
         auto within_deadline = [](auto condition) {
           const auto end = std::chrono::steady_clock::now() + kDeadline;
           while (!condition() && std::chrono::steady_clock::now() < end)
             std::this_thread::sleep_for(5ms);
           return condition();
         };
         ASSERT_TRUE(within_deadline([&] { return !read_file(pids).empty(); }));
         pid_t shell = 0, first = 0, second = 0;
         std::istringstream(read_file(pids)) >> shell >> first >> second;
         ASSERT_GT(second, 0);
         pid_t victim = 0;
         for (pid_t pid : s.pool.worker_pids())
           if (pid != s.bystander_pid) victim = pid;
         ASSERT_GT(victim, 0);
         ASSERT_EQ(::kill(victim, SIGKILL), 0);
         expect_error<WorkerDied>(error_of(f), [&](const WorkerDied& e) {
           EXPECT_EQ(e.pid, victim);
           EXPECT_EQ(e.status, ExitStatus::signaled(SIGKILL, false));
         });
         for (pid_t pid : {shell, first, second})
           EXPECT_TRUE(within_deadline([&] { return ended(pid); })) << "pid " << pid << " lives on";
         expect_worker_replaced(s.pool, victim);
       }},
  };
}

struct MatrixCase {
  StartCase start;
  Fault fault;
};

void PrintTo(const MatrixCase& c, std::ostream* out) {
  *out << c.start.name << "/" << c.fault.name;
}

std::vector<MatrixCase> matrix() {
  std::vector<MatrixCase> cases;
  for (const StartCase& s : all_start_cases(2)) {
    for (const Fault& f : faults()) cases.push_back({s, f});
  }
  return cases;
}

class FaultMatrixTest : public ::testing::TestWithParam<MatrixCase> {};

TEST_P(FaultMatrixTest, RightErrorNothingLostPoolGoesOnNothingLeaks) {
  const MatrixCase& c = GetParam();
  LeakCheck leaks;
  TempDir dir;
  {
    Gate start_gate;
    Options options = c.start.options;
    c.fault.configure(options);
    if (c.fault.name == "exit_during_handshake") {
      write_file(dir.path() + "/token", "");
      options.initializer =
          initializer(exit_once_during_start_task, dir.path() + "/token", start_gate.dir());
    }
    Pool pool(options);
    if (c.fault.name == "exit_during_handshake") {
      // The worker that took the token has announced itself; it exits next.
      start_gate.wait_entered();
    }
    // A task running on the other worker the whole time.
    Gate bystander_gate;
    auto bystander = pool.submit(gated_task, bystander_gate.dir());
    Scene scene{pool, bystander_gate.wait_entered(), bystander_gate};

    c.fault.run(scene);
    if (::testing::Test::HasFatalFailure()) return;

    EXPECT_TRUE(scene.bystander_released || bystander.status() == FutureStatus::kRunning)
        << "the bystander was disturbed";
    if (!scene.bystander_released) bystander_gate.release();
    EXPECT_EQ(bystander.get(), scene.bystander_pid) << "the bystander's result was lost";

    if (!scene.pool_closed) {
      std::vector<Future<int>> after;
      for (int i = 0; i < 20; ++i) after.push_back(pool.submit(identity_task, i));
      for (int i = 0; i < 20; ++i) EXPECT_EQ(after[i].get(), i);
    }
    pool.close();
  }
  leaks.check();
}

INSTANTIATE_TEST_SUITE_P(AllStartMethods, FaultMatrixTest, ::testing::ValuesIn(matrix()),
                         [](const auto& info) {
                           return info.param.start.name + "_" + info.param.fault.name;
                         });

}  // namespace
}  // namespace forkpool::testing
