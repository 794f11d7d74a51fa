// A worker of another protocol version, for the handshake's refusal: this test binary, started
// with FORKPOOL_TEST_OLD_PROTOCOL in its environment, says Hello as protocol 3 did and then
// waits for its stdin to close. It runs before main(), like a program built against an older
// forkpool would, without ever reaching the tests.
#include <unistd.h>

#include <cstdlib>

#include "forkpool/detail/archive.h"
#include "io/fd.h"
#include "io/frame_writer.h"
#include "io/syscalls.h"
#include "serialization/messages.h"

namespace forkpool::testing {
namespace {

const bool kOldWorker = [] {
  if (std::getenv("FORKPOOL_TEST_OLD_PROTOCOL") == nullptr) return false;
  // Protocol 3's Hello: no host at the end.
  const serialization::Hello now = serialization::hello_from_this_process(0, 1 << 20);
  detail::Payload hello;
  detail::encode_values(hello, std::uint32_t{3}, now.pid, now.worker_id, now.build_id,
                        now.registry_hash, now.max_frame);
  io::Fd out(STDOUT_FILENO);
  io::FrameWriter(out).write_frame(static_cast<std::uint8_t>(serialization::Kind::kHello), 0, 0,
                                   hello);
  out.release();
  char buffer[4096];
  while (io::read_once(STDIN_FILENO, buffer, std::nullopt).value_or(0) > 0) {
  }
  ::_exit(0);
}();

}  // namespace
}  // namespace forkpool::testing
