#include "cli/logging.h"

#include <spdlog/cfg/helpers.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string_view>

#include "forkpool/worker.h"

namespace forkpool::cli {
namespace {

// spdlog ignores a level name it does not know; say which ones were ignored instead, so a
// typo in FORKPOOL_LOG is not silent.
std::string unknown_levels(std::string_view spec) {
  std::string unknown;
  std::istringstream items{std::string(spec)};
  for (std::string item; std::getline(items, item, ',');) {
    std::string level = item.substr(item.find('=') + 1);
    std::erase_if(level, [](char c) { return c == ' ' || c == '\t'; });
    std::transform(level.begin(), level.end(), level.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (level.empty() || level == "off") continue;
    if (spdlog::level::from_str(level) == spdlog::level::off) {
      unknown += (unknown.empty() ? "'" : ", '") + level + "'";
    }
  }
  return unknown;
}

// The level spdlog's registry gives a logger of `name` after load_levels(): its own entry,
// else the global level. The task logger is not registered (a library should not claim a
// name in the application's registry), so a stand-in of the same name asks, then leaves.
spdlog::level::level_enum registry_level_for(const std::string& name) {
  auto stand_in = std::make_shared<spdlog::logger>(name);
  spdlog::initialize_logger(stand_in);
  const spdlog::level::level_enum level = stand_in->level();
  spdlog::drop(name);
  return level;
}

}  // namespace

std::string configure_logging(const char* log_spec, int verbosity) {
  spdlog::logger& logger = task_logger();
  std::string warning;
  if (log_spec != nullptr && *log_spec != '\0') {
    spdlog::cfg::helpers::load_levels(log_spec);
    logger.set_level(registry_level_for(logger.name()));
    if (std::string unknown = unknown_levels(log_spec); !unknown.empty()) {
      warning = std::string(kLogEnvironmentVariable) + ": unknown log level " + unknown +
                " ignored (trace, debug, info, warn, error, critical or off)";
    }
  }
  if (verbosity > 0) {
    logger.set_level(verbosity == 1 ? spdlog::level::debug : spdlog::level::trace);
  }
  return warning;
}

}  // namespace forkpool::cli
