// TCP sockets for the data channel: listen, accept, connect, a reset peer read as EOF, and
// frames large and small read whole off a socket, or refused whole when the stream ends early.
#include "io/socket.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <string>
#include <system_error>
#include <thread>

#include "forkpool/errors.h"
#include "io/blocking_reader.h"
#include "io/frame_writer.h"
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

Payload patterned(std::size_t size, int seed) {
  Payload p(size);
  for (std::size_t i = 0; i < size; ++i) p[i] = static_cast<char>((i * 31 + seed) & 0xff);
  return p;
}

// The data channel's path: a large frame (read in pieces, hashed as they arrive), a small one
// after it, then a large one whose sender stops halfway. The first two arrive whole and
// intact; the third is one TruncatedFrame saying how far it got, not a partial payload.
TEST(SocketTest, LargeAndSmallFramesReadWholeAndAFrameCutShortIsTruncated) {
  testing::LeakCheck leaks;
  {
    Fd listener = listen_tcp();
    Fd client = connect_tcp("127.0.0.1", local_port(listener));
    Fd server = accept_one(listener);
    set_nonblocking(server.get(), true);                           // as the collector reads it
    constexpr std::size_t kLarge = (std::size_t{1} << 20) + 1000;  // read in pieces
    std::thread sender([&] {
      FrameWriter writer(client);
      writer.write_frame(1, 0, 7, patterned(kLarge, 1));
      writer.write_frame(2, 0, 8, patterned(100, 2));
      const Payload cut = patterned(kLarge, 3);
      FrameHeader header;
      header.payload_length = kLarge;
      header.checksum = frame_checksum(cut);
      header.task_id = 9;
      HeaderBytes raw = encode_header(header);
      iovec v[2] = {{raw.data(), raw.size()}, {const_cast<char*>(cut.data()), kLarge / 2}};
      EXPECT_TRUE(write_all(client.get(), v, 10s));
      client.reset();  // the stream ends halfway through the payload
    });
    BlockingReader reader(server);
    auto large = reader.read_frame();
    ASSERT_TRUE(large);
    EXPECT_EQ(large->task_id, 7u);
    EXPECT_TRUE(large->payload == patterned(kLarge, 1));
    auto small = reader.read_frame();
    ASSERT_TRUE(small);
    EXPECT_EQ(small->task_id, 8u);
    EXPECT_TRUE(small->payload == patterned(100, 2));
    try {
      reader.read_frame();
      FAIL() << "expected TruncatedFrame";
    } catch (const TruncatedFrame& e) {
      EXPECT_EQ(e.expected, kFrameHeaderSize + kLarge);
      EXPECT_EQ(e.got, kFrameHeaderSize + kLarge / 2);
    }
    sender.join();
  }
  leaks.check();
}

}  // namespace
}  // namespace forkpool::io
