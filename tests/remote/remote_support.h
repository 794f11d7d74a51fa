// Support for the tests of remote workers against the real daemons (an sshd reachable as
// `ssh fp-loopback`, a single-node Slurm where `srun` runs steps): whether they are up, a
// launcher whose workers carry a unique tag on their command line, and the process-list check
// that nothing with that tag is left on the host once a test is done.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "forkpool/launcher.h"

namespace forkpool::testing {

// The ssh alias the shared start script configures.
inline constexpr const char* kSshHost = "fp-loopback";

// Why the daemon cannot be used ("" if it can): `ssh fp-loopback true` or `srun true` fails.
std::string ssh_unavailable();
std::string srun_unavailable();

// A tag unique to this test run, for the command line of its remote workers.
std::string unique_tag();

// A launcher whose workers are this test binary, as `--forkpool-worker --stdio --tag=TAG`.
Launcher tagged_launcher(Launcher launcher, const std::string& tag);

// The processes (on this host, which every test host is) whose command line holds `tag`.
std::vector<pid_t> processes_tagged(const std::string& tag);

// Waits, on each one's pidfd, until every process tagged `tag` has exited; a generous
// deadline only detects a hang. Returns what is still running ("" if nothing).
std::string wait_gone(const std::string& tag,
                      std::chrono::milliseconds deadline = std::chrono::seconds(60));
// The same for the processes `pids`.
std::string wait_gone(const std::vector<pid_t>& pids,
                      std::chrono::milliseconds deadline = std::chrono::seconds(60));

}  // namespace forkpool::testing
