// Tasks that misbehave on purpose, for the fault matrix and the supervision tests: broken
// frames written straight onto the worker's result pipe (as a task with a stray write would),
// tasks that ignore SIGTERM or cancellation, tasks that fail a given number of times, and
// worker initializers.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "io/frame_format.h"
#include "orchestrator/test_tasks.h"
#include "workers/worker_loop.h"

namespace forkpool::testing {

inline void write_to_results(const char* bytes, std::size_t n) {
  const int fd = workers::current_results_fd();
  if (fd < 0) ::_exit(90);
  while (n > 0) {
    const ssize_t w = ::write(fd, bytes, n);
    if (w <= 0) ::_exit(91);
    bytes += w;
    n -= static_cast<std::size_t>(w);
  }
}

// A header that promises `promised` bytes of Result, then `sent` of them.
inline void write_partial_frame(std::uint32_t promised, std::size_t sent) {
  io::FrameHeader header;
  header.payload_length = promised;
  header.kind = 4;  // Result
  const io::HeaderBytes bytes = io::encode_header(header);
  write_to_results(bytes.data(), bytes.size());
  const std::string part(sent, 'x');
  write_to_results(part.data(), part.size());
}

// Sends 40 of 100 promised bytes, then the worker exits: the stream ends inside a frame.
inline int send_truncated_frame(int) {
  write_partial_frame(100, 40);
  ::_exit(0);
}
// Sends bytes that are not a frame, then waits to be killed.
inline int send_garbage(int) {
  const std::string garbage = "this is no frame header, just garbage!";
  write_to_results(garbage.data(), garbage.size());
  for (;;) ::pause();
}
// Answers its own task with a whole, checksummed Error frame whose payload is no ErrorReply,
// then hangs: a reply that cannot be decoded.
inline int send_garbled_error(int) {
  const std::string payload = "not an archive";
  io::FrameHeader header;
  header.payload_length = static_cast<std::uint32_t>(payload.size());
  header.kind = 5;  // Error
  header.checksum = io::frame_checksum(payload);
  header.task_id = workers::current_task_id();
  const io::HeaderBytes bytes = io::encode_header(header);
  write_to_results(bytes.data(), bytes.size());
  write_to_results(payload.data(), payload.size());
  for (;;) ::pause();
}
// Sends 40 of 100 promised bytes, then hangs: the frame stalls.
inline int stall_mid_frame(int) {
  write_partial_frame(100, 40);
  for (;;) ::pause();
}

// Announces itself, then waits for the release with SIGTERM ignored; returns `value`.
inline int ignore_sigterm_gated(std::string gate_dir, int value) {
  ::signal(SIGTERM, SIG_IGN);
  Gate::enter(gate_dir);
  Gate::await_release(gate_dir);
  return value;
}
// Announces itself and hangs with SIGTERM ignored: only SIGKILL ends it.
inline int ignore_sigterm_forever(std::string gate_dir) {
  ::signal(SIGTERM, SIG_IGN);
  Gate::enter(gate_dir);
  for (;;) ::pause();
}
// Announces itself, then works until it is cancelled; then creates `marker` and returns.
inline int until_cancelled(std::string gate_dir, std::string marker) {
  Gate::enter(gate_dir);
  while (!this_task::cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::FILE* f = std::fopen(marker.c_str(), "w");
  if (f != nullptr) std::fclose(f);
  return 1;
}
// Creates `path` (proof that it ran) and returns 1.
inline int touch(std::string path) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return 0;
  std::fclose(f);
  return 1;
}

// Counts its attempts in `counter` (a file, appended to by each attempt); the first `failures`
// attempts fail (how = 0: throw, 1: the worker exits with code 3); later ones return the
// attempt's number.
inline int fail_first(std::string counter, int failures, int how) {
  const int fd = ::open(counter.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot open " + counter);
  (void)!::write(fd, "x", 1);
  const off_t attempt = ::lseek(fd, 0, SEEK_END);
  ::close(fd);
  if (attempt <= failures) {
    if (how == 1) ::_exit(3);
    throw std::runtime_error("attempt " + std::to_string(attempt) + " fails");
  }
  return static_cast<int>(attempt);
}

// Initializers. The first worker to claim `token` (by removing it) announces itself through
// the gate and exits with code 9 before it is ready; every other worker starts normally.
inline void exit_once_during_start(std::string token, std::string gate_dir) {
  if (::unlink(token.c_str()) == 0) {
    Gate::enter(gate_dir);
    ::_exit(9);
  }
}
inline std::string& initialized_with() {
  static std::string value = "never initialized";
  return value;
}
inline void remember(std::string value) { initialized_with() = value; }
inline std::string what_was_initialized() { return initialized_with(); }
inline void refuse_to_start(std::string why) { throw std::runtime_error(why); }

FORKPOOL_TASK(send_truncated_frame_task, send_truncated_frame);
FORKPOOL_TASK(send_garbage_task, send_garbage);
FORKPOOL_TASK(stall_mid_frame_task, stall_mid_frame);
FORKPOOL_TASK(send_garbled_error_task, send_garbled_error);
FORKPOOL_TASK(ignore_sigterm_gated_task, ignore_sigterm_gated);
FORKPOOL_TASK(ignore_sigterm_forever_task, ignore_sigterm_forever);
FORKPOOL_TASK(until_cancelled_task, until_cancelled);
FORKPOOL_TASK(touch_task, touch);
FORKPOOL_TASK(fail_first_task, fail_first);
FORKPOOL_TASK(exit_once_during_start_task, exit_once_during_start);
FORKPOOL_TASK(remember_task, remember);
FORKPOOL_TASK(what_was_initialized_task, what_was_initialized);
FORKPOOL_TASK(refuse_to_start_task, refuse_to_start);

}  // namespace forkpool::testing
