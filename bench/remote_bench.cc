// Remote workers, measured against their peers in one run (bench/run_remote runs it):
//   - the per-task round trip through an ssh worker and an srun worker (on each data channel)
//     against a local worker's pipe and the bare launcher's kept stream (`ssh HOST cat`,
//     `srun --unbuffered cat`: the floor any protocol over that launcher pays);
//   - a 64 MiB result through the TCP data channel and through the launcher's stdio against
//     bare loopback TCP bandwidth.
// Usage: remote_bench [--host fp-loopback] [--round-trips N] [--mib N] [--no-srun]
//        remote_bench --bandwidth ROUNDS [--host H] [--mib N] [--no-thp]
//   (only the 64 MiB rows of the TCP data channel and their loopback peer, ROUNDS times in one
//   process, with what the parent's process did during each: page faults, context switches,
//   CPU time; for a run that is slow or fast as a whole, and for perf stat around it;
//   --no-thp: the parent's memory without transparent huge pages, PR_SET_THP_DISABLE)
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "blob_tasks.h"
#include "forkpool/forkpool.h"
#include "io/fd.h"
#include "io/socket.h"
#include "io/syscalls.h"

namespace {

using Clock = std::chrono::steady_clock;

void noop() {}
FORKPOOL_TASK(noop_task, noop);

// The 64 MiB results (built fresh, and from warm memory) are core_bench's: bench/blob_tasks.h.
using forkpool_bench::blob_task;
using forkpool_bench::warm_blob_task;
std::size_t size_of(const std::vector<char>& bytes) { return bytes.size(); }
std::size_t size_of(const forkpool_bench::WarmBlob& warm) { return warm.bytes.size(); }

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Microseconds per sequential no-op task, after a warm-up.
double pool_round_trip_us(forkpool::Options options, int round_trips) {
  options.workers = 1;
  forkpool::Pool pool(std::move(options));
  for (int i = 0; i < 20; ++i) pool.submit(noop_task).get();
  const auto start = Clock::now();
  for (int i = 0; i < round_trips; ++i) pool.submit(noop_task).get();
  return seconds_since(start) * 1e6 / round_trips;
}

// MB/s of one `bytes` result of `task`, best of three after one not counted.
template <typename Task>
double pool_result_mb_s(forkpool::Options options, std::uint64_t bytes, const Task& task) {
  options.workers = 1;
  options.max_frame = bytes + (1 << 20);
  forkpool::Pool pool(std::move(options));
  pool.submit(task, bytes).get();
  double best = 1e30;
  for (int i = 0; i < 3; ++i) {
    const auto start = Clock::now();
    const auto result = pool.submit(task, bytes).get();
    best = std::min(best, seconds_since(start));
    if (size_of(result) != bytes) throw std::runtime_error("short result");
  }
  return bytes / best / 1e6;
}

// What this process did between two getrusage() calls: its work counted, not timed.
struct Work {
  long minor_faults = 0, voluntary_switches = 0, involuntary_switches = 0;
  double user_ms = 0, system_ms = 0;
};
rusage usage_now() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u;
}
double ms_of(const timeval& t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; }
Work work_since(const rusage& before) {
  const rusage after = usage_now();
  return {after.ru_minflt - before.ru_minflt, after.ru_nvcsw - before.ru_nvcsw,
          after.ru_nivcsw - before.ru_nivcsw, ms_of(after.ru_utime) - ms_of(before.ru_utime),
          ms_of(after.ru_stime) - ms_of(before.ru_stime)};
}
void print_work(const Work& w, int transfers) {
  std::printf(
      "    per transfer in this process: %ld minor faults, %ld+%ld context switches "
      "(voluntary+not), %.1f ms user, %.1f ms system\n",
      w.minor_faults / transfers, w.voluntary_switches / transfers,
      w.involuntary_switches / transfers, w.user_ms / transfers, w.system_ms / transfers);
}

