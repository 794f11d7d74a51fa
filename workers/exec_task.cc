// The built-in exec task (include/forkpool/exec.h): posix_spawn through the Boost.Process v2
// launcher, one poll(2) loop over the job's output pipes, its pidfd and a self-pipe that
// signals wake, and GNU parallel's termination sequence for timeouts and shutdowns.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstring>
#include <exception>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "forkpool/exec.h"
#include "io/fd.h"
#include "io/pipe.h"
#include "io/syscalls.h"
#include "workers/job_files.h"
#include "workers/job_guard.h"
#include "workers/posix_spawn_launcher.h"
#include "workers/stop_plan.h"
#include "workers/worker_loop.h"

extern char** environ;

namespace forkpool {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using workers::StopPlan;

// --- Signals that end the worker while a job runs (opt-in) ------------------------------------

// Set once by install_exec_stop_handlers(); read by the handler and the poll loop.
int g_wake_read = -1, g_wake_write = -1;
// Whether run_exec is between starting a job and handing back its result, and the first
// terminating signal seen meanwhile.
volatile sig_atomic_t g_job_running = 0;
volatile sig_atomic_t g_stop_signal = 0;
// The pid the last stop request during this job named (0: none). Compared with the job's pid
// by the poll loop, not here: a request may come before the spawn has returned the pid.
volatile sig_atomic_t g_stop_job_pid = 0;

constexpr std::array kStopSignals = {SIGTERM, SIGINT, SIGHUP};
static_assert(kExecStopJobSignal == SIGUSR1);

// Only async-signal-safe calls. Between jobs there is nothing to clean up: die as without a
// handler. During a job, wake the poll loop, which terminates the job's group first.
extern "C" void on_stop_signal(int signal) {
  if (g_job_running == 0) {
    ::signal(signal, SIG_DFL);
    ::raise(signal);  // delivered when the handler returns (the signal is blocked in it)
    return;
  }
  if (g_stop_signal == 0) g_stop_signal = signal;
  const int saved = errno;
  const char byte = 0;
  [[maybe_unused]] ssize_t n = ::write(g_wake_write, &byte, 1);
  errno = saved;
}

// Only async-signal-safe calls. A request for another pid than the running job's is stale
// (that job has ended; a pid is not reused while its parent has not reaped it): the poll loop
// ignores it.
extern "C" void on_stop_job_signal(int, siginfo_t* info, void*) {
  if (g_job_running == 0 || info->si_code != SI_QUEUE) return;
  g_stop_job_pid = info->si_value.sival_int;
  const int saved = errno;
  const char byte = 0;
  [[maybe_unused]] ssize_t n = ::write(g_wake_write, &byte, 1);
  errno = saved;
}

bool stop_handlers_installed() { return g_wake_read >= 0; }

// One job's span of the stop handlers, when they are installed: the job is marked running,
// and the parent's death is delivered as SIGTERM (a spawned worker's own setting is SIGKILL,
// which leaves the job to the guard, without the grace of GNU parallel's sequence).
class StopWindow {
 public:
  StopWindow() {
    if (!stop_handlers_installed()) return;
    drain_wake();
    // A signal caught on another thread just as the last window closed: it still ends us.
    if (g_stop_signal != 0) die();
    g_stop_job_pid = 0;
    g_job_running = 1;
    const pid_t parent = ::getppid();
    ::prctl(PR_GET_PDEATHSIG, &previous_death_signal_);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    // The parent may have died before the prctl: then no signal will come.
    if (::getppid() != parent) on_stop_signal(SIGTERM);
  }
  ~StopWindow() { close(); }
  StopWindow(const StopWindow&) = delete;
  StopWindow& operator=(const StopWindow&) = delete;

  int wake_fd() const { return g_wake_read; }
  int stop_signal() const { return g_stop_signal; }
  // Whether a stop request named the job `pid`.
  bool job_stop_requested(pid_t pid) const { return g_stop_job_pid == pid; }
  // Empties the wake pipe: what woke the poll loop is in the flags above, and a byte left
  // there would wake it again at once.
  static void drain_wake() {
    char bytes[64];
    while (::read(g_wake_read, bytes, sizeof bytes) > 0) {
    }
  }

