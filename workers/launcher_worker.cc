#include "workers/launcher_worker.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "forkpool/errors.h"
#include "io/blocking_reader.h"
#include "io/pipe.h"
#include "io/socket.h"
#include "io/syscalls.h"
#include "serialization/messages.h"
#include "workers/worker_loop.h"

namespace forkpool::workers {
namespace {

using serialization::DataChannelOffer;

// Waits for EOF (or an error) on the control channel, then ends the process: the pool is gone,
// and a task still running has nobody to answer to. Runs on a thread of its own, so a task
// that never returns cannot keep it alive.
void exit_at_control_eof(io::Fd control) {
  std::thread([control = std::move(control)] {
    char byte[64];
    try {
      while (io::read_once(control.get(), byte, std::nullopt).value_or(1) != 0) {
        // Nothing else travels here once the data connection is up; ignore it.
      }
    } catch (...) {
    }
    ::_exit(kWorkerExitParentGone);
  }).detach();
}

// Serves on the launcher's stdio. Its stdin is the control channel too, and its EOF must end
// the worker even while a task runs (the worker loop reads only between tasks, or when a task
// polls this_task::cancelled()): a thread relays stdin into a pipe the loop reads. At EOF an
// idle worker ends as any worker does at the end of its task pipe; a busy one ends at once.
// The relay costs a copy; stdio is the slow path already.
int serve_on_stdio(io::Fd control, io::Fd out) {
  io::Pipe relay = io::Pipe::create();
  std::thread([control = std::move(control), to = std::move(relay.write)]() mutable {
    std::vector<char> buffer(std::size_t{1} << 16);
    try {
      for (;;) {
        const std::size_t n = io::read_once(control.get(), buffer, std::nullopt).value_or(0);
        if (n == 0) break;
        iovec bytes{buffer.data(), n};
        if (!io::write_all(to.get(), {&bytes, 1}, std::nullopt)) break;
      }
    } catch (...) {
    }
    to.reset();
    if (current_task_id() != 0) ::_exit(kWorkerExitParentGone);
  }).detach();
  return run_worker(std::move(relay.read), std::move(out), {});
}

std::string this_host() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

}  // namespace

std::string default_pool_host() {
  // "client_ip client_port server_ip server_port": the pool's end, as this host sees it.
  if (const char* ssh = std::getenv("SSH_CONNECTION"); ssh != nullptr && *ssh != '\0') {
    const std::string text = ssh;
    return text.substr(0, text.find(' '));
  }
  return "localhost";
}

int serve_launched_worker(io::Fd control, io::Fd out) {
  DataChannelOffer offer;
  try {
    io::BlockingReader reader(control);
    auto frame = reader.read_frame();
    if (!frame) return kWorkerExitParentGone;
    if (frame->kind != static_cast<std::uint8_t>(serialization::Kind::kDataChannel)) {
      throw ProtocolError("the pool's first frame is a " + serialization::kind_name(frame->kind) +
                          ", not a DataChannel (a pool of another forkpool version?)");
    }
    // The pool writes nothing more here before this worker's Hello: nothing can be buffered.
    offer = serialization::decode_data_channel(frame->payload);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "forkpool worker on %s: %s\n", this_host().c_str(), e.what());
    return kWorkerExitProtocolError;
  }
  if (offer.mode == DataChannelOffer::kStdio) {
    return run_worker(std::move(control), std::move(out), {});
  }
  if (offer.mode == DataChannelOffer::kRemoteStdio) {
    return serve_on_stdio(std::move(control), std::move(out));
  }
  const std::string host = offer.host.empty() ? default_pool_host() : offer.host;
  io::Fd data;
  try {
    data = io::connect_tcp(host, offer.port);
    iovec token{offer.token.data(), offer.token.size()};
    if (!io::write_all(data.get(), {&token, 1}, std::chrono::seconds(10))) {
      throw Error("the pool closed the data connection");
    }
  } catch (const std::exception& e) {
    if (offer.mode == DataChannelOffer::kAuto) {
      return serve_on_stdio(std::move(control), std::move(out));  // the fallback
    }
    std::fprintf(stderr, "forkpool worker on %s: no data channel: %s\n", this_host().c_str(),
                 e.what());
    return kWorkerExitSetupFailed;
  }
  exit_at_control_eof(std::move(control));
  // `out` stays open: its EOF before the data connection is accepted would look like a death.
  io::Fd in = io::Fd::duplicate(data.get());
  const int code = run_worker(std::move(in), std::move(data), {});
  return code;
}

}  // namespace forkpool::workers
