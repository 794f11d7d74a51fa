#include "remote/remote_support.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "io/fd.h"
#include "workers/spawn_starter.h"

namespace forkpool::testing {
namespace {

// "" if the process is gone: it may end between the directory listing and the read.
std::string cmdline_of(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/cmdline";
  io::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n <= 0) break;  // the end, or ESRCH once the process has gone
    text.append(buffer, static_cast<std::size_t>(n));
  }
  for (char& c : text) c = c == '\0' ? ' ' : c;
  return text;
}

}  // namespace

std::string ssh_unavailable() {
  const std::string command = std::string("ssh ") + kSshHost + " true </dev/null >/dev/null 2>&1";
  if (std::system(command.c_str()) == 0) return {};
  return std::string("no sshd answers as '") + kSshHost +
         "' (start it with the shared start-sshd.sh, as scripts/test does)";
}

std::string srun_unavailable() {
  if (std::system("srun -N1 -n1 --quiet true </dev/null >/dev/null 2>&1") == 0) return {};
  return "srun cannot run a job step (start Slurm with the shared start-slurm.sh, as scripts/test "
         "does)";
}

std::string unique_tag() {
  static std::atomic<int> counter{0};
  return "fp-remote-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

Launcher tagged_launcher(Launcher launcher, const std::string& tag) {
  launcher.worker = {std::filesystem::read_symlink("/proc/self/exe").string(), workers::kWorkerFlag,
                     "--stdio", "--tag=" + tag};
  return launcher;
}

std::vector<pid_t> processes_tagged(const std::string& tag) {
  std::vector<pid_t> pids;
  struct CloseDir {
    void operator()(DIR* dir) const { ::closedir(dir); }
  };
  std::unique_ptr<DIR, CloseDir> proc(::opendir("/proc"));
  if (!proc) return pids;
  while (dirent* entry = ::readdir(proc.get())) {
    const pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
    if (pid <= 0 || pid == ::getpid()) continue;
    if (cmdline_of(pid).find(tag) != std::string::npos) pids.push_back(pid);
  }
  return pids;
}

std::string wait_gone(const std::string& tag, std::chrono::milliseconds deadline) {
  return wait_gone(processes_tagged(tag), deadline);
}

std::string wait_gone(const std::vector<pid_t>& pids, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (pid_t pid : pids) {
    io::Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd) continue;  // gone already
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    pollfd p{pidfd.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<long>(left.count(), 0))) <= 0) {
      return "pid " + std::to_string(pid) + " (" + cmdline_of(pid) + ") still runs";
    }
  }
  return {};
}

}  // namespace forkpool::testing
