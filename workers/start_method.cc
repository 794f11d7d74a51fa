#include "workers/start_method.h"

#include "workers/fork_starter.h"
#include "workers/forkserver_starter.h"
#include "workers/launcher.h"
#include "workers/spawn_starter.h"

namespace forkpool::workers {

std::unique_ptr<WorkerStarter> make_starter(const StarterConfig& config) {
  if (!config.command.empty() || config.launcher.kind != Launcher::Kind::kLocal) {
    return std::make_unique<LauncherStarter>(config);
  }
  switch (config.method) {
    case StartMethod::kFork:
      return std::make_unique<ForkStarter>(config);
    case StartMethod::kForkserver:
      return std::make_unique<ForkserverStarter>(config);
    case StartMethod::kSpawn:
      return std::make_unique<SpawnStarter>(config);
  }
  return nullptr;
}

}  // namespace forkpool::workers