  // Ends the window; a signal that came during it now ends this process.
  void close() {
    if (!stop_handlers_installed() || g_job_running == 0) return;
    ::prctl(PR_SET_PDEATHSIG, previous_death_signal_);
    // In this order: a signal after the store kills at once, one before it is in g_stop_signal.
    g_job_running = 0;
    if (g_stop_signal != 0) die();
  }

 private:
  // After the job is gone: die of the signal that asked us to stop.
  [[noreturn]] static void die() {
    const int signal = g_stop_signal;
    ::signal(signal, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signal);
    ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
    ::raise(signal);
    ::_exit(128 + signal);
  }

  int previous_death_signal_ = 0;
};

// --- Output --------------------------------------------------------------------------------

// Writes to this process's own stdout or stderr. Returns false if the bytes could not be
// written: the reader went away (EPIPE, without SIGPIPE), or another error (a full disk).
bool write_out(int fd, std::string_view a, std::string_view b = {}) {
  iovec iov[2] = {{const_cast<char*>(a.data()), a.size()}, {const_cast<char*>(b.data()), b.size()}};
  try {
    return io::write_all(fd, std::span(iov, b.empty() ? 1 : 2), std::nullopt);
  } catch (const std::system_error&) {
    return false;
  }
}

// One of the job's output streams, read from a non-blocking pipe.
struct Stream {
  io::Fd fd;
  int target = -1;     // kLines: where whole lines go
  std::string buffer;  // kCapture: everything (until spooled); kLines: the unfinished line
  io::Fd spool;        // kCapture past ExecRequest::spool_over: the file
  std::string spool_path;
  std::uint64_t size = 0;  // kCapture: bytes read
  bool refused = false;    // kLines: the target refused a write; the rest is dropped
  bool open() const { return fd.valid(); }
  // A spool file not handed to the caller (the job failed midway) is not left behind.
  ~Stream() {
    if (!spool_path.empty()) ::unlink(spool_path.c_str());
  }
};

// Moves the buffered bytes into a new file in `dir`, where the rest will follow.
void start_spool(Stream& s, const std::string& dir) {
  std::string path = dir + "/job-XXXXXX";
  s.spool = io::Fd(::mkostemp(path.data(), O_CLOEXEC));
  if (!s.spool) throw std::system_error(errno, std::generic_category(), "mkstemp in " + dir);
  s.spool_path = std::move(path);
}

// ExecRequest::spool_to: the stream goes to `path` from its first byte.
void spool_from_start(Stream& s, const std::string& path) {
  s.spool = io::Fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!s.spool) throw std::system_error(errno, std::generic_category(), "cannot open " + path);
  s.spool_path = path;
}

void spool_write(Stream& s, std::string_view data) {
  iovec iov{const_cast<char*>(data.data()), data.size()};
  io::write_all(s.spool.get(), std::span(&iov, 1), std::nullopt);
}

// kLines: writes every whole line in the buffer (a line ends at '\n' or '\r', as --tag
// counts them), preceded by the prefix. A refused write drops the rest of the stream.
void write_lines(Stream& s, const ExecRequest& request) {
  std::size_t start = 0;
  for (std::size_t end;
       !s.refused && (end = s.buffer.find_first_of("\n\r", start)) != std::string::npos;
       start = end + 1) {
    if (!write_out(s.target, request.line_prefix,
                   std::string_view(s.buffer).substr(start, end + 1 - start)))
      s.refused = true;
  }
  s.buffer.erase(0, s.refused ? s.buffer.size() : start);
}

