// `forkpool run`'s options for jobs on other hosts: -S/--sshlogin and --sshloginfile (GNU
// parallel's syntax: "N/host", "user@host", ":" for this machine), --launcher srun for the
// steps of a Slurm allocation, and --data-channel. Workers start once per slot, through ssh or
// srun, and each runs `forkpool worker` by this program's own path on its host.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/file_movers.h"
#include "forkpool/launcher.h"

namespace forkpool::cli {

struct RemoteRunOptions {
  std::vector<std::string> sshlogins;      // -S / --sshlogin, each as given
  std::vector<std::string> sshloginfiles;  // --sshloginfile / --slf FILE, read when the run starts
  std::string launcher;                    // --launcher ssh|srun|local ("": ssh if -S, else local)
  std::string data_channel;                // --data-channel tcp|stdio|auto ("": auto)
  FileMoverOptions movers;                 // --transfer, --return, --cleanup, --workdir ...
  // Whether any of them was given.
  bool given() const {
    return !sshlogins.empty() || !sshloginfiles.empty() || !launcher.empty() ||
           !data_channel.empty();
  }
};

// The launcher the run's workers start with, or nullopt to run them here. Reads the
// --sshloginfile files (one login per line; blank lines and '#' comments skipped). Throws
// UsageError naming a malformed login, an unreadable file, or a bad --launcher or
// --data-channel value.
std::optional<Launcher> run_launcher(const RemoteRunOptions& remote);

// Whether `launcher` starts any worker on another host (not only ':').
bool has_remote_hosts(const std::optional<Launcher>& launcher);

}  // namespace forkpool::cli
