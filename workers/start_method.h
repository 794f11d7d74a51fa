// Starting workers: one interface, one implementation per start method or launcher.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "forkpool/launcher.h"
#include "forkpool/options.h"
#include "io/fd.h"
#include "workers/child.h"
#include "workers/worker_loop.h"

namespace forkpool::workers {

// A worker that has been started: its process and the parent's ends of its two pipes.
struct StartedWorker {
  Child child;
  io::Fd to_worker;    // tasks go here (parent's write end)
  io::Fd from_worker;  // frames come back here (parent's read end)
  // Where it runs: a host name for a remote launcher's worker, empty for this machine.
  std::string host{};
  // The one-time token its data connection must present (empty: no data connection).
  std::string data_token{};
};

struct StarterConfig {
  StartMethod method = StartMethod::kForkserver;
  std::string executable;            // kSpawn; empty: /proc/self/exe
  std::vector<std::string> command;  // a launcher command; overrides method
  std::size_t max_frame = io::kDefaultMaxFrame;
  Launcher launcher{};          // kSsh, kSrun: overrides command and method
  std::uint16_t data_port = 0;  // the pool's data channel listener, if any
};

class WorkerStarter {
 public:
  virtual ~WorkerStarter() = default;
  // Starts one worker. Throws forkpool::Error (or std::system_error) if it cannot.
  // The caller must call it from a thread that lives as long as the workers: workers die
  // with the thread that started them (PR_SET_PDEATHSIG is per thread).
  virtual StartedWorker start(std::uint32_t worker_id) = 0;
  // "fork", "forkserver (zygote pid 123)", "spawn /path", "command 'ssh h forkpool worker'".
  virtual std::string describe() const = 0;

  // For starters that place workers on hosts (workers/launcher.h); the others need not care.
  using Clock = std::chrono::steady_clock;
  // Whether start() has somewhere to put a worker now; if not, `retry_at` says when to ask
  // again (a host backing off), or stays nullopt (wait for a worker to end).
  virtual bool can_start(Clock::time_point /*now*/,
                         std::optional<Clock::time_point>& /*retry_at*/) {
    return true;
  }
  // The worker `worker_id` has ended; `started` says whether it finished its handshake (a
  // worker that never did counts against its host).
  virtual void ended(std::uint32_t /*worker_id*/, bool /*started*/) {}
  // The worker `worker_id`'s host can never serve this pool (it speaks another protocol):
  // start no more there. Returns false if this starter has no hosts to give up.
  virtual bool give_up_host(std::uint32_t /*worker_id*/, const std::string& /*why*/) {
    return false;
  }
};

std::unique_ptr<WorkerStarter> make_starter(const StarterConfig& config);

}  // namespace forkpool::workers
