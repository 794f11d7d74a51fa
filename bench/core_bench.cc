// core_bench: forkpool's core costs, each printed as a ratio against a peer measured in the
// same run. The machine is shared and noisy, so an absolute figure says little on its own; a
// peer that suffers the same noise, measured in alternation with forkpool, makes the ratio
// meaningful.
//
//   core_bench [--quick] [--only throughput,map,roundtrip,bandwidth,cpu,start,death]
//              [--json FILE] [--methods forkserver,fork,spawn] [--workers N] [--rounds N]
//              [--tasks N] [--python-tasks N] [--python-max-seconds S] [--map-items N]
//              [--round-trips N] [--blob-repeats N] [--cpu-items N] [--cpu-millis MS]
//              [--start-runs N] [--deaths N] [--ballast-mib N] [--python PATH]
//              [--peer-script PATH]
//
// Over 500 lines on purpose: the sections share one alternation harness, one set of peers and
// one JSON report, and a section is a few dozen lines that read best beside the others.
//   core_bench --list-sections
//
// Sections (bench/README.md says what each row means):
//   throughput  100,000 no-op tasks on 2 workers, one submit each, vs Python's
//               ProcessPoolExecutor(2) submit and map(chunksize=1)
//   map         pool.map over 1,000,000 ints on 2 workers vs Python's ProcessPoolExecutor(2)
//               and multiprocessing.Pool(2) map/imap with chunksize=256
//   roundtrip   one tiny task, submit + get, vs a raw pipe ping-pong between two processes
//   bandwidth   a 64 MiB result vs a forked child writing 64 MiB through a raw pipe, both
//               sending from warm memory, and both building fresh memory each time
//   cpu         a CPU-bound task (~5 ms) mapped over 200 items on 1 and on 2 workers: the
//               parallel efficiency, vs multiprocessing.Pool doing the same
//   start       Pool() to first result, and kill to the next result, per start method
//   death       SIGKILL of a busy worker to its future failing with WorkerDied
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <boost/serialization/split_member.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>
#include <ranges>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "blob_tasks.h"
#include "cpu_work.h"
#include "forkpool/forkpool.h"
#include "raw_peers.h"
#include "report.h"

#ifndef FORKPOOL_BENCH_DIR
#define FORKPOOL_BENCH_DIR "bench"
#endif

