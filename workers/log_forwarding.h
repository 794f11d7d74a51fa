// Log forwarding: in a worker, log lines become Log frames to the parent instead of writes to a
// stderr that every worker shares.
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace forkpool::workers {

// A sink that hands each formatted line and its level to `send`.
class ForwardingSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  using Send = std::function<void(int level, const std::string& text)>;
  explicit ForwardingSink(Send send) : send_(std::move(send)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  Send send_;
};

// Points forkpool::task_logger() at a logger that forwards through `send` (in a worker).
void install_forwarding_logger(ForwardingSink::Send send);

}  // namespace forkpool::workers
