// TCP sockets for the data channel: listen, accept, connect, and a reset peer read as EOF.
#include "io/socket.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <string>
#include <system_error>

#include "io/syscalls.h"
#include "support/leak_check.h"

namespace forkpool::io {
namespace {

using namespace std::chrono_literals;

Fd accept_one(const Fd& listener) {
  EXPECT_NE(poll_one(listener.get(), POLLIN, 60s), 0);
  return accept_connection(listener);
}

TEST(SocketTest, ConnectsAcceptsAndCarriesBytesWithNagleOff) {
  testing::LeakCheck leaks;
  {
    Fd listener = listen_tcp();
    const std::uint16_t port = local_port(listener);
    EXPECT_NE(port, 0);
    EXPECT_FALSE(accept_connection(listener).valid());  // nobody waits yet
    Fd client = connect_tcp("localhost", port);
    Fd server = accept_one(listener);
    ASSERT_TRUE(server.valid());
    for (const Fd* end : {&client, &server}) {
      int on = 0;
      socklen_t size = sizeof on;
      ::getsockopt(end->get(), IPPROTO_TCP, TCP_NODELAY, &on, &size);
      EXPECT_EQ(on, 1);
    }
    std::string hello = "hello";
    iovec v{hello.data(), hello.size()};
    ASSERT_TRUE(write_all(client.get(), {&v, 1}, 10s));
    char got[5];
    EXPECT_EQ(read_once(server.get(), got, 60s), std::optional<std::size_t>(5));
    EXPECT_EQ(std::string(got, 5), "hello");
  }
  leaks.check();
}

TEST(SocketTest, ARefusedConnectionNamesHostAndPort) {
  Fd listener = listen_tcp();
  const std::uint16_t port = local_port(listener);
  listener.reset();  // nobody listens there now
  try {
    connect_tcp("127.0.0.1", port);
    FAIL() << "expected a refusal";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(connect_tcp("no-such-host.invalid", 1), std::system_error);
}

TEST(SocketTest, APeerThatResetsTheConnectionReadsAsEndOfStream) {
  Fd listener = listen_tcp();
  Fd client = connect_tcp("127.0.0.1", local_port(listener));
  Fd server = accept_one(listener);
  // Closing with unread bytes makes the kernel send a reset instead of a FIN.
  std::string unread = "x";
  iovec v{unread.data(), unread.size()};
  ASSERT_TRUE(write_all(client.get(), {&v, 1}, 10s));
  ASSERT_NE(poll_one(server.get(), POLLIN, 60s), 0);
  server.reset();
  char byte;
  EXPECT_EQ(read_once(client.get(), {&byte, 1}, 60s), std::optional<std::size_t>(0));
  EXPECT_FALSE(write_all(client.get(), {&v, 1}, 10s));  // the peer is gone
}

}  // namespace
}  // namespace forkpool::io