namespace forkpool_bench {
namespace {

using Clock = std::chrono::steady_clock;
using forkpool::StartMethod;

constexpr std::string_view kRawStartChildFlag = "--raw-start-child";

// Every section, in the order they run. bench/compare asks for this list (--list-sections),
// so a section added here appears in its table too.
const std::vector<std::string> kSections = {"throughput", "map", "batch", "roundtrip",
                                            "bandwidth",  "cpu", "start", "death"};

constexpr std::string_view kUsage =
    "usage: core_bench [--quick] [--only throughput,map,batch,roundtrip,bandwidth,cpu,start,\n"
    "                  death]\n"
    "                  [--json FILE] [--methods forkserver,fork,spawn] [--workers N]\n"
    "                  [--rounds N] [--tasks N] [--python-tasks N] [--python-max-seconds S]\n"
    "                  [--map-items N] [--round-trips N] [--blob-repeats N] [--cpu-items N]\n"
    "                  [--cpu-millis MS] [--start-runs N] [--deaths N] [--ballast-mib N]\n"
    "                  [--python PATH] [--peer-script PATH]\n"
    "       core_bench --list-sections\n";

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// ---------------------------------------------------------------------------------------------
// The tasks. Registered in every process that runs this program, workers included.

int noop(int x) { return x; }
FORKPOOL_TASK(noop_task, noop);

// A fixed amount of CPU work: the parallel-efficiency section's task.
std::uint64_t cpu_work(std::uint64_t iterations) { return lcg_steps(iterations); }
FORKPOOL_TASK(cpu_task, cpu_work);

// Never returns: the bench kills the worker while it waits here.
int block_until_killed(int) {
  for (;;) ::pause();
}
FORKPOOL_TASK(block_task, block_until_killed);

// ---------------------------------------------------------------------------------------------
// forkpool's side of each figure.

// Submits `count` no-op tasks, one submit each, then gets every result.
void run_noops(forkpool::Pool& pool, std::size_t count) {
  std::vector<forkpool::Future<int>> futures;
  futures.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    futures.push_back(pool.submit(noop_task, static_cast<int>(i % 1000)));
  }
  std::int64_t sum = 0, expected = 0;
  for (std::size_t i = 0; i < count; ++i) {
    sum += futures[i].get();
    expected += static_cast<std::int64_t>(i % 1000);
  }
  if (sum != expected) throw std::runtime_error("no-op tasks returned wrong values");
}

// Tasks per second, on a warmed-up pool.
double forkpool_throughput(StartMethod method, unsigned workers, std::size_t tasks) {
  forkpool::Pool pool({.workers = workers, .start_method = method});
  run_noops(pool, std::min<std::size_t>(tasks, 1000));  // every worker up, caches warm
  const auto start = Clock::now();
  run_noops(pool, tasks);
  const double seconds = seconds_since(start);
  pool.close();
  return static_cast<double>(tasks) / seconds;
}

// Items per second of pool.map over `items` ints, on a warmed-up pool: whatever batching or
// chunking Pool::map does is in this figure.
double forkpool_map_throughput(unsigned workers, std::size_t items) {
  forkpool::Pool pool({.workers = workers});
  run_noops(pool, 1000);
  const int count = static_cast<int>(items);
  const auto start = Clock::now();
  std::int64_t sum = 0;
  for (int value : pool.map(noop_task, std::views::iota(0, count))) sum += value;
  const double seconds = seconds_since(start);
  pool.close();
  if (sum != std::int64_t{count} * (count - 1) / 2) throw std::runtime_error("map: wrong sum");
  return static_cast<double>(items) / seconds;
}

// Calls per second of `items` no-op calls sent in batches of `batch_size` (Pool::batch()),
// every batch sent before the first result is read, on a warmed-up pool.
double forkpool_batch_throughput(unsigned workers, std::size_t items, std::size_t batch_size) {
  forkpool::Pool pool({.workers = workers});
  run_noops(pool, 1000);
  std::vector<forkpool::Future<int>> futures;
  futures.reserve(items);
  const auto start = Clock::now();
  for (std::size_t sent = 0; sent < items;) {
    forkpool::Batch batch = pool.batch();
    for (std::size_t i = 0; i < batch_size && sent < items; ++i, ++sent) {
      futures.push_back(batch.submit(noop_task, static_cast<int>(sent % 1000)));
    }
    batch.send();
  }
  std::int64_t sum = 0, expected = 0;
  for (std::size_t i = 0; i < items; ++i) {
    sum += futures[i].get();
    expected += static_cast<std::int64_t>(i % 1000);
  }
  const double seconds = seconds_since(start);
  pool.close();
  if (sum != expected) throw std::runtime_error("batch: wrong sum");
  return static_cast<double>(items) / seconds;
}

// How a pool is warmed up before a CPU-bound map is timed.
enum class WarmUp {
  // With a few of the CPU-bound tasks themselves: the steady state, the pool's estimate of a
  // task's duration already saying "long".
  kSameTasks,
  // With no-op tasks, as in a program that ran tiny tasks before: the estimate says "short"
  // when the map starts, and the pool pipelines the first tasks behind one another.
  kNoops,
};

// Seconds to map the CPU-bound task over `items` copies of `iterations` on `workers` workers.
double forkpool_cpu_seconds(unsigned workers, std::size_t items, std::uint64_t iterations,
                            WarmUp warm_up) {
  forkpool::Pool pool({.workers = workers});
  const std::vector<std::uint64_t> inputs(items, iterations);
  const std::uint64_t expected = lcg_steps(iterations);
  // Every worker up before the clock starts.
  if (warm_up == WarmUp::kNoops) {
    run_noops(pool, 10 * workers);
  } else {
    for (std::uint64_t value : pool.map(cpu_task, std::views::take(inputs, 4 * workers))) {
      if (value != expected) throw std::runtime_error("cpu: wrong result");
    }
  }
  const auto start = Clock::now();
  for (std::uint64_t value : pool.map(cpu_task, inputs)) {
    if (value != expected) throw std::runtime_error("cpu: wrong result");
  }
  const double seconds = seconds_since(start);
  pool.close();
  return seconds;
}

// Pins the calling thread to the first CPU it may run on, and so every thread and process it
// starts while pinned (they inherit the set); restores the set it had when destroyed.
class PinnedToOneCpu {
 public:
  PinnedToOneCpu() {
    if (sched_getaffinity(0, sizeof saved_, &saved_) != 0) {
      throw std::runtime_error("sched_getaffinity failed");
    }
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &saved_)) {
        CPU_SET(cpu, &one);
        break;
      }
    }
    if (sched_setaffinity(0, sizeof one, &one) != 0) {
      throw std::runtime_error("sched_setaffinity failed");
    }
  }
  ~PinnedToOneCpu() { sched_setaffinity(0, sizeof saved_, &saved_); }
  PinnedToOneCpu(const PinnedToOneCpu&) = delete;
  PinnedToOneCpu& operator=(const PinnedToOneCpu&) = delete;

 private:
  cpu_set_t saved_;
};

// Microseconds for one submit + get of a no-op task.
double forkpool_round_trip(forkpool::Pool& pool) {
  const auto start = Clock::now();
  const int value = pool.submit(noop_task, 7).get();
  const double micros = seconds_since(start) * 1e6;
  if (value != 7) throw std::runtime_error("round trip returned a wrong value");
  return micros;
}

