#include "workers/forkserver_starter.h"

#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>

#include "forkpool/errors.h"
#include "io/pipe.h"
#include "workers/worker_setup.h"

namespace forkpool::workers {
namespace {

struct Request {
  std::uint32_t worker_id;
};

struct Reply {
  std::int32_t pid;
  std::int32_t error;  // errno of a failed clone, else 0
};

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// A one-iovec message whose control buffer has room for two descriptors (SCM_RIGHTS).
struct RightsMessage {
  RightsMessage(void* data, std::size_t size) : iov{data, size} {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
  }
  RightsMessage(const RightsMessage&) = delete;
  iovec iov;
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  msghdr msg{};
};

// Sends `request` with two descriptors attached.
bool send_request(int socket, const Request& request, int fd0, int fd1) {
  RightsMessage m(const_cast<Request*>(&request), sizeof request);
  cmsghdr* cmsg = CMSG_FIRSTHDR(&m.msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(2 * sizeof(int));
  const int fds[2] = {fd0, fd1};
  std::memcpy(CMSG_DATA(cmsg), fds, sizeof fds);
  for (;;) {
    if (::sendmsg(socket, &m.msg, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof request))
      return true;
    if (errno != EINTR) return false;
  }
}

// Receives a request and its two descriptors (close-on-exec). Returns false at EOF or error.
bool receive_request(int socket, Request& request, int& fd0, int& fd1) {
  RightsMessage m(&request, sizeof request);
  ssize_t n;
  do {
    n = ::recvmsg(socket, &m.msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof request)) return false;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&m.msg);
  if (cmsg == nullptr || cmsg->cmsg_type != SCM_RIGHTS ||
      cmsg->cmsg_len != CMSG_LEN(2 * sizeof(int))) {
    return false;
  }
  int fds[2];
  std::memcpy(fds, CMSG_DATA(cmsg), sizeof fds);
  fd0 = fds[0];
  fd1 = fds[1];
  return true;
}

// The zygote's whole life. Single-threaded; it allocates nothing per request.
[[noreturn]] void zygote_main(pid_t pool, io::Fd socket, std::size_t max_frame) {
  for (;;) {
    Request request{};
    int tasks_in = -1, results_out = -1;
    if (!receive_request(socket.get(), request, tasks_in, results_out)) ::_exit(0);
    // CLONE_PARENT: the worker becomes the pool's child, not ours. No stack argument: like
    // fork, the child runs on a copy-on-write copy of this stack.
    long pid = ::syscall(SYS_clone, CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
    if (pid == 0) {
      io::Fd in(tasks_in), out(results_out);
      if (!prepare_forked_worker(pool, in, out)) ::_exit(kWorkerExitSetupFailed);
      ::_exit(run_worker(std::move(in), std::move(out),
                         {.worker_id = request.worker_id, .max_frame = max_frame}));
    }
    Reply reply{static_cast<std::int32_t>(pid), pid < 0 ? errno : 0};
    ::close(tasks_in);
    ::close(results_out);
    while (::send(socket.get(), &reply, sizeof reply, MSG_NOSIGNAL) < 0 && errno == EINTR) {
    }
  }
}

}  // namespace

ForkserverStarter::ForkserverStarter(const StarterConfig& config) : config_(config) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) throw_errno("socketpair");
  io::Fd ours(pair[0]), theirs(pair[1]);
  const pid_t pool = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    if (!prepare_forked_worker(pool, theirs, theirs)) ::_exit(kWorkerExitSetupFailed);
    zygote_main(pool, std::move(theirs), config_.max_frame);
  }
  socket_ = std::move(ours);
  zygote_ = Child(pid);
}

ForkserverStarter::~ForkserverStarter() {
  socket_.reset();  // EOF on the socket ends the zygote
  zygote_.wait_or_kill(std::chrono::seconds(5));
}

StartedWorker ForkserverStarter::start(std::uint32_t worker_id) {
  io::Pipe tasks = io::Pipe::create();
  io::Pipe results = io::Pipe::create();
  if (!send_request(socket_.get(), Request{worker_id}, tasks.read.get(), results.write.get())) {
    throw Error("the forkserver zygote (pid " + std::to_string(zygote_.pid()) +
                ") is gone: " + std::strerror(errno));
  }
  Reply reply{};
  ssize_t n;
  do {
    n = ::recv(socket_.get(), &reply, sizeof reply, 0);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof reply)) {
    throw Error("the forkserver zygote (pid " + std::to_string(zygote_.pid()) +
                ") did not answer a start request");
  }
  if (reply.pid < 0) {
    throw std::system_error(reply.error, std::generic_category(), "clone in forkserver zygote");
  }
  // Our copies of the worker's ends close here, so the worker alone holds them: its EOF and
  // our EPIPE then mean what they say.
  return StartedWorker{Child(reply.pid), std::move(tasks.write), std::move(results.read)};
}

std::string ForkserverStarter::describe() const {
  return "forkserver (zygote pid " + std::to_string(zygote_.pid()) + ")";
}

}  // namespace forkpool::workers
