// LauncherStarter: starts each worker as a command that speaks the protocol on its stdio,
// placed on a host: `ssh HOST WORKER...` per slot of a GNU parallel --sshlogin list, `srun
// --unbuffered -N1 -n1 ... WORKER...` per slot of a Slurm allocation, or a plain command
// (Options::worker_command). The first frame on the worker's stdin is a DataChannel offer
// (serialization/messages.h): stdio, or a TCP connection back to the pool with a one-time
// token.
//
// It keeps the books per host: which slots are busy, how many starts failed in a row, when to
// try again (backing off), and which hosts it has given up on.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "workers/start_method.h"

namespace forkpool::workers {

// One --sshlogin entry: a host and its worker slots; ":" (local) is this machine, no ssh.
struct HostSlots {
  std::string host;
  unsigned slots = 1;
  bool local = false;
  bool operator==(const HostSlots&) const = default;
};

// Parses GNU parallel's --sshlogin entries ("host", "user@host", "N/host", ":", several
// comma-separated in one entry). Throws forkpool::Error naming a malformed entry.
std::vector<HostSlots> parse_sshlogins(const std::vector<std::string>& entries);

// The worker slots of the Slurm allocation this process runs in: SLURM_NTASKS, else the sum
// of SLURM_JOB_CPUS_PER_NODE ("4(x2),2" is 10), else 1.
unsigned srun_slots_from_environment();

// How many workers a launcher places: the sum of its hosts' slots, or its srun slots; 0 for
// Launcher::Kind::kLocal.
unsigned launcher_slots(const Launcher& launcher);

// `word` quoted for a POSIX shell (ssh hands its arguments to the remote user's shell).
std::string shell_quote(const std::string& word);

class LauncherStarter : public WorkerStarter {
 public:
  explicit LauncherStarter(const StarterConfig& config);
  StartedWorker start(std::uint32_t worker_id) override;
  std::string describe() const override;
  bool can_start(Clock::time_point now, std::optional<Clock::time_point>& retry_at) override;
  void ended(std::uint32_t worker_id, bool started) override;
  bool give_up_host(std::uint32_t worker_id, const std::string& why) override;

 private:
  struct Host {
    HostSlots where;
    unsigned busy = 0;
    int failures = 0;  // starts in a row that never reached the handshake
    Clock::time_point retry_at{};
    bool given_up = false;
    std::string why;  // why it was given up
  };
  // The host with a free slot that has been used least, or nullptr.
  Host* pick(Clock::time_point now);
  std::vector<std::string> command_for(const Host& host) const;
  std::uint8_t channel_mode(const Host& host) const;
  bool all_given_up() const;
  void give_up(Host& host, const std::string& why);

  StarterConfig config_;
  std::vector<std::string> worker_;  // what runs on the host
  std::vector<Host> hosts_;
  std::map<std::uint32_t, std::size_t> placed_;  // worker id -> index in hosts_
};

}  // namespace forkpool::workers