struct BlobFigures {
  Samples ready_gbps;  // submit until the future is ready: the worker's work and the transfer
  Samples get_gbps;    // submit until get() has returned the decoded vector
};

// One task returning `bytes`, timed both ways. With `into`, the result is decoded by
// get_into() into that value, kept from call to call as the raw pipe's reader keeps its buffer;
// else by get(), into a new value each time.
template <typename Handle, typename R = forkpool::detail::CallResult<Handle>>
void forkpool_blob(forkpool::Pool& pool, const Handle& task, std::size_t bytes,
                   BlobFigures& figures, R* into = nullptr) {
  const auto start = Clock::now();
  auto future = pool.submit(task, std::uint64_t{bytes});
  future.wait();
  const double ready = seconds_since(start);
  R fresh{};
  R& value = into != nullptr ? *into : fresh;
  if (into != nullptr) {
    future.get_into(value);
  } else {
    fresh = future.get();
  }
  const double got = seconds_since(start);
  const std::vector<char>& result = [&]() -> const std::vector<char>& {
    if constexpr (std::is_same_v<std::decay_t<decltype(value)>, WarmBlob>) {
      return value.bytes;
    } else {
      return value;
    }
  }();
  if (result.size() != bytes || result.back() != 'x') throw std::runtime_error("bad blob");
  figures.ready_gbps.add(static_cast<double>(bytes) / ready / 1e9);
  figures.get_gbps.add(static_cast<double>(bytes) / got / 1e9);
}

// Milliseconds from constructing a 1-worker Pool to its first result.
Samples forkpool_cold_start(StartMethod method, int runs) {
  Samples millis;
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    forkpool::Pool pool({.workers = 1, .start_method = method});
    pool.submit(noop_task, 1).get();
    millis.add(seconds_since(start) * 1e3);
    pool.close();  // not timed: the figure is how soon work can start
  }
  return millis;
}

struct DeathFigures {
  Samples notice_ms;   // kill() until get() throws WorkerDied
  Samples respawn_ms;  // kill() until the replacement has returned a result
};

template <typename Future>
void wait_until_sent(const Future& future) {
  const auto give_up = Clock::now() + std::chrono::seconds(10);
  while (future.status() == forkpool::FutureStatus::kPending) {
    if (Clock::now() > give_up) throw std::runtime_error("the blocking task was never sent");
    std::this_thread::yield();
  }
}

pid_t only_worker(const forkpool::Pool& pool) {
  const std::vector<pid_t> pids = pool.worker_pids();
  if (pids.size() != 1) throw std::runtime_error("expected exactly one worker");
  return pids.front();
}

// Kills a busy worker and times how soon its future fails, then how soon the pool serves again.
void forkpool_death(forkpool::Pool& pool, DeathFigures& figures) {
  auto blocked = pool.submit(block_task, 0);
  wait_until_sent(blocked);  // from now on a death must fail this future, not requeue the task
  const pid_t pid = only_worker(pool);
  const auto start = Clock::now();
  ::kill(pid, SIGKILL);
  try {
    blocked.get();
    throw std::runtime_error("a task that never returns returned");
  } catch (const forkpool::WorkerDied& died) {
    figures.notice_ms.add(seconds_since(start) * 1e3);
    if (died.pid != pid) throw std::runtime_error("WorkerDied names another pid");
  }
  pool.submit(noop_task, 1).get();
  figures.respawn_ms.add(seconds_since(start) * 1e3);
}

// `deaths` kills on a 1-worker pool. The no-op that completes after each death is the respawn
// figure, and it also keeps the pool out of its crash-loop policy (deaths in a row with no task
// completing in between).
DeathFigures forkpool_deaths(StartMethod method, int deaths) {
  forkpool::Pool pool({.workers = 1, .start_method = method});
  pool.submit(noop_task, 0).get();
  DeathFigures figures;
  for (int i = 0; i < deaths; ++i) forkpool_death(pool, figures);
  pool.close();
  return figures;
}

// ---------------------------------------------------------------------------------------------
// The run.

struct Config {
  std::set<std::string> sections = {kSections.begin(), kSections.end()};
  std::vector<StartMethod> methods = {StartMethod::kForkserver, StartMethod::kFork,
                                      StartMethod::kSpawn};
  unsigned workers = 2;  // in the throughput section, for forkpool and Python alike
  int rounds = 3;        // throughput rounds, each running every peer and forkpool once
  std::size_t tasks = 100'000;
  std::size_t python_tasks = 100'000;
  double python_max_seconds = 60;
  std::size_t map_items = 1'000'000;  // for forkpool and every Python peer alike
  std::size_t cpu_items = 200;
  double cpu_millis = 5;  // the size of one CPU-bound task, calibrated once at the start
  std::size_t round_trips = 20'000;
  std::size_t blob_bytes = std::size_t{64} << 20;
  int blob_repeats = 5;
  int start_runs = 10;
  int deaths = 20;
  std::size_t ballast_mib = 0;
  std::string python = "/usr/bin/python3";  // Debian's, not whatever PATH finds first
  std::string peer_script = FORKPOOL_BENCH_DIR "/python_peer.py";
  std::string json_path;

