#include "orchestrator/data_channel.h"

#include "forkpool/worker.h"
#include "io/socket.h"
#include "io/syscalls.h"
#include "orchestrator/pool_core.h"
#include "serialization/messages.h"

namespace forkpool::orchestrator {
namespace {

using Clock = std::chrono::steady_clock;

// The token, read byte-exact; empty if the peer sends less within `wait` or closes.
std::string read_token(const io::Fd& connection, std::chrono::milliseconds wait) {
  std::string token(serialization::kTokenSize, '\0');
  std::size_t got = 0;
  const auto until = Clock::now() + wait;
  while (got < token.size()) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0) return {};
    auto n = io::read_once(connection.get(), std::span(token).subspan(got), left);
    if (!n || *n == 0) return {};
    got += *n;
  }
  return token;
}

}  // namespace

DataChannelListener::DataChannelListener()
    : socket_(io::listen_tcp()), port_(io::local_port(socket_)) {}

std::vector<DataChannelListener::Arrival> DataChannelListener::accept_all(
    std::chrono::milliseconds wait) {
  std::vector<Arrival> arrivals;
  while (io::Fd connection = io::accept_connection(socket_)) {
    std::string token;
    try {
      token = read_token(connection, wait);
    } catch (const std::system_error&) {
      // reset by the peer: nothing to answer
    }
    if (token.empty()) continue;  // closed unanswered
    io::set_nonblocking(connection.get(), true);
    arrivals.push_back({std::move(connection), std::move(token)});
  }
  return arrivals;
}

void PoolCore::on_data_connections() {
  // A worker writes its token right after connecting: it is here by the time the connection
  // is, or a moment later. The wait only bounds a client that connects and says nothing.
  auto arrivals = data_listener_->accept_all(std::chrono::milliseconds(500));
  Lock lock(mutex_);
  for (auto& arrival : arrivals) {
    WorkerSlot* slot = nullptr;
    for (auto& [id, candidate] : slots_) {
      if (!candidate->data_token.empty() && candidate->data_token == arrival.token &&
          candidate->state == WorkerSlot::State::kStarting) {
        slot = candidate.get();
      }
    }
    if (slot == nullptr) {
      task_logger().warn("forkpool: closed a data connection that presented no valid token");
      continue;
    }
    // Before its Hello nothing has travelled on the worker's pipes but the offer: its frames
    // move to the connection, and the pipes stay open as the control channel.
    stop_reading(*slot);
    slot->data_token.clear();  // one time only
    slot->control_in = std::move(slot->to_worker);
    slot->control_out = std::move(slot->from_worker);
    slot->from_worker = io::Fd::duplicate(arrival.connection.get());
    slot->to_worker = std::move(arrival.connection);
    epoll_.add(slot->from_worker, EPOLLIN, slot_epoll_data(slot->id, false));
    slot->reading = true;
  }
}

}  // namespace forkpool::orchestrator