// Takes in one chunk read from the job.
void take(Stream& s, const ExecRequest& request, std::string_view chunk) {
  if (request.output == ExecRequest::kLines) {
    if (s.refused) return;
    s.buffer.append(chunk);
    write_lines(s, request);
    return;
  }
  s.size += chunk.size();
  if (!s.spool && request.spool_over > 0 && s.buffer.size() + chunk.size() > request.spool_over) {
    start_spool(s, request.spool_dir);
    spool_write(s, s.buffer);
    std::string().swap(s.buffer);
  }
  if (s.spool) {
    spool_write(s, chunk);
  } else {
    s.buffer.append(chunk);
  }
}

// Reads what the pipe holds: one chunk, or everything up to EAGAIN or EOF. At EOF the pipe
// is closed and, in kLines mode, an unfinished last line is written out.
void drain(Stream& s, const ExecRequest& request, bool until_eof_or_empty) {
  char chunk[65536];
  while (s.open()) {
    ssize_t n = ::read(s.fd.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      s.fd.reset();
      break;
    }
    take(s, request, std::string_view(chunk, static_cast<std::size_t>(n)));
    if (!until_eof_or_empty) return;
  }
  // EOF: an unfinished last line is still a line to the reader.
  if (request.output == ExecRequest::kLines && !s.buffer.empty() && !s.refused) {
    if (!write_out(s.target, request.line_prefix, s.buffer)) s.refused = true;
    s.buffer.clear();
  }
}

// --- The environment -------------------------------------------------------------------------

// The worker's environment with `overrides` (NAME=value) replacing or adding entries.
std::vector<std::string> job_environment(const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  auto name_of = [](std::string_view entry) { return entry.substr(0, entry.find('=')); };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    bool replaced = false;
    for (const auto& o : overrides) replaced = replaced || name_of(o) == name_of(entry);
    if (!replaced) env.emplace_back(entry);
  }
  env.insert(env.end(), overrides.begin(), overrides.end());
  return env;
}

double wall_clock_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// ExecRequest::stdin_path opened for the job, numbered above 2 like the output pipes' ends.
// O_NONBLOCK makes the open of a named pipe return at once even if its writer has already
// written everything and gone (a blocking open would wait for a writer that never comes); the
// job then gets an ordinary blocking descriptor. Throws std::system_error.
io::Fd open_stdin(const std::string& path) {
  if (path.empty()) return io::Fd();
  io::Fd opened(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!opened) throw std::system_error(errno, std::generic_category(), "cannot open " + path);
  io::set_nonblocking(opened.get(), false);
  return io::Fd::duplicate(opened.get(), 10);
}

// The plan that stops a job: the request's sequence, else GNU parallel's. Each signal, and how
// long the job has to exit before the next.
StopPlan stop_plan_of(const ExecRequest& request) {
  const std::vector<int>& sequence = request.stop_sequence;
  if (sequence.empty()) {
    return StopPlan{{SIGTERM, milliseconds(200)},
                    {SIGTERM, milliseconds(100)},
                    {SIGTERM, milliseconds(50)},
                    {SIGKILL}};
  }
  std::array<workers::StopStep, StopPlan::kMaxSteps> steps{};
  std::size_t count = 0;
  for (std::size_t i = 0; i < sequence.size() && count < steps.size(); i += 2) {
    const int grace = i + 1 < sequence.size() ? std::max(sequence[i + 1], 0) : 0;
    steps[count++] = {sequence[i], milliseconds(grace)};
  }
  return StopPlan(std::span<const workers::StopStep>(steps.data(), count));
}

// --- The job -------------------------------------------------------------------------------

namespace bp = boost::process::v2;

// The io_context a job's Boost.Process handle is bound to: one per thread, kept from job to job.
// Nothing ever runs on it, but making one per job cost nine system calls (its epoll, eventfd
// and timerfd, made, registered and closed). It holds those three descriptors for the life of
// the thread (documented on run_exec).
//
// One inherited through fork is neither used, nor told of the fork (notify_fork closes the old
// descriptors), nor destroyed: a forked worker has already closed every close-on-exec
// descriptor it inherited, and the numbers may now be its own pipes. It is abandoned, still
// reachable (so no leak checker reports it), and a new one made.
void abandon(boost::asio::io_context* inherited) {
  // Only the thread that forked exists in the child, and only it holds an inherited one.
  static auto* const abandoned = new std::vector<boost::asio::io_context*>;
  abandoned->push_back(inherited);
}