  bool runs(const std::string& section) const { return sections.count(section) != 0; }
};

std::string method_name(StartMethod method) { return forkpool::to_string(method); }

class Bench {
 public:
  explicit Bench(Config config) : config_(std::move(config)) {}

  void run() {
    record_config();
    // Forking costs grow with the parent's memory (its page tables are copied), so a ballast
    // shows how the fork-based start methods behave inside a big program.
    const std::vector<char> ballast(config_.ballast_mib << 20, 1);
    if (config_.runs("throughput")) throughput();
    if (config_.runs("map")) map();
    if (config_.runs("batch")) batch();
    if (config_.runs("roundtrip")) round_trip();
    if (config_.runs("bandwidth")) bandwidth();
    if (config_.runs("cpu")) cpu();
    if (config_.runs("start")) start();
    if (config_.runs("death")) death();
    check_no_children();
    report_.print(std::cout);
    if (!config_.json_path.empty()) report_.write_json(config_.json_path);
  }

 private:
  void record_config() {
    report_.config("workers", config_.workers);
    report_.config("rounds", config_.rounds);
    report_.config("tasks", config_.tasks);
    report_.config("python_tasks", config_.python_tasks);
    report_.config("map_items", config_.map_items);
    report_.config("cpu_items", config_.cpu_items);
    report_.config("cpu_millis", config_.cpu_millis);
    report_.config("round_trips", config_.round_trips);
    report_.config("blob_bytes", config_.blob_bytes);
    report_.config("blob_repeats", config_.blob_repeats);
    report_.config("start_runs", config_.start_runs);
    report_.config("deaths", config_.deaths);
    report_.config("ballast_mib", config_.ballast_mib);
    report_.config("python", boost::json::string(config_.python));
  }

  boost::json::object python_peer(std::vector<std::string> args) {
    args.insert(args.begin(), {config_.python, config_.peer_script});
    return boost::json::parse(capture_output(args)).as_object();
  }

  // Rounds alternate the peers and forkpool, so that a burst of load from elsewhere hits both;
  // each figure is the median over the rounds.
  void throughput() {
    const std::string executor = "ProcessPoolExecutor(" + std::to_string(config_.workers) + ")";
    Samples py_submit, py_map;
    std::map<StartMethod, Samples> ours;
    for (int round = 1; round <= config_.rounds; ++round) {
      const std::string of = " (round " + std::to_string(round) + ")";
      progress("throughput: Python " + executor + ".submit" + of);
      py_submit.add(python_throughput("submit"));
      for (StartMethod method : config_.methods) {
        progress("throughput: forkpool " + method_name(method) + of);
        ours[method].add(forkpool_throughput(method, config_.workers, config_.tasks));
      }
      progress("throughput: Python " + executor + ".map(chunksize=1)" + of);
      py_map.add(python_throughput("map"));
    }
    // The goal is on submit against submit; map(chunksize=1) is the other way a Python user
    // sends tasks one at a time.
    for (const auto& [peer, figures, goal] :
         {std::tuple{executor + ".submit", py_submit, Goal{Goal::Kind::kRatioAtLeast, 25}},
          {executor + ".map(chunksize=1)", py_map, Goal{}}}) {
      for (StartMethod method : config_.methods) {
        report_.add("throughput",
                    std::to_string(config_.tasks) + " no-op submits+gets, " +
                        std::to_string(config_.workers) + "w, " + method_name(method),
                    "tasks/s", ours[method].median(), "py " + peer, figures.median(), goal);
      }
    }
  }

  double python_throughput(const std::string& mode) {
    return python_rate(mode, "1", config_.python_tasks, config_.tasks);
  }

  // Tasks per second of one Python peer; notes it if Python ran fewer tasks than forkpool.
  double python_rate(const std::string& mode, const std::string& chunksize, std::size_t tasks,
                     std::size_t forkpool_tasks) {
    boost::json::object r = python_peer({"throughput", "--mode", mode, "--chunksize", chunksize,
                                         "--tasks", std::to_string(tasks), "--max-seconds",
                                         std::to_string(config_.python_max_seconds), "--workers",
                                         std::to_string(config_.workers)});
    report_.config("python_version", r["python"]);
    note_python_count(mode, r, forkpool_tasks);
    return r["tasks_per_second"].to_number<double>();
  }

