// DataChannelListener: the TCP socket a remote worker connects back to, so that its frames
// travel on a connection of its own instead of through ssh or srun (which move 25-30 MB/s,
// against GB/s for TCP). Each worker gets a one-time token over its launcher's stdin
// (workers/launcher.h) and presents it first; a connection that presents no token the pool
// issued is closed unanswered.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "io/fd.h"

namespace forkpool::orchestrator {

class DataChannelListener {
 public:
  // Listens on every address, on a free port. Throws std::system_error.
  DataChannelListener();

  const io::Fd& fd() const { return socket_; }
  std::uint16_t port() const { return port_; }

  struct Arrival {
    io::Fd connection;  // non-blocking, Nagle off
    std::string token;  // the first serialization::kTokenSize bytes it sent
  };
  // Every connection waiting, with its token. A connection that sends no whole token within
  // `wait` (a stray client, a port scanner) is closed and left out. Reads nothing past the
  // token: the worker's Hello follows it on the same connection.
  std::vector<Arrival> accept_all(std::chrono::milliseconds wait);

 private:
  io::Fd socket_;
  std::uint16_t port_ = 0;
};

}  // namespace forkpool::orchestrator
