// StartMethod::kSpawn: the worker is a new program.
//
// kSpawn execs `executable` (default /proc/self/exe) with the worker's pipes as fds 3 and 4;
// its main() enters the worker loop through forkpool::worker_main_if_requested. A launcher
// command (Options::worker_command, ssh, srun) gets them as stdin and stdout instead: see
// workers/launcher.h.
#pragma once

#include <string>
#include <vector>

#include "workers/start_method.h"

namespace forkpool::workers {

class SpawnStarter : public WorkerStarter {
 public:
  explicit SpawnStarter(const StarterConfig& config);
  StartedWorker start(std::uint32_t worker_id) override;
  std::string describe() const override;

 private:
  StarterConfig config_;
  std::string executable_;
};

// Starts `executable args` by posix_spawn with a fresh pair of pipes: the child reads tasks on
// descriptor `tasks_fd` and writes results on `results_fd`; the parent keeps the other ends.
// kSpawn and the launchers both start their workers this way. Throws Error("`what`: <reason>")
// if the program cannot be started.
StartedWorker spawn_on_pipes(const std::string& executable, const std::vector<std::string>& args,
                             int tasks_fd, int results_fd, const std::string& what);

// The argv marker and options kSpawn passes; worker_main_if_requested parses them.
inline constexpr const char* kWorkerFlag = "--forkpool-worker";
inline constexpr int kSpawnTasksFd = 3;
inline constexpr int kSpawnResultsFd = 4;

}  // namespace forkpool::workers
