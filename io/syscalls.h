// The place where forkpool moves frames: read(2), writev(2) and poll(2) on the pipes between
// the pool and its workers, with EINTR, short transfers and EAGAIN on non-blocking descriptors
// handled here once. The same system calls appear elsewhere only where these helpers do not
// fit, each beside what it serves:
//   io/epoll.cc                    an eventfd's 8-byte counter, never split
//   workers/forkserver_starter.cc  sendmsg/recvmsg of fixed-size requests that carry
//                                  descriptors (SCM_RIGHTS), which read_once cannot
//   workers/exec_task.cc           a one-byte write(2) in a signal handler (async-signal-safe
//                                  calls only), and one poll(2) over a job's output pipes,
//                                  pidfd and self-pipe, whose reads take whatever the job wrote
//   cli/job_source.cc              read(2) of job input lines from stdin or a file
//   workers/job_files.cc           non-blocking write(2) of a job's carried stdin, polled with
//                                  a stop eventfd: whatever the pipe takes, never a whole span
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>

namespace forkpool::io {

// How long to wait for a descriptor; nullopt waits forever.
using Deadline = std::optional<std::chrono::milliseconds>;

// One read(2), retried on EINTR. If the descriptor is empty, waits until it is readable or
// `wait` elapses, whether it is blocking or not. Returns bytes read (0 = EOF, or a socket
// reset by its peer), or nullopt if `wait` elapsed.
// Throws std::system_error on any other error.
// With kNonBlocking the caller promises O_NONBLOCK is set: then read(2) goes first and poll(2)
// only runs when the pipe is empty, which saves a system call per read on the hot path.
enum class FdMode { kUnknown, kNonBlocking };
std::optional<std::size_t> read_once(int fd, std::span<char> out, Deadline wait,
                                     FdMode mode = FdMode::kUnknown);

// True if O_NONBLOCK is set on `fd`.
bool is_nonblocking(int fd);

// Writes all of `iov` (header and payload in one writev(2) where the pipe allows), looping on
// short writes and EINTR, waiting at most `stall` for progress when the descriptor is
// non-blocking and full. Returns false if the reader is gone (EPIPE, ECONNRESET); SIGPIPE is
// blocked in the calling thread for the duration and a SIGPIPE raised by this write is consumed, so
// it never kills the process. Returns true when everything was written. Throws StalledFrame after
// `stall` without progress, std::system_error on other errors. With guard_sigpipe false the caller
// accepts SIGPIPE's default action instead (a worker, whose only reader is its parent: when that is
// gone, so should the worker be).
bool write_all(int fd, std::span<iovec> iov, Deadline stall, bool guard_sigpipe = true);

// Blocks SIGPIPE in the calling thread for good, and tells write_all it need not guard writes
// from this thread (saving three system calls a write). For threads forkpool owns only: a
// blocked signal mask would be inherited by every program a user's thread starts.
void block_sigpipe_in_this_thread();

// poll(2) for one descriptor and `events`, retried on EINTR with the remaining time.
// Returns the revents, or 0 if `wait` elapsed.
short poll_one(int fd, short events, Deadline wait);

// Asks for a pipe buffer of at least `bytes` (F_SETPIPE_SZ), so a large frame crosses in
// fewer reads and wake-ups. Best effort: false if the kernel refused (above
// /proc/sys/fs/pipe-max-size, the user's pipe quota, or not a pipe); nothing else changes.
bool grow_pipe(int fd, std::size_t bytes) noexcept;

// Sets or clears O_NONBLOCK. Throws std::system_error.
void set_nonblocking(int fd, bool nonblocking);

// Closes every close-on-exec descriptor except those in `keep`, as if this process had
// exec'd. Async-signal-safe (raw getdents64 on /proc/self/fd, no allocation): it runs in a
// freshly forked child. Returns false if /proc/self/fd could not be read.
bool close_cloexec_fds_except(std::span<const int> keep) noexcept;

}  // namespace forkpool::io
