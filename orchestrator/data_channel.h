// DataChannelListener: the TCP socket a remote worker connects back to, so that its frames
// travel on a connection of its own instead of through ssh or srun (which move 25-80 MB/s,
// against GB/s for TCP). Each worker gets a one-time token over its launcher's stdin
// (workers/launcher.h) and presents it first; a connection that presents no token the pool
// issued is closed unanswered.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "io/epoll.h"
#include "io/fd.h"

namespace forkpool::orchestrator {

class DataChannelListener {
 public:
  using Clock = std::chrono::steady_clock;
  // How long a connection may take to send its token.
  static constexpr std::chrono::seconds kTokenTimeout{10};

  // Listens on every address, on a free port, watched in `epoll` with `listen_data`; the
  // connections that have not yet sent a whole token are watched with `pending_data`.
  // REQUIRES: `epoll` outlives the listener. Throws std::system_error.
  DataChannelListener(io::Epoll& epoll, std::uint64_t listen_data, std::uint64_t pending_data);

  std::uint16_t port() const { return port_; }
  // Whether some connection has not yet sent its token (call take_arrivals() again, by
  // next_deadline() at the latest).
  bool pending() const { return !pending_.empty(); }
  io::Deadline next_deadline(Clock::time_point now) const;

  struct Arrival {
    io::Fd connection;  // non-blocking, Nagle off, no longer watched here
    std::string token;  // the first serialization::kTokenSize bytes it sent
  };
  // Accepts the connections waiting and reads what the pending ones sent, without waiting;
  // returns those whose token is whole. Never reads past a token: the worker's Hello follows
  // it on the same connection. A connection that closes, fails, or has not sent its token by
  // kTokenTimeout (a stray client, a port scanner) is closed unanswered.
  std::vector<Arrival> take_arrivals(Clock::time_point now);

 private:
  struct Pending {
    io::Fd connection;
    std::string token;  // what it has sent so far
    Clock::time_point deadline;
  };
  // Reads what `pending` has sent; false if it must be closed.
  static bool read_some(Pending& pending);

  io::Epoll& epoll_;
  const std::uint64_t pending_data_;
  io::Fd socket_;
  std::uint16_t port_ = 0;
  std::vector<Pending> pending_;
};

}  // namespace forkpool::orchestrator
