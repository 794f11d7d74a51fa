// The Pool with the ssh launcher, against a real sshd (`ssh fp-loopback`): values, exceptions,
// a 50 MiB result on each data channel, a worker killed on the remote side, the ssh connection
// killed mid-task, a host that fails, a version mismatch, a stray client on the data port, and
// no process left on the host after any of it.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <regex>
#include <string>

#include "forkpool/forkpool.h"
#include "io/socket.h"
#include "io/syscalls.h"
#include "remote/remote_support.h"
#include "remote/remote_tasks.h"
#include "support/gate.h"
#include "support/leak_check.h"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;

class SshPool : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = ssh_unavailable(); !why.empty()) GTEST_SKIP() << why;
  }
  void TearDown() override {
    if (IsSkipped()) return;
    leaks_.check();
    EXPECT_EQ(wait_gone(tag_), "");
  }
  Launcher ssh(std::vector<std::string> hosts, DataChannel channel = DataChannel::kAuto) {
    Launcher launcher = Launcher::ssh_hosts(std::move(hosts));
    launcher.data_channel = channel;
    return tagged_launcher(launcher, tag_);
  }

  const std::string tag_ = unique_tag();
  LeakCheck leaks_;
};

TEST_F(SshPool, ComputesValuesOnTheHostAndHere) {
  Pool pool({.launcher = ssh({"2/fp-loopback", "1/:"})});
  EXPECT_EQ(pool.workers(), 3u);
  std::vector<Future<int>> futures;
  for (int i = 0; i < 50; ++i) futures.push_back(pool.submit(remote_square_task, i));
  for (int i = 0; i < 50; ++i) EXPECT_EQ(futures[i].get(), i * i);
  EXPECT_NE(pool.start_description().find("2/fp-loopback"), std::string::npos)
      << pool.start_description();
  EXPECT_EQ(processes_tagged(tag_).size() >= 3u, true);
}

TEST_F(SshPool, NoMoreWorkersThanTheHostsHaveSlots) {
  Pool pool({.workers = 5, .launcher = ssh({"2/fp-loopback"})});
  EXPECT_EQ(pool.workers(), 2u);
  EXPECT_EQ(pool.submit(remote_square_task, 3).get(), 9);
}

TEST_F(SshPool, AnExceptionComesBackWithItsType) {
  Pool pool({.launcher = ssh({kSshHost})});
  auto f = pool.submit(remote_fail_task, std::string("bad input 42"));
  try {
    f.get();
    FAIL() << "expected a RemoteError";
  } catch (const RemoteError& e) {
    EXPECT_NE(std::string(e.what()).find("bad input 42"), std::string::npos) << e.what();
    EXPECT_NE(e.type_name.find("invalid_argument"), std::string::npos) << e.type_name;
  }
  EXPECT_EQ(pool.submit(remote_square_task, 9).get(), 81);  // the worker goes on
}

void expect_big_result(Pool& pool) {
  constexpr std::uint64_t kBytes = std::uint64_t{50} << 20;
  const std::string blob = pool.submit(remote_blob_task, kBytes).get();
  EXPECT_TRUE(blob_is_right(blob, kBytes)) << blob.size();
}

TEST_F(SshPool, A50MiBResultOverTheTcpDataChannel) {
  Pool pool({.launcher = ssh({kSshHost}, DataChannel::kTcp), .max_frame = std::size_t{64} << 20});
  expect_big_result(pool);
  EXPECT_NE(pool.start_description().find("data channel tcp"), std::string::npos);
}

TEST_F(SshPool, A50MiBResultOverSshItself) {
  Pool pool({.launcher = ssh({kSshHost}, DataChannel::kStdio), .max_frame = std::size_t{64} << 20});
  expect_big_result(pool);
}

// The offer names a pool address the host cannot reach.
TEST_F(SshPool, AutoFallsBackToStdioWhenTheWorkerCannotConnect) {
  Launcher launcher = ssh({kSshHost}, DataChannel::kAuto);
  launcher.listen_host = "fp-no-such-host.invalid";
  Pool pool({.launcher = launcher});
  EXPECT_EQ(pool.submit(remote_square_task, 12).get(), 144);
}

TEST_F(SshPool, TcpOnlyGivesUpAHostWhoseWorkersCannotConnect) {
  Launcher launcher = ssh({kSshHost}, DataChannel::kTcp);
  launcher.listen_host = "fp-no-such-host.invalid";
  Pool pool({.launcher = launcher});
  try {
    pool.submit(remote_square_task, 2).get();
    FAIL() << "expected PoolBroken";
  } catch (const PoolBroken& e) {
    EXPECT_NE(std::string(e.what()).find("host 'fp-loopback'"), std::string::npos) << e.what();
  }
}

