// PosixSpawnLauncher: a Boost.Process v2 launcher that starts the child with posix_spawn(3).
//
// Boost.Process's default launcher forks, so its cost grows with the parent's memory (measured:
// 3.0-3.7 ms for a small parent, 13.7-15.2 ms with 512 MiB touched), and 1.81's vfork_launcher
// calls notify_fork on the io_context inside the vfork child. glibc's posix_spawn uses
// CLONE_VFORK and reports exec errors; it costs about 2 ms either way. The result is an
// ordinary basic_process, so callers keep Boost.Process's handle and exit-code API.
//
// It does not run Boost's initializers (they would run in the child between fork and exec);
// what the child needs is said with `redirect` and done by posix_spawn's file actions.
#pragma once

#include <signal.h>
#include <spawn.h>

// Boost 1.81's config.hpp names boost::optional without including it when
// BOOST_PROCESS_USE_STD_FS is defined (we use std::filesystem, not Boost.Filesystem).
#include <boost/optional.hpp>
#include <string>
#include <type_traits>
// clang-format off
#include <boost/process/v2/posix/default_launcher.hpp>
// clang-format on
#include <boost/process/v2/process.hpp>
#include <utility>
#include <vector>

namespace forkpool::workers {

namespace bp = boost::process::v2;

// Sets `attributes` so that the child starts with no signal blocked and the signals a runner
// cares about at their default action, whatever the spawning thread had; returns the
// posix_spawnattr flags that this needs.
inline short reset_child_signals(posix_spawnattr_t& attributes) {
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGCHLD, SIGHUP, SIGQUIT}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  return POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
}

struct PosixSpawnLauncher : bp::posix::default_launcher {
  // (from, to) pairs: the child gets descriptor `from` as `to`. REQUIRES: no `from` equals a
  // `to` of an earlier pair.
  std::vector<std::pair<int, int>> redirect;
  // The child leads a new process group, so that it and everything it starts can be
  // signalled together.
  bool new_process_group = false;
  // Not empty: the child's working directory (a relative path is from this process's).
  std::string directory;

  template <typename Executor, typename Args>
  bp::basic_process<Executor> operator()(Executor exec, bp::error_code& ec,
                                         const bp::filesystem::path& executable, Args&& args) {
    const char* const* argv = this->build_argv_(executable, std::forward<Args>(args));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    for (auto [from, to] : redirect) posix_spawn_file_actions_adddup2(&actions, from, to);
    if (!directory.empty()) posix_spawn_file_actions_addchdir_np(&actions, directory.c_str());
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    short flags = reset_child_signals(attributes);
    if (new_process_group) {
      posix_spawnattr_setpgroup(&attributes, 0);
      flags |= POSIX_SPAWN_SETPGROUP;
    }
    posix_spawnattr_setflags(&attributes, flags);
    pid_t child = -1;
    int error = ::posix_spawn(&child, executable.c_str(), &actions, &attributes,
                              const_cast<char* const*>(argv), const_cast<char* const*>(env));
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0) {
      ec.assign(error, bp::system_category());
      return bp::basic_process<Executor>(exec);
    }
    return bp::basic_process<Executor>(exec, child);
  }
};

// Resolves a command name through PATH the way execvp would, so errors name the real file.
// Returns `name` unchanged if it has a slash or is found nowhere.
std::string find_in_path(const std::string& name);

}  // namespace forkpool::workers
