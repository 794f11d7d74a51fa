#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "forkpool/worker.h"
#include "io/fd.h"
#include "workers/launcher_worker.h"
#include "workers/spawn_starter.h"
#include "workers/worker_loop.h"
#include "workers/worker_setup.h"

namespace forkpool {
namespace {

// Parses "--name=123"; returns false if `arg` is not that option.
bool option_value(std::string_view arg, std::string_view name, unsigned long long& value) {
  if (arg.substr(0, name.size()) != name) return false;
  value = std::strtoull(std::string(arg.substr(name.size())).c_str(), nullptr, 10);
  return true;
}

}  // namespace

std::optional<int> worker_main_if_requested(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) != workers::kWorkerFlag) return std::nullopt;
  unsigned long long parent = 0, worker_id = 0, max_frame = io::kDefaultMaxFrame, value = 0;
  int tasks_fd = workers::kSpawnTasksFd, results_fd = workers::kSpawnResultsFd;
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    // A launcher's worker (Launcher::worker's default): the protocol on stdin and stdout.
    if (arg == "--stdio") return serve_stdio_worker();
    if (option_value(arg, "--parent=", value))
      parent = value;
    else if (option_value(arg, "--worker-id=", value))
      worker_id = value;
    else if (option_value(arg, "--max-frame=", value))
      max_frame = value;
    else if (arg.substr(0, 6) == "--fds=") {
      std::sscanf(argv[i] + 6, "%d,%d", &tasks_fd, &results_fd);
    }
  }
  if (!workers::die_with_parent(static_cast<pid_t>(parent))) {
    return workers::kWorkerExitSetupFailed;
  }
  // Take the protocol descriptors off their well-known numbers, close-on-exec, so a program a
  // task runs does not inherit them.
  io::Fd tasks = io::Fd::duplicate(tasks_fd, 10);
  io::Fd results = io::Fd::duplicate(results_fd, 10);
  ::close(tasks_fd);
  ::close(results_fd);
  workers::stdin_from_dev_null();
  return workers::run_worker(std::move(tasks), std::move(results),
                             {.worker_id = static_cast<std::uint32_t>(worker_id),
                              .max_frame = static_cast<std::size_t>(max_frame)});
}

int serve_stdio_worker() {
  // Already orphaned (adopted by init): there is no parent left to die with.
  if (::getppid() != 1) workers::die_with_parent(0);
  io::Fd tasks = io::Fd::duplicate(STDIN_FILENO, 10);
  io::Fd results = io::Fd::duplicate(STDOUT_FILENO, 10);
  workers::stdin_from_dev_null();
  ::dup2(STDERR_FILENO, STDOUT_FILENO);
  return workers::serve_launched_worker(std::move(tasks), std::move(results));
}

}  // namespace forkpool
