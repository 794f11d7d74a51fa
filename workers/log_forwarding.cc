#include "workers/log_forwarding.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "forkpool/worker.h"

namespace forkpool {
namespace {

std::shared_ptr<spdlog::logger>& current_task_logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = std::make_shared<spdlog::logger>(
        "forkpool", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    l->set_level(spdlog::level::info);
    return l;
  }();
  return logger;
}

}  // namespace

spdlog::logger& task_logger() { return *current_task_logger(); }

namespace workers {

void ForwardingSink::sink_it_(const spdlog::details::log_msg& msg) {
  send_(static_cast<int>(msg.level), std::string(msg.payload.data(), msg.payload.size()));
}

void install_forwarding_logger(ForwardingSink::Send send) {
  auto logger = std::make_shared<spdlog::logger>("forkpool-task",
                                                 std::make_shared<ForwardingSink>(std::move(send)));
  logger->set_level(spdlog::level::trace);
  current_task_logger() = std::move(logger);
}

}  // namespace workers
}  // namespace forkpool