TEST_F(SshPool, AWorkerKilledOnTheHostFailsItsTaskNamingTheHost) {
  Gate gate;
  Pool pool({.launcher = ssh({kSshHost})});
  auto held = pool.submit(remote_hold_task, gate.dir());
  const pid_t remote_pid = gate.wait_entered();
  const std::string kill =
      "ssh " + std::string(kSshHost) + " kill -9 " + std::to_string(remote_pid);
  ASSERT_EQ(std::system(kill.c_str()), 0);
  try {
    held.get();
    FAIL() << "expected WorkerDied";
  } catch (const WorkerDied& e) {
    EXPECT_NE(std::string(e.what()).find("host 'fp-loopback"), std::string::npos) << e.what();
  }
  EXPECT_EQ(pool.submit(remote_square_task, 5).get(), 25);  // a replacement serves
}

TEST_F(SshPool, TheSshConnectionKilledMidTaskFailsItAndTheRemoteWorkerExits) {
  Gate gate;
  Pool pool({.launcher = ssh({kSshHost})});
  auto held = pool.submit(remote_hold_task, gate.dir());
  const pid_t remote_pid = gate.wait_entered();
  const std::vector<pid_t> clients = pool.worker_pids();  // the ssh clients
  ASSERT_EQ(clients.size(), 1u);
  ::kill(clients[0], SIGKILL);
  EXPECT_THROW(held.get(), WorkerDied);
  // Its control channel reached EOF: the worker, stuck in its task, ended anyway.
  EXPECT_EQ(wait_gone(std::vector<pid_t>{remote_pid}), "");
  EXPECT_EQ(pool.submit(remote_square_task, 6).get(), 36);
}

TEST_F(SshPool, AHostThatFailsIsGivenUpAndTheOthersServe) {
  Launcher launcher = ssh({"1/fp-no-such-host.invalid", "1/fp-loopback"});
  launcher.ssh = {"ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=20"};
  Pool pool({.launcher = launcher});
  std::vector<Future<int>> futures;
  for (int i = 0; i < 20; ++i) futures.push_back(pool.submit(remote_square_task, i));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(futures[i].get(), i * i);
}

TEST_F(SshPool, WhenEveryHostFailsThePoolSaysWhich) {
  Launcher launcher = ssh({"fp-no-such-host.invalid"});
  launcher.ssh = {"ssh", "-o", "BatchMode=yes"};
  Pool pool({.launcher = launcher});
  try {
    pool.submit(remote_square_task, 2).get();
    FAIL() << "expected PoolBroken";
  } catch (const PoolBroken& e) {
    EXPECT_NE(std::string(e.what()).find("host 'fp-no-such-host.invalid'"), std::string::npos)
        << e.what();
  }
}

TEST_F(SshPool, AWorkerOfAnotherProtocolIsRefusedNamingHostAndVersions) {
  Launcher launcher = ssh({kSshHost});
  launcher.worker.insert(launcher.worker.begin(), {"env", "FORKPOOL_TEST_OLD_PROTOCOL=1"});
  Pool pool({.launcher = launcher});
  try {
    pool.submit(remote_square_task, 2).get();
    FAIL() << "expected PoolBroken";
  } catch (const PoolBroken& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("on host 'fp-loopback'"), std::string::npos) << what;
    EXPECT_NE(what.find("speaks protocol 3, this pool speaks 5"), std::string::npos) << what;
  }
}

TEST_F(SshPool, AConnectionWithoutTheTokenGetsNothingAndIsClosed) {
  Pool pool({.launcher = ssh({kSshHost}, DataChannel::kTcp)});
  EXPECT_EQ(pool.submit(remote_square_task, 3).get(), 9);
  std::smatch port;
  const std::string description = pool.start_description();
  ASSERT_TRUE(std::regex_search(description, port, std::regex("port (\\d+)"))) << description;
  const auto data_port = static_cast<std::uint16_t>(std::stoi(port[1]));
  // A client that connects and says nothing holds up nobody: the pool serves meanwhile, and
  // keeps it waiting for its token (no EOF yet) rather than blocking on it.
  io::Fd silent = io::connect_tcp("127.0.0.1", data_port);
  EXPECT_EQ(pool.submit(remote_square_task, 5).get(), 25);
  char nothing;
  EXPECT_EQ(io::read_once(silent.get(), {&nothing, 1}, 0ms), std::nullopt);
  io::Fd stray = io::connect_tcp("127.0.0.1", data_port);
  const std::string wrong(32, 'x');
  iovec token{const_cast<char*>(wrong.data()), wrong.size()};
  ASSERT_TRUE(io::write_all(stray.get(), {&token, 1}, 10s));
  // The pool closes it without a byte: EOF, not a Hello.
  char byte;
  EXPECT_EQ(io::read_once(stray.get(), {&byte, 1}, 60s), std::optional<std::size_t>(0));
  EXPECT_EQ(pool.submit(remote_square_task, 4).get(), 16);  // and goes on
}

}  // namespace
}  // namespace forkpool::testing