  void note_python_count(const std::string& mode, boost::json::object& r,
                         std::size_t forkpool_tasks) {
    const auto tasks = r["tasks"].to_number<std::int64_t>();
    if (tasks == static_cast<std::int64_t>(forkpool_tasks)) return;
    std::ostringstream note;
    note << "Python " << mode << " ran " << tasks << " tasks per round, forkpool " << forkpool_tasks
         << "; both figures are tasks/s.";
    if (r["reduced"].as_bool()) {
      note << " Reduced from " << config_.python_tasks << ": those would have taken about "
           << static_cast<long>(r["estimated_seconds_for_requested"].to_number<double>())
           << " s, over the " << config_.python_max_seconds << " s limit.";
    }
    report_.note_once(note.str());
  }

  // pool.map against the chunked maps of Python's two pools. The peers run with chunksize=256,
  // the way a Python user maps tiny tasks; rounds alternate them with forkpool.
  void map() {
    const std::string w = std::to_string(config_.workers);
    const std::vector<std::pair<std::string, std::string>> peers = {
        {"map", "ProcessPoolExecutor(" + w + ").map(chunksize=256)"},
        {"pool-map", "multiprocessing.Pool(" + w + ").map(chunksize=256)"},
        {"pool-imap", "multiprocessing.Pool(" + w + ").imap(chunksize=256)"}};
    std::map<std::string, Samples> theirs;
    Samples ours;
    for (int round = 1; round <= config_.rounds; ++round) {
      const std::string of = " (round " + std::to_string(round) + ")";
      for (std::size_t i = 0; i < peers.size(); ++i) {
        if (i == 1) {
          progress("map: forkpool pool.map" + of);
          ours.add(forkpool_map_throughput(config_.workers, config_.map_items));
        }
        progress("map: Python " + peers[i].second + of);
        theirs[peers[i].first].add(
            python_rate(peers[i].first, "256", config_.map_items, config_.map_items));
      }
    }
    for (const auto& [mode, label] : peers) {
      report_.add("map", "pool.map over " + std::to_string(config_.map_items) + " ints, " + w + "w",
                  "items/s", ours.median(), "py " + label, theirs[mode].median(),
                  {Goal::Kind::kRatioAtLeast, 3});
    }
  }

  // Calls sent 256 to a batch, against the same calls submitted one by one and against
  // Python's map with chunksize=256 (the same calls per message). Rounds alternate them.
  void batch() {
    const std::string w = std::to_string(config_.workers);
    const std::size_t items = config_.tasks;
    Samples batched, single, mapped, python;
    for (int round = 1; round <= config_.rounds; ++round) {
      const std::string of = " (round " + std::to_string(round) + ")";
      progress("batch: forkpool batches of 256" + of);
      batched.add(forkpool_batch_throughput(config_.workers, items, 256));
      progress("batch: forkpool single submits" + of);
      single.add(forkpool_throughput(StartMethod::kForkserver, config_.workers, items));
      progress("batch: forkpool pool.map" + of);
      mapped.add(forkpool_map_throughput(config_.workers, items));
      progress("batch: Python ProcessPoolExecutor.map(chunksize=256)" + of);
      python.add(python_rate("map", "256", config_.map_items, items));
    }
    const std::string name = std::to_string(items) + " no-op calls in batches of 256, " + w + "w";
    report_.add("batch", name, "calls/s", batched.median(),
                "py ProcessPoolExecutor(" + w + ").map(chunksize=256)", python.median(),
                {Goal::Kind::kRatioAtLeast, 3});
    report_.add("batch", name, "calls/s", batched.median(), "forkpool single submits, same calls",
                single.median());
    // Within 2x of map's rate: a call that keeps its own future and error costs at most twice
    // an item of a map.
    report_.add("batch", name, "calls/s", batched.median(), "forkpool pool.map, same calls",
                mapped.median(), {Goal::Kind::kRatioAtLeast, 0.5});
  }

  // Raw ping-pongs and forkpool round trips take turns, for the same reason. Twice: as the
  // scheduler places the processes, and with every process and thread on one CPU. A wake-up
  // across CPUs costs about as much as the rest of a round trip on a VM, and whether the
  // two-process peer crosses CPUs varies from run to run while forkpool's three hops always
  // do (bench/README.md, "The round trip's peers"); on one CPU both pay the same wake-ups.
  void round_trip() {
    progress("roundtrip: raw pipe ping-pong and forkpool, interleaved");
    add_round_trip_rows("", time_round_trips());
    progress("roundtrip: the same, every process on one CPU");
    const PinnedToOneCpu pinned;
    add_round_trip_rows(", one CPU", time_round_trips());
  }

  struct RoundTrips {
    Samples raw1, raw32, ours;
  };