boost::asio::io_context& job_context() {
  struct Held {
    pid_t owner = 0;
    boost::asio::io_context* context = nullptr;
    ~Held() {
      if (context == nullptr) return;
      if (owner == ::getpid()) {
        delete context;
      } else {
        abandon(context);
      }
    }
  };
  thread_local Held held;
  const pid_t self = ::getpid();
  if (held.context != nullptr && held.owner != self) abandon(std::exchange(held.context, nullptr));
  if (held.context == nullptr) {
    held.context = new boost::asio::io_context;
    held.owner = self;
  }
  return *held.context;
}

class Job {
 public:
  Job(const ExecRequest& request, StopWindow& signals, std::string directory,
      workers::JobStdin& input)
      : request_(request), signals_(signals), directory_(std::move(directory)), input_(input) {}

  ExecResult run() {
    // Started (on the first job) before the job's pipes exist, so it never holds a copy.
    workers::JobGuard& guard = workers::JobGuard::of_this_process();
    workers::PosixSpawnLauncher launcher;
    launcher.new_process_group = true;
    launcher.directory = directory_;
    ChildEnds ends = redirect_output(launcher);
    if (request_.output == ExecRequest::kCapture && !request_.spool_to.empty()) {
      spool_from_start(out_, request_.spool_to + ".out");
      spool_from_start(err_, request_.spool_to + ".err");
    }
    ends.in = input_.job_stdin();
    if (!ends.in) ends.in = open_stdin(request_.stdin_path);
    if (ends.in) launcher.redirect.emplace_back(ends.in.get(), STDIN_FILENO);
    const std::vector<std::string> env = job_environment(request_.env);
    std::vector<const char*> envp;
    envp.reserve(env.size() + 2);
    for (const auto& e : env) envp.push_back(e.c_str());
    if (const char* marker = guard.marker()) envp.push_back(marker);
    envp.push_back(nullptr);
    launcher.env = envp.data();

    boost::asio::io_context& context = job_context();
    ExecResult result;
    result.start_time = wall_clock_now();
    const auto started = Clock::now();
    Process process = spawn(context, launcher);
    ends = {};
    pid_ = process.id();
    guard.watch(pid_);
    try {
      input_.start();
      pidfd_ = io::Fd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
      if (!pidfd_) throw std::system_error(errno, std::generic_category(), "pidfd_open");
      wait_for_exit(started);
      input_.stop();  // what the job left unread is dropped
    } catch (...) {
      // Nobody would be left to wait for the job or read its output.
      ::kill(-pid_, SIGKILL);
      guard.forget(pid_);
      process.wait();
      throw;
    }
    // Before the reap: until then the group's number cannot be given to anyone else.
    guard.forget(pid_);
    process.wait();  // reaps; EINTR is retried inside
    result.duration = std::chrono::duration<double>(Clock::now() - started).count();
    // Output still in the pipes was written before the job exited; a background child that
    // keeps a pipe open is not waited for.
    drain(out_, request_, true);
    drain(err_, request_, true);
    settle(result, process.native_exit_code());
    return result;
  }

 private:
  using Process = bp::basic_process<boost::asio::io_context::executor_type>;

  // The ends the job's stdout, stderr (and stdin, from ExecRequest::stdin_path) are dup2'ed
  // from, open here until it is started: then the job holds its own copies, the worker none.
  struct ChildEnds {
    io::Fd out, err, in;
  };

