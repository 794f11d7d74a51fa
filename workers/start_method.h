// Starting workers: one interface, one implementation per start method or launcher.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

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
};

struct StarterConfig {
  StartMethod method = StartMethod::kForkserver;
  std::string executable;            // kSpawn; empty: /proc/self/exe
  std::vector<std::string> command;  // a launcher command; overrides method
  std::size_t max_frame = io::kDefaultMaxFrame;
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
};

std::unique_ptr<WorkerStarter> make_starter(const StarterConfig& config);

}  // namespace forkpool::workers
