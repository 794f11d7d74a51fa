// Every way of starting a worker, driven at the protocol level without a Pool: the worker says
// Hello, answers tasks, keeps only its own descriptors, and exits on Shutdown or EOF.
#include "workers/start_method.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include "forkpool/task.h"
#include "io/blocking_reader.h"
#include "io/frame_writer.h"
#include "io/pipe.h"
#include "io/syscalls.h"
#include "serialization/messages.h"
#include "support/leak_check.h"

namespace forkpool::workers {
namespace {

using serialization::Kind;

int add(int a, int b) { return a + b; }
FORKPOOL_TASK(add_task, add);

struct Case {
  std::string name;
  StarterConfig config;
};

void PrintTo(const Case& c, std::ostream* out) { *out << c.name; }

std::vector<Case> cases() {
  return {{"fork", {.method = StartMethod::kFork}},
          {"forkserver", {.method = StartMethod::kForkserver}},
          {"spawn", {.method = StartMethod::kSpawn}},
          {"command", {.command = {"/proc/self/exe", "--stdio-worker"}}}};
}

// The descriptors another process has open, and what each points to.
std::map<int, std::string> fds_of(pid_t pid) {
  std::map<int, std::string> fds;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  while (dirent* e = d ? ::readdir(d) : nullptr) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char target[256] = {};
    ::readlink((dir + "/" + e->d_name).c_str(), target, sizeof target - 1);
    fds[std::atoi(e->d_name)] = target;
  }
  if (d) ::closedir(d);
  return fds;
}

pid_t parent_of(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  char state;
  pid_t ppid = 0;
  rest >> state >> ppid;
  return ppid;
}

class StartMethodTest : public ::testing::TestWithParam<Case> {
 protected:
  testing::LeakCheck leaks_;
};

io::Frame expect_frame(io::BlockingReader& reader, Kind kind) {
  auto frame = reader.read_frame();
  EXPECT_TRUE(frame.has_value());
  if (!frame) return {};
  EXPECT_EQ(frame->kind, static_cast<std::uint8_t>(kind))
      << "got " << serialization::kind_name(frame->kind);
  return std::move(*frame);
}

TEST_P(StartMethodTest, HelloTaskResultShutdown) {
  {
    auto starter = make_starter(GetParam().config);
    StartedWorker worker = starter->start(7);
    io::BlockingReader reader(worker.from_worker);
    io::FrameWriter writer(worker.to_worker);

    auto hello = serialization::decode_hello(expect_frame(reader, Kind::kHello).payload);
    EXPECT_EQ(hello.protocol_version, serialization::kProtocolVersion);
    EXPECT_EQ(hello.pid, worker.child.pid());
    EXPECT_EQ(hello.registry_hash, detail::TaskRegistry::instance().hash());
    if (GetParam().config.command.empty()) {
      EXPECT_EQ(hello.worker_id, 7u);
    }

    detail::Payload args;
    detail::encode_values(args, 20, 22);
    writer.write_frame(static_cast<std::uint8_t>(Kind::kTask), 0, 99,
                       serialization::encode_task(add_task.id(), args));
    io::Frame result = expect_frame(reader, Kind::kResult);
    EXPECT_EQ(result.task_id, 99u);
    int sum = 0;
    detail::decode_with(result.payload, "result", [&](detail::BoundedIArchive& in) { in >> sum; });
    EXPECT_EQ(sum, 42);

    writer.write_frame(static_cast<std::uint8_t>(Kind::kShutdown), 0, 0, {});
    EXPECT_FALSE(reader.read_frame().has_value());  // the worker closed its end: clean EOF
    EXPECT_EQ(worker.child.wait(), ExitStatus::exited(0));
  }
  leaks_.check();
}

TEST_P(StartMethodTest, UnknownTaskIsAnErrorReplyNotACrash) {
  {
    auto starter = make_starter(GetParam().config);
    StartedWorker worker = starter->start(0);
    io::BlockingReader reader(worker.from_worker);
    io::FrameWriter writer(worker.to_worker);
    expect_frame(reader, Kind::kHello);
    writer.write_frame(static_cast<std::uint8_t>(Kind::kTask), 0, 5,
                       serialization::encode_task(12345, {}));
    auto error = serialization::decode_error(expect_frame(reader, Kind::kError).payload);
    EXPECT_EQ(error, serialization::ErrorReply(serialization::NoSuchTask{12345, false}));
    worker.to_worker.reset();  // EOF ends the worker
    EXPECT_EQ(worker.child.wait(), ExitStatus::exited(0));
  }
  leaks_.check();
}

TEST_P(StartMethodTest, GarbageFromTheParentEndsTheWorkerWithProtocolErrorCode) {
  {
    auto starter = make_starter(GetParam().config);
    StartedWorker worker = starter->start(0);
    io::BlockingReader reader(worker.from_worker);
    expect_frame(reader, Kind::kHello);
    const char garbage[64] = "this is not a forkpool frame, not even close";
    iovec iov{const_cast<char*>(garbage), sizeof garbage};
    ASSERT_TRUE(io::write_all(worker.to_worker.get(), std::span<iovec>(&iov, 1), std::nullopt));
    EXPECT_EQ(worker.child.wait(), ExitStatus::exited(kWorkerExitProtocolError));
  }
  leaks_.check();
}

TEST_P(StartMethodTest, WorkerHoldsOnlyItsOwnDescriptors) {
  {
    // Descriptors this process holds, close-on-exec, that no worker may inherit.
    io::Pipe unrelated = io::Pipe::create();
    auto starter = make_starter(GetParam().config);
    StartedWorker worker = starter->start(0);
    io::BlockingReader reader(worker.from_worker);
    expect_frame(reader, Kind::kHello);  // past its setup
    // Descriptors this process holds without close-on-exec are meant to be inherited (the
    // test runner may pass some); every other one must be gone.
    auto fds = fds_of(worker.child.pid());
    for (int fd : testing::open_fds()) {
      int flags = ::fcntl(fd, F_GETFD);
      if (fd > 2 && flags >= 0 && !(flags & FD_CLOEXEC)) fds.erase(fd);
    }
    // stdin, stdout, stderr, and the two protocol pipes; nothing else.
    EXPECT_EQ(fds.size(), 5u) << ::testing::PrintToString(fds);
    EXPECT_EQ(fds[0], "/dev/null");
    int pipes = 0;
    for (auto& [fd, target] : fds) pipes += fd > 2 && target.rfind("pipe:", 0) == 0;
    EXPECT_EQ(pipes, 2) << ::testing::PrintToString(fds);
    // Forkserver workers are cloned with CLONE_PARENT: ours to reap, not the zygote's.
    EXPECT_EQ(parent_of(worker.child.pid()), ::getpid());
    worker.to_worker.reset();
    EXPECT_EQ(worker.child.wait(), ExitStatus::exited(0));
  }
  leaks_.check();
}

INSTANTIATE_TEST_SUITE_P(All, StartMethodTest, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace forkpool::workers