  // With captured or forwarded output, the job writes into two pipes this process reads.
  ChildEnds redirect_output(workers::PosixSpawnLauncher& launcher) {
    ChildEnds ends;
    if (request_.output == ExecRequest::kInherit) return ends;
    io::Pipe out = io::Pipe::create();
    io::Pipe err = io::Pipe::create();
    // Above 2, so that neither dup2 overwrites the other's source.
    ends.out = io::Fd::duplicate(out.write.get(), 10);
    ends.err = io::Fd::duplicate(err.write.get(), 10);
    out_.fd = std::move(out.read);
    err_.fd = std::move(err.read);
    io::set_nonblocking(out_.fd.get(), true);
    io::set_nonblocking(err_.fd.get(), true);
    out_.target = STDOUT_FILENO;
    err_.target = STDERR_FILENO;
    launcher.redirect = {{ends.out.get(), STDOUT_FILENO}, {ends.err.get(), STDERR_FILENO}};
    return ends;
  }

  // spawn_here() at the request's niceness. Linux keeps a niceness per thread, and a child
  // starts with its spawning thread's; posix_spawn has no attribute for it, and this thread
  // could not lower its own again without privilege once it had raised it. So a short-lived
  // thread raises its own niceness and spawns: the job has it, this process keeps its own.
  Process spawn(boost::asio::io_context& context, workers::PosixSpawnLauncher& launcher) {
    if (request_.nice == 0) return spawn_here(context, launcher);
    std::optional<Process> process;
    std::exception_ptr error;
    std::thread spawner([&] {
      // As GNU parallel: a niceness this thread may not take leaves the job at the worker's.
      ::setpriority(PRIO_PROCESS, 0, request_.nice);
      try {
        process.emplace(spawn_here(context, launcher));
      } catch (...) {
        error = std::current_exception();
      }
    });
    spawner.join();
    if (error) std::rethrow_exception(error);
    return std::move(*process);
  }

  // The program itself when the request names one that can be run; else the command through
  // the shell, which reports a missing or unrunnable program in its own words.
  Process spawn_here(boost::asio::io_context& context, workers::PosixSpawnLauncher& launcher) {
    bp::error_code ec;
    if (!input_.argv().empty()) {
      std::vector<const char*> argv;
      for (const auto& a : input_.argv()) argv.push_back(a.c_str());
      argv.push_back(nullptr);
      Process process = launcher(context.get_executor(), ec,
                                 workers::find_in_path(input_.argv().front()), argv.data());
      if (!ec) return process;
      ec.clear();
    }
    const char* argv[] = {request_.shell.c_str(), "-c", input_.command().c_str(), nullptr};
    Process process = launcher(context.get_executor(), ec, request_.shell, argv);
    if (ec) throw std::system_error(ec, "cannot run " + request_.shell);
    return process;
  }

  // The exit status and the output, into the result the caller gets.
  void settle(ExecResult& result, int status) {
    if (WIFSIGNALED(status)) {
      result.signal = WTERMSIG(status);
    } else if (WIFEXITED(status)) {
      result.exit_code = WEXITSTATUS(status);
    }
    result.timed_out = timed_out_;
    result.stopped = stopped_;
    result.output_closed = out_.refused;
    if (request_.output == ExecRequest::kCapture) {
      result.out_size = out_.size;
      result.err_size = err_.size;
      result.out = std::move(out_.buffer);
      result.err = std::move(err_.buffer);
      result.out_file = std::exchange(out_.spool_path, {});
      result.err_file = std::exchange(err_.spool_path, {});
    }
  }