// The bare launcher's kept stream: `command` runs `cat` on the other side; a 32-byte message
// (a frame header's size) goes there and back, round_trips times; with `split`, in two
// writes of 16 bytes, as a writer that sends a frame's header and payload apart would.
double bare_round_trip_us(std::vector<std::string> command, int round_trips, bool split = false) {
  int to[2], from[2];
  if (::pipe2(to, O_CLOEXEC) != 0 || ::pipe2(from, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(to[0], 0);
    ::dup2(from[1], 1);
    std::vector<char*> argv;
    for (auto& word : command) argv.push_back(word.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(to[0]);
  ::close(from[1]);
  char message[32];
  std::memset(message, 'm', sizeof message);
  auto one = [&] {
    if (split) {
      for (char* half : {message, message + sizeof message / 2}) {
        iovec v{half, sizeof message / 2};
        forkpool::io::write_all(to[1], {&v, 1}, std::nullopt);
      }
    } else {
      iovec v{message, sizeof message};
      forkpool::io::write_all(to[1], {&v, 1}, std::nullopt);
    }
    std::size_t got = 0;
    while (got < sizeof message) {
      auto n =
          forkpool::io::read_once(from[0], {message + got, sizeof message - got}, std::nullopt);
      if (!n || *n == 0) throw std::runtime_error("the bare stream ended");
      got += *n;
    }
  };
  for (int i = 0; i < 20; ++i) one();
  const auto start = Clock::now();
  for (int i = 0; i < round_trips; ++i) one();
  const double us = seconds_since(start) * 1e6 / round_trips;
  ::close(to[1]);
  ::close(from[0]);
  ::waitpid(pid, nullptr, 0);
  return us;
}

// Loopback TCP: one thread writes `bytes`, this one reads them.
double loopback_tcp_mb_s(std::uint64_t bytes) {
  forkpool::io::Fd listener = forkpool::io::listen_tcp();
  const auto port = forkpool::io::local_port(listener);
  std::thread writer([&] {
    forkpool::io::Fd out = forkpool::io::connect_tcp("127.0.0.1", port);
    std::string chunk(1 << 20, 'x');
    for (std::uint64_t sent = 0; sent < bytes; sent += chunk.size()) {
      iovec v{chunk.data(), chunk.size()};
      forkpool::io::write_all(out.get(), {&v, 1}, std::nullopt);
    }
  });
  forkpool::io::Fd in;
  while (!(in = forkpool::io::accept_connection(listener))) {
    forkpool::io::poll_one(listener.get(), POLLIN, std::nullopt);
  }
  std::string buffer(1 << 20, '\0');
  const auto start = Clock::now();
  std::uint64_t got = 0;
  while (got < bytes) {
    auto n = forkpool::io::read_once(in.get(), buffer, std::nullopt);
    if (!n || *n == 0) break;
    got += *n;
  }
  const double mb_s = got / seconds_since(start) / 1e6;
  writer.join();
  return mb_s;
}

forkpool::Options remote(forkpool::Launcher::Kind kind, const std::string& host,
                         forkpool::DataChannel channel) {
  forkpool::Launcher launcher = kind == forkpool::Launcher::Kind::kSsh
                                    ? forkpool::Launcher::ssh_hosts({host})
                                    : forkpool::Launcher::srun_slots(1);
  launcher.data_channel = channel;
  return {.launcher = launcher};
}

void row(const char* what, double value, const char* unit, double peer, const char* peer_name) {
  std::printf("%-44s %10.1f %-5s  %6.2fx %s\n", what, value, unit, value / peer, peer_name);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (auto code = forkpool::worker_main_if_requested(argc, argv)) return *code;
  std::string host = "fp-loopback";
  int round_trips = 500;
  std::uint64_t mib = 64;
  bool srun = true;
  int bandwidth_rounds = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--host" && i + 1 < argc)
      host = argv[++i];
    else if (arg == "--round-trips" && i + 1 < argc)
      round_trips = std::atoi(argv[++i]);
    else if (arg == "--mib" && i + 1 < argc)
      mib = std::strtoull(argv[++i], nullptr, 10);
    else if (arg == "--no-srun")
      srun = false;
    else if (arg == "--bandwidth" && i + 1 < argc)
      bandwidth_rounds = std::atoi(argv[++i]);
    else if (arg == "--no-thp")
      ::prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);  // this process's fresh memory in 4 KiB pages
    else {
      std::fprintf(stderr,
                   "usage: remote_bench [--host H] [--round-trips N] [--mib N] [--no-srun] "
                   "[--bandwidth ROUNDS] [--no-thp]\n");
      return 2;
    }
  }
  using forkpool::DataChannel;
  using Kind = forkpool::Launcher::Kind;
  if (bandwidth_rounds > 0) {
    const std::uint64_t bytes = mib << 20;
    std::printf("one %llu MiB result, best of 3, %d rounds (MB/s; ratio to loopback TCP)\n",
                static_cast<unsigned long long>(mib), bandwidth_rounds);
    for (int round = 1; round <= bandwidth_rounds; ++round) {
      double tcp = 0;
      rusage before = usage_now();
      for (int i = 0; i < 3; ++i) tcp = std::max(tcp, loopback_tcp_mb_s(bytes));
      std::printf("round %d\n", round);
      row("bare loopback TCP, reused buffers", tcp, "MB/s", tcp, "loopback");
      print_work(work_since(before), 3);
      before = usage_now();
      // The first of the four transfers pool_result_mb_s makes is not timed, but counted here.
      row("ssh worker, data channel tcp, from warm memory",
          pool_result_mb_s(remote(Kind::kSsh, host, DataChannel::kTcp), bytes, warm_blob_task),
          "MB/s", tcp, "loopback");
      print_work(work_since(before), 4);
    }
    return 0;
  }
  std::printf("round trip of a no-op task, %d sequential (us; ratio to the peer named)\n",
              round_trips);
  const double local = pool_round_trip_us({}, round_trips);
  row("local worker (pipes)", local, "us", local, "local");
  const double bare_ssh = bare_round_trip_us({"ssh", host, "cat"}, round_trips);
  row(("bare kept stream: ssh " + host + " cat").c_str(), bare_ssh, "us", bare_ssh, "bare ssh");
  const double split_ssh = bare_round_trip_us({"ssh", host, "cat"}, round_trips, true);
  row("  the same, each message in two writes", split_ssh, "us", bare_ssh, "bare ssh");
  row("ssh worker, data channel tcp",
      pool_round_trip_us(remote(Kind::kSsh, host, DataChannel::kTcp), round_trips), "us", bare_ssh,
      "bare ssh");
  row("ssh worker, data channel stdio",
      pool_round_trip_us(remote(Kind::kSsh, host, DataChannel::kStdio), round_trips), "us",
      bare_ssh, "bare ssh");
  if (srun) {
    const double bare_srun =
        bare_round_trip_us({"srun", "--unbuffered", "-N1", "-n1", "--quiet", "cat"}, round_trips);
    row("bare kept stream: srun --unbuffered cat", bare_srun, "us", bare_srun, "bare srun");
    row("srun worker, data channel tcp",
        pool_round_trip_us(remote(Kind::kSrun, host, DataChannel::kTcp), round_trips), "us",
        bare_srun, "bare srun");
    row("srun worker, data channel stdio",
        pool_round_trip_us(remote(Kind::kSrun, host, DataChannel::kStdio), round_trips), "us",
        bare_srun, "bare srun");
  }
  const std::uint64_t bytes = mib << 20;
  std::printf("\none %llu MiB result, best of 3 (MB/s; ratio to loopback TCP)\n",
              static_cast<unsigned long long>(mib));
  double tcp = 0;
  for (int i = 0; i < 3; ++i) tcp = std::max(tcp, loopback_tcp_mb_s(bytes));
  row("bare loopback TCP, reused buffers", tcp, "MB/s", tcp, "loopback");
  const auto ssh_tcp = remote(Kind::kSsh, host, DataChannel::kTcp);
  row("local worker (pipes), from warm memory", pool_result_mb_s({}, bytes, warm_blob_task), "MB/s",
      tcp, "loopback");
  row("ssh worker, data channel tcp, from warm memory",
      pool_result_mb_s(ssh_tcp, bytes, warm_blob_task), "MB/s", tcp, "loopback");
  row("local worker (pipes), built fresh", pool_result_mb_s({}, bytes, blob_task), "MB/s", tcp,
      "loopback");
  row("ssh worker, data channel tcp, built fresh", pool_result_mb_s(ssh_tcp, bytes, blob_task),
      "MB/s", tcp, "loopback");
  row("ssh worker, data channel stdio, built fresh",
      pool_result_mb_s(remote(Kind::kSsh, host, DataChannel::kStdio), bytes, blob_task), "MB/s",
      tcp, "loopback");
  if (srun) {
    row("srun worker, data channel tcp, built fresh",
        pool_result_mb_s(remote(Kind::kSrun, host, DataChannel::kTcp), bytes, blob_task), "MB/s",
        tcp, "loopback");
    row("srun worker, data channel stdio, built fresh",
        pool_result_mb_s(remote(Kind::kSrun, host, DataChannel::kStdio), bytes, blob_task), "MB/s",
        tcp, "loopback");
  }
  return 0;
}
