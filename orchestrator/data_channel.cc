#include "orchestrator/data_channel.h"

#include <algorithm>

#include "forkpool/worker.h"
#include "io/socket.h"
#include "io/syscalls.h"
#include "orchestrator/pool_core.h"
#include "serialization/messages.h"

namespace forkpool::orchestrator {

DataChannelListener::DataChannelListener(io::Epoll& epoll, std::uint64_t listen_data,
                                         std::uint64_t pending_data)
    : epoll_(epoll),
      pending_data_(pending_data),
      socket_(io::listen_tcp()),
      port_(io::local_port(socket_)) {
  epoll_.add(socket_, EPOLLIN, listen_data);
}

io::Deadline DataChannelListener::next_deadline(Clock::time_point now) const {
  if (pending_.empty()) return std::nullopt;
  Clock::time_point first = pending_.front().deadline;
  for (const Pending& p : pending_) first = std::min(first, p.deadline);
  return std::chrono::ceil<std::chrono::milliseconds>(std::max(first - now, Clock::duration{}));
}

bool DataChannelListener::read_some(Pending& pending) {
  const std::size_t got = pending.token.size();
  std::string rest(serialization::kTokenSize - got, '\0');
  try {
    auto n = io::read_once(pending.connection.get(), rest, std::chrono::milliseconds(0),
                           io::FdMode::kNonBlocking);
    if (!n) return true;        // nothing yet
    if (*n == 0) return false;  // closed (or reset) before its token
    pending.token.append(rest.data(), *n);
    return true;
  } catch (const std::system_error&) {
    return false;
  }
}

std::vector<DataChannelListener::Arrival> DataChannelListener::take_arrivals(
    Clock::time_point now) {
  while (io::Fd connection = io::accept_connection(socket_)) {
    io::set_nonblocking(connection.get(), true);
    epoll_.add(connection, EPOLLIN, pending_data_);
    pending_.push_back({std::move(connection), {}, now + kTokenTimeout});
  }
  std::vector<Arrival> arrivals;
  for (auto it = pending_.begin(); it != pending_.end();) {
    const bool open = read_some(*it);
    const bool whole = it->token.size() == serialization::kTokenSize;
    if (open && !whole && now < it->deadline) {
      ++it;
      continue;
    }
    epoll_.remove(it->connection);
    if (open && whole) arrivals.push_back({std::move(it->connection), std::move(it->token)});
    it = pending_.erase(it);  // closes the others, unanswered
  }
  return arrivals;
}

void PoolCore::on_data_connections() {
  auto arrivals = data_listener_->take_arrivals(Clock::now());
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
