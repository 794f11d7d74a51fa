#include "orchestrator/worker_slot.h"

#include "io/syscalls.h"

namespace forkpool::orchestrator {
namespace {
// Only the pool holds its ends of a worker's pipes, so O_NONBLOCK affects nobody else; it lets
// the reader and writer bound every wait by the stall timeout without an extra poll per read.
io::Fd nonblocking(io::Fd fd) {
  io::set_nonblocking(fd.get(), true);
  return fd;
}
}  // namespace

WorkerSlot::WorkerSlot(std::uint32_t id, workers::StartedWorker started, const Options& options)
    : id(id),
      child(std::move(started.child)),
      to_worker(nonblocking(std::move(started.to_worker))),
      from_worker(nonblocking(std::move(started.from_worker))),
      host(std::move(started.host)),
      data_token(std::move(started.data_token)),
      reader(from_worker, {.max_frame = options.max_frame, .stall_timeout = options.stall_timeout}),
      writer(to_worker, {.max_frame = options.max_frame, .stall_timeout = options.stall_timeout}) {}

}  // namespace forkpool::orchestrator