  RoundTrips time_round_trips() const {
    RawEcho echo1(1), echo32(32);  // before the pool, so that they hold none of its pipes
    forkpool::Pool pool({.workers = 1});
    run_noops(pool, 100);
    // In blocks, not call by call: after get() returns, the worker and the collector still
    // finish their turn (a few microseconds of CPU), and on one CPU a ping-pong timed right
    // after a round trip paid for that tail (8.2 us against 5.0 us for the same echo). Each
    // block's first figure may still pay it; the medians do not see it.
    constexpr std::size_t kBlock = 64;
    RoundTrips times;
    for (std::size_t done = 0; done < config_.round_trips; done += kBlock) {
      const std::size_t n = std::min(kBlock, config_.round_trips - done);
      for (std::size_t i = 0; i < n; ++i) times.raw1.add(echo1.round_trip());
      for (std::size_t i = 0; i < n; ++i) times.raw32.add(echo32.round_trip());
      for (std::size_t i = 0; i < n; ++i) times.ours.add(forkpool_round_trip(pool));
    }
    pool.close();
    return times;
  }

  void add_round_trip_rows(const std::string& where, const RoundTrips& t) {
    const Goal within{Goal::Kind::kRatioAtMost, 1.5};
    const std::string name = "no-op submit+get, 1w forkserver" + where + ", ";
    report_.add("roundtrip", name + "median", "us", t.ours.median(),
                "pipe ping-pong 1 B" + where + ", median", t.raw1.median(), within);
    report_.add("roundtrip", name + "median", "us", t.ours.median(),
                "pipe ping-pong 24+8 B" + where + ", median", t.raw32.median());
    report_.add("roundtrip", name + "p99", "us", t.ours.percentile(99),
                "pipe ping-pong 24+8 B" + where + ", p99", t.raw32.percentile(99));
  }

  void bandwidth() {
    progress("bandwidth: raw pipe and forkpool, interleaved");
    const std::size_t bytes = config_.blob_bytes;
    RawWriter reused(bytes, Buffers::kReused), fresh(bytes, Buffers::kFresh);
    // The result frame is the vector plus a few bytes of archive (its length), so it needs a
    // max_frame above the default of exactly 64 MiB.
    forkpool::Pool pool({.workers = 1, .max_frame = bytes + (std::size_t{1} << 20)});
    Samples raw, raw_fresh;
    BlobFigures warm, warm_into, built, warm_up;
    WarmBlob kept;  // get_into's value, reused from result to result
    // Repeat 0 warms every path up and is not counted.
    for (int i = 0; i <= config_.blob_repeats; ++i) {
      const double reused_gbps = reused.transfer();
      forkpool_blob(pool, warm_blob_task, bytes, i == 0 ? warm_up : warm);
      forkpool_blob(pool, warm_blob_task, bytes, i == 0 ? warm_up : warm_into, &kept);
      const double fresh_gbps = fresh.transfer();
      forkpool_blob(pool, blob_task, bytes, i == 0 ? warm_up : built);
      if (i == 0) continue;
      raw.add(reused_gbps);
      raw_fresh.add(fresh_gbps);
    }
    pool.close();
    add_bandwidth_rows(raw, raw_fresh, warm, warm_into, built);
  }

  // Two pairs: sending from warm memory on both sides (the goal: what forkpool itself adds),
  // and building fresh memory on both sides (what a task that builds its result costs).
  void add_bandwidth_rows(const Samples& raw, const Samples& raw_fresh, const BlobFigures& warm,
                          const BlobFigures& warm_into, const BlobFigures& built) {
    const std::string size = std::to_string(config_.blob_bytes >> 20) + " MiB";
    const std::string name = size + " result from warm memory, submit..get, ";
    const std::string peer = "raw pipe " + size + ", reused buffers, ";
    const Goal warm_goal{Goal::Kind::kRatioAtLeast, 0.8};
    report_.add("bandwidth", name + "median", "GB/s", warm.get_gbps.median(), peer + "median",
                raw.median(), warm_goal);
    report_.add("bandwidth", name + "best", "GB/s", warm.get_gbps.max(), peer + "best", raw.max());
    // Both sides reuse their buffers: the raw reader its buffer, the caller its result vector.
    report_.add("bandwidth", size + " result from warm memory, submit..get_into, median", "GB/s",
                warm_into.get_gbps.median(), peer + "median", raw.median(), warm_goal);
    report_.add("bandwidth", size + " result from warm memory, submit..ready, median", "GB/s",
                warm.ready_gbps.median(), peer + "median", raw.median());
    const std::string built_name = size + " result built fresh by the task, submit..get, median";
    report_.add("bandwidth", built_name, "GB/s", built.get_gbps.median(),
                "raw pipe " + size + ", fresh buffers, median", raw_fresh.median());
    report_.add("bandwidth", built_name, "GB/s", built.get_gbps.median(), peer + "median",
                raw.median(), Goal{Goal::Kind::kRatioAtLeast, 0.5});
  }