  // Polls output, exit and stop signals until the job has exited (not yet reaped). A stop
  // signal or the timeout starts the termination sequence on the job's process group.
  void wait_for_exit(Clock::time_point started) {
    std::optional<Clock::time_point> timeout_at;
    if (request_.timeout > 0 && request_.timeout <= kMaxExecTimeout)
      timeout_at = started + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(request_.timeout));
    StopPlan stop = stop_plan_of(request_);
    for (;;) {
      const auto now = Clock::now();
      if (!stop.started()) {
        // A reader of our stdout that went away reads nothing more of this job either.
        const bool timed_out = timeout_at && now >= *timeout_at;
        const bool stop_requested = signals_.job_stop_requested(pid_);
        if (signals_.stop_signal() != 0 || out_.refused || timed_out || stop_requested) {
          timed_out_ = timed_out;
          stopped_ = stop_requested && !timed_out;
          ::kill(-pid_, stop.start(now).signal);
        }
      } else if (auto step = stop.due(now)) {
        ::kill(-pid_, step->signal);
      }
      // The next deadline: the stop plan's next step while it runs, the timeout before it.
      // (A time_point, not an optional: GCC 12 at -O1 warns falsely about the optional's value.)
      Clock::time_point wake_at = Clock::time_point::max();
      if (stop.pending()) {
        wake_at = stop.deadline();
      } else if (!stop.started() && timeout_at) {
        wake_at = *timeout_at;
      }
      int timeout = -1;
      if (wake_at != Clock::time_point::max()) {
        auto left = std::chrono::ceil<milliseconds>(wake_at - now).count();
        timeout = static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
      }
      pollfd fds[5];
      nfds_t n = 0;
      fds[n++] = {pidfd_.get(), POLLIN, 0};
      fds[n++] = {signals_.wake_fd(), POLLIN, 0};  // -1 without stop handlers: ignored
      // Streamed input arrives in the worker's own frames: read them as they come.
      fds[n++] = {input_.streamed() ? workers::current_tasks_fd() : -1, POLLIN, 0};
      if (out_.open()) fds[n++] = {out_.fd.get(), POLLIN, 0};
      if (err_.open()) fds[n++] = {err_.fd.get(), POLLIN, 0};
      const int ready = ::poll(fds, n, timeout);
      if (ready < 0 && errno != EINTR)
        throw std::system_error(errno, std::generic_category(), "poll");
      if (ready > 0 && (fds[0].revents & (POLLIN | POLLHUP))) {
        // Being stopped, the job's leader is gone; what it started need not get the rest of
        // the sequence. One of them may even have taken the first SIGTERM for the leader's: a
        // shell's child between fork and exec still runs the shell's trap. Until the leader is
        // reaped the group's number is still its own.
        if (stop.started()) ::kill(-pid_, SIGKILL);
        return;
      }
      if (ready > 0 && (fds[1].revents & POLLIN)) StopWindow::drain_wake();
      if (ready > 0 && fds[2].revents != 0) workers::read_parent_frames();
      drain(out_, request_, false);
      drain(err_, request_, false);
    }
  }

  const ExecRequest& request_;
  StopWindow& signals_;
  std::string directory_;     // where the job runs ("": here)
  workers::JobStdin& input_;  // its stdin, or {}'s file, when carried in the request
  Stream out_, err_;
  pid_t pid_ = -1;
  io::Fd pidfd_;
  bool timed_out_ = false;
  bool stopped_ = false;
};

}  // namespace

ExecResult run_exec(const ExecRequest& request) {
  workers::JobFiles files(request);  // the working directory, and the files transferred
  workers::JobStdin input(request);  // --pipe's block, on another host than the pool's
  StopWindow window;
  Job job(request, window, files.directory(), input);
  ExecResult result = job.run();
  window.close();  // a stop signal that came meanwhile ends this process here
  files.finish(result);
  return result;
}

void install_exec_stop_handlers() {
  if (stop_handlers_installed()) return;
  io::Pipe wake = io::Pipe::create();
  io::set_nonblocking(wake.read.get(), true);
  io::set_nonblocking(wake.write.get(), true);
  g_wake_write = wake.write.release();  // for the life of the process, as the handlers
  g_wake_read = wake.read.release();
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  for (int s : kStopSignals) sigaddset(&action.sa_mask, s);
  for (int s : kStopSignals)
    if (::sigaction(s, &action, nullptr) != 0)
      throw std::system_error(errno, std::generic_category(), "sigaction");
  struct sigaction stop_job {};
  stop_job.sa_sigaction = on_stop_job_signal;
  stop_job.sa_flags = SA_SIGINFO | SA_RESTART;
  stop_job.sa_mask = action.sa_mask;
  if (::sigaction(kExecStopJobSignal, &stop_job, nullptr) != 0)
    throw std::system_error(errno, std::generic_category(), "sigaction");
}

}  // namespace forkpool
