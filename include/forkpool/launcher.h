// Launcher: where a Pool's workers run. Locally (the start methods), or on other hosts through
// an engine that already starts processes there: ssh, or Slurm's srun inside an allocation.
// A launcher is only the command line that starts a worker; the worker, the protocol and the
// Pool are the same as locally. Workers are started once each, not once per task.
//
//   forkpool::Pool pool({.launcher = forkpool::Launcher::ssh_hosts({"2/node1", "1/:"})});
//   forkpool::Pool pool({.launcher = forkpool::Launcher::srun_slots()});  // in an allocation
#pragma once

#include <string>
#include <vector>

namespace forkpool {

// How a remote worker's frames travel (Launcher::data_channel).
enum class DataChannel {
  // A TCP connection of the worker's own back to the pool, opened with a one-time token the
  // pool hands it over the launcher's stdin; falls back to the launcher's stdio if the worker
  // cannot connect.
  kAuto,
  // The TCP connection, or the worker fails to start.
  kTcp,
  // The launcher's stdin and stdout (ssh and srun move bulk data at 25-30 MB/s).
  kStdio,
};

// "auto", "tcp", "stdio".
inline const char* to_string(DataChannel channel) {
  switch (channel) {
    case DataChannel::kAuto:
      return "auto";
    case DataChannel::kTcp:
      return "tcp";
    case DataChannel::kStdio:
      return "stdio";
  }
  return "unknown";
}

struct Launcher {
  enum class Kind {
    kLocal,  // Options::start_method (or Options::worker_command)
    kSsh,    // `ssh HOST WORKER...` per worker slot of `hosts`
    kSrun,   // `srun --unbuffered -N1 -n1 --exclusive WORKER...` per slot
  };
  Kind kind = Kind::kLocal;
  // kSsh: GNU parallel's --sshlogin entries, each "host", "user@host", "N/host" (N workers
  // there; default 1) or ":" (this machine, started without ssh); an entry may hold several,
  // comma-separated.
  std::vector<std::string> hosts{};
  // kSrun: worker slots; 0 reads the allocation (SLURM_NTASKS, else SLURM_JOB_CPUS_PER_NODE
  // times SLURM_JOB_NUM_NODES, else 1).
  unsigned slots = 0;
  // What runs on the host and serves the protocol on its stdio. Empty: this program, by the
  // same path, with forkpool's worker flag (its main() must call
  // forkpool::worker_main_if_requested). `forkpool run` uses {"forkpool", "worker"}.
  std::vector<std::string> worker{};
  // The engine's own command before the host or the worker: {"ssh"} (add "-p", "2222", "-o",
  // ...) and {"srun"}.
  std::vector<std::string> ssh{"ssh"};
  std::vector<std::string> srun{"srun"};
  // How frames travel; see DataChannel.
  DataChannel data_channel = DataChannel::kAuto;
  // The address remote workers connect back to for DataChannel::kTcp; empty: the address of
  // the connection ssh came in on (SSH_CONNECTION, seen from the worker), else this host's
  // name.
  std::string listen_host{};
  // A host whose workers fail to start this many times in a row is given up (one error naming
  // it); the pool goes on with the others. Between failures its restarts back off.
  int host_start_failures = 3;

  static Launcher ssh_hosts(std::vector<std::string> hosts) {
    Launcher l;
    l.kind = Kind::kSsh;
    l.hosts = std::move(hosts);
    return l;
  }
  static Launcher srun_slots(unsigned slots = 0) {
    Launcher l;
    l.kind = Kind::kSrun;
    l.slots = slots;
    return l;
  }
};

}  // namespace forkpool
