// The Pool with the srun launcher, against a real single-node Slurm: each worker is one srun
// step (a job of its own here, since the tests run outside an allocation).
#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "forkpool/forkpool.h"
#include "remote/remote_support.h"
#include "remote/remote_tasks.h"
#include "support/gate.h"
#include "support/leak_check.h"

namespace forkpool::testing {
namespace {

class SrunPool : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = srun_unavailable(); !why.empty()) GTEST_SKIP() << why;
  }
  void TearDown() override {
    if (IsSkipped()) return;
    leaks_.check();
    EXPECT_EQ(wait_gone(tag_), "");
  }
  Launcher srun(unsigned slots, DataChannel channel = DataChannel::kAuto) {
    Launcher launcher = Launcher::srun_slots(slots);
    launcher.data_channel = channel;
    return tagged_launcher(launcher, tag_);
  }

  const std::string tag_ = unique_tag();
  LeakCheck leaks_;
};

TEST_F(SrunPool, ComputesValuesAndReturnsExceptions) {
  Pool pool({.launcher = srun(2)});
  EXPECT_EQ(pool.workers(), 2u);
  std::vector<Future<int>> futures;
  for (int i = 0; i < 40; ++i) futures.push_back(pool.submit(remote_square_task, i));
  for (int i = 0; i < 40; ++i) EXPECT_EQ(futures[i].get(), i * i);
  EXPECT_THROW(pool.submit(remote_fail_task, std::string("no")).get(), RemoteError);
}

TEST_F(SrunPool, A50MiBResultOverTheTcpDataChannel) {
  Pool pool({.launcher = srun(1, DataChannel::kTcp), .max_frame = std::size_t{64} << 20});
  constexpr std::uint64_t kBytes = std::uint64_t{50} << 20;
  EXPECT_TRUE(blob_is_right(pool.submit(remote_blob_task, kBytes).get(), kBytes));
}

TEST_F(SrunPool, AWorkerKilledInItsStepFailsItsTaskNamingTheHost) {
  Gate gate;
  Pool pool({.launcher = srun(1)});
  auto held = pool.submit(remote_hold_task, gate.dir());
  ::kill(gate.wait_entered(), SIGKILL);
  try {
    held.get();
    FAIL() << "expected WorkerDied";
  } catch (const WorkerDied& e) {
    EXPECT_NE(std::string(e.what()).find("host 'srun ("), std::string::npos) << e.what();
  }
  EXPECT_EQ(pool.submit(remote_square_task, 5).get(), 25);
}

TEST_F(SrunPool, TheSrunProcessKilledMidTaskEndsTheStep) {
  Gate gate;
  Pool pool({.launcher = srun(1)});
  auto held = pool.submit(remote_hold_task, gate.dir());
  const pid_t remote_pid = gate.wait_entered();
  ::kill(pool.worker_pids().at(0), SIGKILL);
  EXPECT_THROW(held.get(), WorkerDied);
  EXPECT_EQ(wait_gone(std::vector<pid_t>{remote_pid}), "");
}

}  // namespace
}  // namespace forkpool::testing
