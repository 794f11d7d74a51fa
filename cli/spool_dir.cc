#include "cli/spool_dir.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "io/pipe.h"
#include "io/syscalls.h"

namespace forkpool::cli {

SpoolWatch::SpoolWatch(const std::string& dir, std::function<void()> on_write)
    : inotify_(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK)), on_write_(std::move(on_write)) {
  if (!inotify_) throw std::system_error(errno, std::generic_category(), "inotify_init1");
  if (::inotify_add_watch(inotify_.get(), dir.c_str(), IN_MODIFY) < 0)
    throw std::system_error(errno, std::generic_category(), "cannot watch " + dir);
  io::Pipe stop = io::Pipe::create();
  stop_read_ = std::move(stop.read);
  stop_write_ = std::move(stop.write);
  thread_ = std::thread([this] { watch(); });
}

SpoolWatch::~SpoolWatch() {
  stop_write_.reset();  // EOF on stop_read_ ends the thread
  thread_.join();
}

void SpoolWatch::watch() {
  alignas(inotify_event) char events[4096];
  for (;;) {
    pollfd fds[2] = {{inotify_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    // Every pending event at once: the callback only says "look again", however many came.
    while (io::read_once(inotify_.get(), std::span(events, sizeof events),
                         std::chrono::milliseconds(0), io::FdMode::kNonBlocking)
               .value_or(0) > 0) {
    }
    on_write_();
  }
}

}  // namespace forkpool::cli
