// Tasks the remote tests run on workers started through ssh and srun: this test binary, by
// the same path, on the other side of the launcher.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "forkpool/forkpool.h"
#include "support/gate.h"

namespace forkpool::testing {

inline int remote_square(int x) { return x * x; }
FORKPOOL_TASK(remote_square_task, remote_square);

inline std::string remote_host_name() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}
FORKPOOL_TASK(remote_host_task, remote_host_name);

inline int remote_fail(std::string why) { throw std::invalid_argument(why); }
FORKPOOL_TASK(remote_fail_task, remote_fail);

// `bytes` bytes of a pattern the test can check without keeping a copy.
inline std::string remote_blob(std::uint64_t bytes) {
  std::string blob(bytes, '\0');
  for (std::uint64_t i = 0; i < bytes; ++i) blob[i] = static_cast<char>('a' + i % 26);
  return blob;
}
FORKPOOL_TASK(remote_blob_task, remote_blob);

// Announces itself at the gate (with its worker's pid) and waits there for ever.
inline int remote_hold(std::string gate) {
  Gate::enter(gate);
  Gate::await_release(gate);
  return 7;
}
FORKPOOL_TASK(remote_hold_task, remote_hold);

inline bool blob_is_right(const std::string& blob, std::uint64_t bytes) {
  if (blob.size() != bytes) return false;
  for (std::uint64_t i = 0; i < bytes; ++i) {
    if (blob[i] != static_cast<char>('a' + i % 26)) return false;
  }
  return true;
}

}  // namespace forkpool::testing
