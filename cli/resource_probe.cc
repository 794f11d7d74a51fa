#include "cli/resource_probe.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <vector>

#include "workers/child.h"
#include "workers/posix_spawn_launcher.h"

extern char** environ;

namespace forkpool::cli {
namespace {

// The kernel's flag for its own threads (include/linux/sched.h): `ps` shows them in brackets.
constexpr unsigned long kKernelThread = 0x00200000;

bool is_number(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

// The names in a /proc directory that are numbers (processes, or a process's threads).
std::vector<std::string> numbered_entries(const std::string& path) {
  std::vector<std::string> names;
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), ::closedir);
  if (!dir) return names;  // a process that has just gone
  while (const dirent* entry = ::readdir(dir.get())) {
    if (is_number(entry->d_name)) names.emplace_back(entry->d_name);
  }
  return names;
}

// Whether a thread's /proc/PID/task/TID/stat says it runs or waits for a disk, and is not the
// kernel's. The command name in parentheses may hold anything: the fields follow the last ')'.
bool busy(const std::string& stat_path) {
  std::ifstream in(stat_path);
  std::string line;
  if (!std::getline(in, line)) return false;
  const std::size_t close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream fields(line.substr(close + 1));
  std::string state, skip;
  unsigned long flags = 0;
  fields >> state;
  for (int i = 0; i < 5; ++i) fields >> skip;  // ppid pgrp session tty_nr tpgid
  fields >> flags;
  if (!fields || (flags & kKernelThread) != 0) return false;
  return state == "R" || state == "D";
}

}  // namespace

double memory_free() {
  std::ifstream in("/proc/meminfo");
  if (!in) throw std::runtime_error("cannot read /proc/meminfo");
  double kib = 0;
  std::string name;
  double value = 0;
  std::string unit;
  while (in >> name >> value) {
    std::getline(in, unit);
    if (name == "MemFree:" || name == "Buffers:" || name == "Cached:" || name == "SwapCached:")
      kib += value;
  }
  return kib * 1024;
}

unsigned busy_threads() {
  const std::string self = std::to_string(::syscall(SYS_gettid));
  unsigned count = 0;
  for (const std::string& pid : numbered_entries("/proc")) {
    const std::string tasks = "/proc/" + pid + "/task";
    for (const std::string& tid : numbered_entries(tasks)) {
      if (tid != self && busy(tasks + "/" + tid + "/stat")) ++count;
    }
  }
  return count;
}

int run_limit_command(const std::string& shell, const std::string& command) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::strncmp(*e, "SSHLOGIN=", 9) != 0) env.emplace_back(*e);
  }
  env.emplace_back("SSHLOGIN=:");
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  // Not the run's stdin: that may be the jobs' input, which the command must not eat.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  // The command starts with no signal blocked and the usual actions, whatever this thread
  // has blocked for the runner's signal thread.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, workers::reset_child_signals(attributes));
  const char* argv[] = {shell.c_str(), "-c", command.c_str(), nullptr};
  pid_t pid = 0;
  const int error = ::posix_spawn(&pid, shell.c_str(), &actions, &attributes,
                                  const_cast<char* const*>(argv), envp.data());
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    throw std::system_error(error, std::generic_category(), "cannot run --limit with " + shell);
  }
  workers::Child child(pid);
  const ExitStatus status = child.wait();
  return status.exit_code();
}

DiskTicks parse_diskstats(const std::string& text) {
  DiskTicks ticks;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string major, minor, name;
    std::uint64_t counter = 0;
    fields >> major >> minor >> name;
    int read = 0;
    for (; read < 10 && fields >> counter; ++read) {
    }
    if (read == 10) ticks[name] = counter;
  }
  return ticks;
}

DiskTicks disk_ticks() {
  std::ifstream in("/proc/diskstats");
  if (!in) throw std::runtime_error("cannot read /proc/diskstats");
  return parse_diskstats(
      std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
}

double busiest_disk_percent(const DiskTicks& before, const DiskTicks& after, double elapsed_ms) {
  double busiest = 0;
  if (elapsed_ms <= 0) return busiest;
  for (const auto& [name, ticks] : after) {
    const auto it = before.find(name);
    if (it == before.end() || ticks < it->second) continue;
    busiest = std::max(busiest, std::min(100.0, (ticks - it->second) * 100.0 / elapsed_ms));
  }
  return busiest;
}

std::optional<JobProcess> worker_running_job(const std::vector<pid_t>& workers,
                                             const std::string& entry) {
  const std::string wanted = entry + '\0';
  for (pid_t worker : workers) {
    const std::string tasks = "/proc/" + std::to_string(worker) + "/task";
    // Any of the worker's threads may have started the job (a --nice job is spawned by a
    // thread of its own; its children pass to another thread when it ends).
    for (const std::string& tid : numbered_entries(tasks)) {
      std::ifstream children(tasks + "/" + tid + "/children");
      for (pid_t child; children >> child;) {
        std::ifstream in("/proc/" + std::to_string(child) + "/environ", std::ios::binary);
        const std::string environment((std::istreambuf_iterator<char>(in)),
                                      std::istreambuf_iterator<char>());
        // Entries are NUL-terminated: match a whole one, at the start or after a NUL.
        const std::size_t at = environment.find(wanted);
        if (at != std::string::npos && (at == 0 || environment[at - 1] == '\0'))
          return JobProcess{worker, child};
      }
    }
  }
  return std::nullopt;
}

}  // namespace forkpool::cli
