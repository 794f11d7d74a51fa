// The forkpool executable: --version, --help, bad commands, and `forkpool worker` serving the
// protocol on stdin/stdout, refused by a pool whose task registry differs.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "forkpool/forkpool.h"
#include "io/blocking_reader.h"
#include "serialization/messages.h"
#include "support/leak_check.h"
#include "workers/start_method.h"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;

int twice(int x) { return 2 * x; }
FORKPOOL_TASK(twice_task, twice);

struct CliRun {
  int exit_code;
  std::string output;
};

// Runs the forkpool binary with `args` through the shell, capturing stdout and stderr.
CliRun run_forkpool(const std::string& args) {
  const std::string command = std::string(FORKPOOL_BINARY) + " " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  CliRun run{-1, {}};
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) run.output.append(buffer, n);
  int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

TEST(Cli, Version) {
  CliRun r = run_forkpool("--version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output.rfind("forkpool ", 0), 0u) << r.output;
}

TEST(Cli, Help) {
  CliRun r = run_forkpool("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("worker"), std::string::npos);
}

TEST(Cli, UnknownCommandIsOneClearLine) {
  CliRun r = run_forkpool("frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.output, "forkpool: unknown command 'frobnicate' (try 'forkpool --help')\n");
}

TEST(Cli, WorkerRejectsUnknownOptions) {
  CliRun r = run_forkpool("worker --bogus");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("unknown option '--bogus'"), std::string::npos);
}

TEST(Cli, WorkerSpeaksTheProtocolOnStdio) {
  LeakCheck leaks;
  {
    auto starter = workers::make_starter({.command = {FORKPOOL_BINARY, "worker"}});
    workers::StartedWorker worker = starter->start(0);
    io::BlockingReader reader(worker.from_worker);
    auto frame = reader.read_frame();
    ASSERT_TRUE(frame.has_value());
    ASSERT_EQ(frame->kind, static_cast<std::uint8_t>(serialization::Kind::kHello));
    auto hello = serialization::decode_hello(frame->payload);
    EXPECT_EQ(hello.protocol_version, serialization::kProtocolVersion);
    EXPECT_EQ(hello.pid, worker.child.pid());
    worker.to_worker.reset();  // EOF on stdin ends it
    EXPECT_FALSE(reader.read_frame().has_value());
    EXPECT_EQ(worker.child.wait(), ExitStatus::exited(0));
  }
  leaks.check();
}

TEST(Cli, APoolRefusesAWorkerWithAnotherTaskRegistry) {
  LeakCheck leaks;
  {
    // The forkpool binary does not register this test's tasks: its Hello must be refused.
    Pool pool({.workers = 1, .worker_command = {FORKPOOL_BINARY, "worker"}});
    // The refusal breaks the pool on its own time: before this submit() (which then throws)
    // or after it (the future fails). Either way, with the reason.
    std::string what;
    try {
      auto f = pool.submit(twice_task, 2);
      ASSERT_TRUE(f.wait_for(60s));
      f.get();
      FAIL() << "expected PoolBroken";
    } catch (const PoolBroken& e) {
      what = e.what();
    }
    EXPECT_NE(what.find("different task registry"), std::string::npos) << what;
    EXPECT_THROW(pool.submit(twice_task, 3), PoolBroken);
  }
  leaks.check();
}

}  // namespace
}  // namespace forkpool::testing