  // Parallel efficiency T1 / (w * Tw) of a CPU-bound map, in percent: how much of the second
  // core the pool turns into work. Python's multiprocessing.Pool maps a task of the same
  // duration (its own LCG, calibrated in Python) over as many items.
  void cpu() {
    const std::uint64_t iterations = lcg_iterations_for(config_.cpu_millis);
    report_.config("cpu_iterations", iterations);
    const auto w = config_.workers;
    const std::size_t items = config_.cpu_items;
    Samples ours, after_noops, theirs;
    for (int round = 1; round <= config_.rounds; ++round) {
      const std::string of = " (round " + std::to_string(round) + ")";
      progress("cpu: forkpool 1 and " + std::to_string(w) + " workers" + of);
      // One worker has no parallelism to lose to pipelining: one T1 serves both rows.
      const double one = forkpool_cpu_seconds(1, items, iterations, WarmUp::kSameTasks);
      const double many = forkpool_cpu_seconds(w, items, iterations, WarmUp::kSameTasks);
      const double many_after_noops = forkpool_cpu_seconds(w, items, iterations, WarmUp::kNoops);
      ours.add(100 * one / (w * many));
      after_noops.add(100 * one / (w * many_after_noops));
      const std::string r = "_round" + std::to_string(round);
      report_.config("cpu_seconds_1w" + r, one);
      report_.config("cpu_seconds_" + std::to_string(w) + "w" + r, many);
      report_.config("cpu_seconds_" + std::to_string(w) + "w_after_noops" + r, many_after_noops);
      progress("cpu: Python multiprocessing.Pool 1 and " + std::to_string(w) + " workers" + of);
      boost::json::object py =
          python_peer({"cpu", "--items", std::to_string(config_.cpu_items), "--millis",
                       std::to_string(config_.cpu_millis), "--workers", std::to_string(w)});
      theirs.add(100 * py["efficiency"].to_number<double>());
    }
    const std::string name = "CPU-bound map, " + std::to_string(config_.cpu_items) + " x " +
                             format_millis(config_.cpu_millis) + ", efficiency 1w->" +
                             std::to_string(w) + "w";
    const Goal at_least97{Goal::Kind::kValueAtLeast, 97};
    report_.add("cpu", name, "%", ours.median(), "py multiprocessing.Pool, same", theirs.median(),
                at_least97);
    report_.add("cpu", name, "%", ours.median(), "ideal", 100, at_least97);
    report_.add("cpu", name + ", pool warmed by no-ops", "%", after_noops.median(), "ideal", 100,
                at_least97);
  }

  static std::string format_millis(double millis) {
    std::ostringstream out;
    out << millis << " ms";
    return out.str();
  }

  void start() {
    for (StartMethod method : config_.methods) {
      progress("start: forkpool and Python, " + method_name(method));
      const Samples ours = forkpool_cold_start(method, config_.start_runs);
      boost::json::object py = python_peer(
          {"start", "--method", method_name(method), "--runs", std::to_string(config_.start_runs)});
      report_.add("start", "Pool(1w) -> first result, " + method_name(method) + ", median", "ms",
                  ours.median(), "py ProcessPoolExecutor(1, " + method_name(method) + ")",
                  py["median_ms"].to_number<double>());
    }
    progress("start: raw fork and posix_spawn");
    const Samples fork_floor = raw_fork_start(config_.start_runs);
    const Samples spawn_floor =
        raw_spawn_start(config_.start_runs, std::string(kRawStartChildFlag));
    for (StartMethod method : config_.methods) {
      const bool spawned = method == StartMethod::kSpawn;
      report_.add("start", "respawn: kill -> next result, " + method_name(method) + ", median",
                  "ms", deaths(method).respawn_ms.median(),
                  spawned ? "raw posix_spawn(self) + 1 B, median" : "raw fork + 1 B, median",
                  spawned ? spawn_floor.median() : fork_floor.median());
    }
  }

  void death() {
    progress("death: raw SIGKILL -> pidfd");
    const Samples floor = raw_death_notice(config_.deaths);
    const Goal under100{Goal::Kind::kValueBelow, 100};
    for (StartMethod method : config_.methods) {
      report_.add("death", "SIGKILL -> WorkerDied, " + method_name(method) + ", median", "ms",
                  deaths(method).notice_ms.median(), "raw SIGKILL -> pidfd, median", floor.median(),
                  under100);
    }
    for (StartMethod method : config_.methods) {
      report_.add("death", "SIGKILL -> WorkerDied, " + method_name(method) + ", max", "ms",
                  deaths(method).notice_ms.max(), "raw SIGKILL -> pidfd, max", floor.max(),
                  under100);
    }
  }

  // The start and death sections share one kill loop per start method.
  const DeathFigures& deaths(StartMethod method) {
    auto it = deaths_.find(method);
    if (it == deaths_.end()) {
      progress("kill loop: forkpool " + method_name(method));
      it = deaths_.emplace(method, forkpool_deaths(method, config_.deaths)).first;
    }
    return it->second;
  }

