// DataChannelListener: a connection is handed over once its whole token is in, and never a
// byte past it; one that closes, or says nothing by its deadline, is closed unanswered.
#include "orchestrator/data_channel.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <string>

#include "io/socket.h"
#include "io/syscalls.h"
#include "serialization/messages.h"

namespace forkpool::orchestrator {
namespace {

using namespace std::chrono_literals;
using Clock = DataChannelListener::Clock;

void send(const io::Fd& fd, std::string bytes) {
  iovec v{bytes.data(), bytes.size()};
  ASSERT_TRUE(io::write_all(fd.get(), {&v, 1}, 10s));
}

// Waits for the epoll set to report the listener or a pending connection, then takes.
std::vector<DataChannelListener::Arrival> next(io::Epoll& epoll, DataChannelListener& listener,
                                               Clock::time_point now = Clock::now()) {
  epoll_event events[4];
  EXPECT_NE(epoll.wait(events, 60s), 0u);
  return listener.take_arrivals(now);
}

TEST(DataChannelListener, HandsOverAConnectionOnceItsTokenIsWholeAndNotAByteMore) {
  io::Epoll epoll;
  DataChannelListener listener(epoll, 1, 2);
  io::Fd worker = io::connect_tcp("127.0.0.1", listener.port());
  const std::string token(serialization::kTokenSize, 'a');
  send(worker, token.substr(0, 10));
  auto arrivals = next(epoll, listener);  // accepted, with a part of the token at most
  EXPECT_TRUE(arrivals.empty());
  EXPECT_TRUE(listener.next_deadline(Clock::now()).has_value());
  send(worker, token.substr(10) + "HELLO");
  while (arrivals.empty()) {
    ASSERT_TRUE(listener.pending());
    arrivals = next(epoll, listener);
  }
  ASSERT_EQ(arrivals.size(), 1u);
  EXPECT_EQ(arrivals[0].token, token);
  EXPECT_FALSE(listener.pending());
  char hello[5];
  EXPECT_EQ(io::read_once(arrivals[0].connection.get(), hello, 60s), std::optional<std::size_t>(5));
  EXPECT_EQ(std::string(hello, 5), "HELLO");
}

TEST(DataChannelListener, ClosesAConnectionThatEndsBeforeItsToken) {
  io::Epoll epoll;
  DataChannelListener listener(epoll, 1, 2);
  io::Fd stray = io::connect_tcp("127.0.0.1", listener.port());
  send(stray, "short");
  ::shutdown(stray.get(), SHUT_WR);
  std::vector<DataChannelListener::Arrival> arrivals;
  do {
    arrivals = next(epoll, listener);
  } while (listener.pending());
  EXPECT_TRUE(arrivals.empty());
  char byte;
  EXPECT_EQ(io::read_once(stray.get(), {&byte, 1}, 60s), std::optional<std::size_t>(0));
}

TEST(DataChannelListener, ClosesASilentConnectionAtItsDeadline) {
  io::Epoll epoll;
  DataChannelListener listener(epoll, 1, 2);
  io::Fd silent = io::connect_tcp("127.0.0.1", listener.port());
  EXPECT_TRUE(next(epoll, listener).empty());
  ASSERT_TRUE(listener.pending());
  // The deadline is a time point the caller passes in: no waiting for it here.
  const auto later = Clock::now() + DataChannelListener::kTokenTimeout + 1s;
  EXPECT_EQ(listener.next_deadline(later), std::optional(std::chrono::milliseconds(0)));
  EXPECT_TRUE(listener.take_arrivals(later).empty());
  EXPECT_FALSE(listener.pending());
  char byte;
  EXPECT_EQ(io::read_once(silent.get(), {&byte, 1}, 60s), std::optional<std::size_t>(0));
}

}  // namespace
}  // namespace forkpool::orchestrator
