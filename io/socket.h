// TCP sockets for a remote worker's data channel: the pool listens, the worker connects back.
// Bytes on them move through the same read_once/write_all (io/syscalls.h) as on pipes.
#pragma once

#include <cstdint>
#include <string>

#include "io/fd.h"

namespace forkpool::io {

// A close-on-exec, non-blocking socket listening on every IPv4 address, on `port` (0: a free
// one). Throws std::system_error.
Fd listen_tcp(std::uint16_t port = 0);

// The port a bound socket has. Throws std::system_error.
std::uint16_t local_port(const Fd& socket);

// The next connection waiting on a listening socket, close-on-exec and with Nagle off; an
// invalid Fd if none waits. Throws std::system_error on other errors.
Fd accept_connection(const Fd& listener);

// A blocking, close-on-exec connection to host:port with Nagle off: a frame is written whole
// (one writev), and must not wait for the peer's delayed ACK of the one before. Throws
// std::system_error naming host and port if no address of the host accepts.
Fd connect_tcp(const std::string& host, std::uint16_t port);

}  // namespace forkpool::io
