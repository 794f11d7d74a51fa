#include "workers/spawn_starter.h"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <system_error>

#include "forkpool/errors.h"
#include "io/pipe.h"
#include "workers/posix_spawn_launcher.h"

namespace forkpool::workers {
SpawnStarter::SpawnStarter(const StarterConfig& config) : config_(config) {
  if (!config_.executable.empty()) {
    executable_ = config_.executable;
  } else {
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    executable_ = ec ? "/proc/self/exe" : self.string();
  }
}

StartedWorker spawn_on_pipes(const std::string& executable, const std::vector<std::string>& args,
                             int tasks_fd, int results_fd, const std::string& what) {
  io::Pipe tasks = io::Pipe::create();
  io::Pipe results = io::Pipe::create();
  // Move the child's ends above every target descriptor so no dup2 clobbers another source.
  io::Fd child_in = io::Fd::duplicate(tasks.read.get(), 10);
  io::Fd child_out = io::Fd::duplicate(results.write.get(), 10);
  tasks.read.reset();
  results.write.reset();

  PosixSpawnLauncher launcher;
  launcher.redirect = {{child_in.get(), tasks_fd}, {child_out.get(), results_fd}};
  boost::asio::io_context context;
  bp::error_code ec;
  auto process = launcher(context.get_executor(), ec, executable, args);
  if (ec) throw Error(what + ": " + ec.message());
  const pid_t pid = process.id();
  process.detach();
  return StartedWorker{Child(pid), std::move(tasks.write), std::move(results.read)};
}

StartedWorker SpawnStarter::start(std::uint32_t worker_id) {
  const std::vector<std::string> args = {
      kWorkerFlag, "--fds=" + std::to_string(kSpawnTasksFd) + "," + std::to_string(kSpawnResultsFd),
      "--worker-id=" + std::to_string(worker_id), "--parent=" + std::to_string(::getpid()),
      "--max-frame=" + std::to_string(config_.max_frame)};
  return spawn_on_pipes(executable_, args, kSpawnTasksFd, kSpawnResultsFd,
                        "cannot start worker '" + executable_ + "'");
}

std::string SpawnStarter::describe() const { return "spawn " + executable_; }

}  // namespace forkpool::workers