  // Every pool closed and every peer reaped: this process has no child left, not even a
  // zombie. WNOWAIT looks without reaping.
  void check_no_children() {
    siginfo_t info{};
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == -1 && errno == ECHILD) return;
    report_.note_once("LEAK: a child process of core_bench was still there at the end");
  }

  static void progress(const std::string& what) { std::cerr << "core_bench: " << what << "\n"; }

  Config config_;
  Report report_;
  std::map<StartMethod, DeathFigures> deaths_;
};

// ---------------------------------------------------------------------------------------------
// Command line.

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> items;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) items.push_back(item);
  return items;
}

StartMethod parse_method(const std::string& name) {
  for (StartMethod m : {StartMethod::kForkserver, StartMethod::kFork, StartMethod::kSpawn}) {
    if (name == method_name(m)) return m;
  }
  throw std::invalid_argument("unknown start method '" + name + "'");
}

void apply_quick(Config& config) {
  config.rounds = 1;
  config.tasks = 10'000;
  config.python_tasks = 2'000;
  config.map_items = 100'000;
  config.round_trips = 2'000;
  config.blob_repeats = 2;
  config.start_runs = 3;
  config.deaths = 5;
}

// Sets the option `flag` to `value`; false if there is no such option.
bool set_option(Config& config, const std::string& flag, const std::string& value) {
  if (flag == "--only") {
    const std::vector<std::string> sections = split(value);
    for (const std::string& section : sections) {
      if (std::find(kSections.begin(), kSections.end(), section) == kSections.end()) {
        throw std::invalid_argument("unknown section '" + section + "'");
      }
    }
    config.sections = {sections.begin(), sections.end()};
  } else if (flag == "--methods") {
    config.methods.clear();
    for (const std::string& m : split(value)) config.methods.push_back(parse_method(m));
  } else if (flag == "--json")
    config.json_path = value;
  else if (flag == "--workers")
    config.workers = static_cast<unsigned>(std::stoul(value));
  else if (flag == "--rounds")
    config.rounds = std::stoi(value);
  else if (flag == "--tasks")
    config.tasks = std::stoul(value);
  else if (flag == "--python-tasks")
    config.python_tasks = std::stoul(value);
  else if (flag == "--python-max-seconds")
    config.python_max_seconds = std::stod(value);
  else if (flag == "--map-items")
    config.map_items = std::stoul(value);
  else if (flag == "--cpu-items")
    config.cpu_items = std::stoul(value);
  else if (flag == "--cpu-millis")
    config.cpu_millis = std::stod(value);
  else if (flag == "--round-trips")
    config.round_trips = std::stoul(value);
  else if (flag == "--blob-repeats")
    config.blob_repeats = std::stoi(value);
  else if (flag == "--start-runs")
    config.start_runs = std::stoi(value);
  else if (flag == "--deaths")
    config.deaths = std::stoi(value);
  else if (flag == "--ballast-mib")
    config.ballast_mib = std::stoul(value);
  else if (flag == "--python")
    config.python = value;
  else if (flag == "--peer-script")
    config.peer_script = value;
  else
    return false;
  return true;
}

Config parse_args(int argc, char** argv) {
  Config config;
  const std::vector<std::string> args(argv + 1, argv + argc);
  // --quick first, wherever it is, so that an explicit count always wins over it.
  if (std::find(args.begin(), args.end(), "--quick") != args.end()) apply_quick(config);
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--quick") continue;
    if (i + 1 >= args.size() || !set_option(config, args[i], args[i + 1])) {
      throw std::invalid_argument("unknown option or missing value: " + args[i]);
    }
    ++i;
  }
  return config;
}

}  // namespace
}  // namespace forkpool_bench

int main(int argc, char** argv) {
  if (auto code = forkpool::worker_main_if_requested(argc, argv)) return *code;
  // The raw spawn peer: this program exec'd again, reporting that main has been reached.
  if (argc == 2 && std::string_view(argv[1]) == forkpool_bench::kRawStartChildFlag) {
    return forkpool_bench::write_start_byte() ? 0 : 1;
  }
  if (argc == 2 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h")) {
    std::cout << forkpool_bench::kUsage;
    return 0;
  }
  if (argc == 2 && std::string_view(argv[1]) == "--list-sections") {
    for (const std::string& section : forkpool_bench::kSections) std::cout << section << "\n";
    return 0;
  }
  forkpool_bench::Config config;
  try {
    config = forkpool_bench::parse_args(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "core_bench: " << e.what() << "\n" << forkpool_bench::kUsage;
    return 2;
  }
  try {
    // The death bench kills workers on purpose; a warning per kill would bury the table.
    forkpool::task_logger().set_level(spdlog::level::err);
    forkpool_bench::Bench(std::move(config)).run();
  } catch (const std::exception& e) {
    std::cerr << "core_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
