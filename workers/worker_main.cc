#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "forkpool/worker.h"
#include "io/fd.h"
#include "workers/spawn_starter.h"
#include "workers/worker_loop.h"

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
    if (option_value(arg, "--parent=", value)) parent = value;
    else if (option_value(arg, "--worker-id=", value)) worker_id = value;
    else if (option_value(arg, "--max-frame=", value)) max_frame = value;
    else if (arg.substr(0, 6) == "--fds=") {
      std::sscanf(argv[i] + 6, "%d,%d", &tasks_fd, &results_fd);
    }
  }
  // Die with the parent; if it died before we got here, do not start at all.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (parent != 0 && static_cast<unsigned long long>(::getppid()) != parent) {
    return workers::kWorkerExitSetupFailed;
  }
  // Take the protocol descriptors off their well-known numbers, close-on-exec, so a program a
  // task runs does not inherit them.
  io::Fd tasks = io::Fd::duplicate(tasks_fd, 10);
  io::Fd results = io::Fd::duplicate(results_fd, 10);
  ::close(tasks_fd);
  ::close(results_fd);
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::close(null);
  }
  return workers::run_worker(std::move(tasks), std::move(results),
                             {.worker_id = static_cast<std::uint32_t>(worker_id),
                              .max_frame = static_cast<std::size_t>(max_frame)});
}

int serve_stdio_worker() {
  if (::getppid() != 1) ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  io::Fd tasks = io::Fd::duplicate(STDIN_FILENO, 10);
  io::Fd results = io::Fd::duplicate(STDOUT_FILENO, 10);
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::close(null);
  }
  ::dup2(STDERR_FILENO, STDOUT_FILENO);
  return workers::run_worker(std::move(tasks), std::move(results), {});
}

}  // namespace forkpool
