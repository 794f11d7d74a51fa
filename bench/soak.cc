// soak: a million tiny tasks through one Pool, 1% of which crash their worker. Checks that every
// task settles exactly once — with its value, or with WorkerDied if it crashed — and that the
// parent's memory, fds and child processes stay bounded; prints one `name: value` per line.
//
//   soak [--tasks N] [--workers W] [--start-method forkserver|fork|spawn] [--window N]
//        [--stall-seconds S] [--json FILE] [--quiet]
//
// Exits 0 if every check passed; 1, after a "result: FAIL: ..." line naming the checks that
// failed, if any did; 2 on a bad command line. bench/README.md says what each figure means.
// A little over 500 lines: one program whose checks read the same counters and settle the
// same tasks; split, each part would need all of the others.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "forkpool/forkpool.h"
#include "process_census.h"

namespace forkpool_bench {
namespace {

using Clock = std::chrono::steady_clock;
using forkpool::StartMethod;

constexpr std::string_view kUsage =
    "usage: soak [--tasks N] [--workers W] [--start-method forkserver|fork|spawn]\n"
    "            [--window N] [--stall-seconds S] [--json FILE] [--quiet]\n";

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// ---------------------------------------------------------------------------------------------
// The task. Task i returns i*2+1, except that every hundredth one (i % 100 == 42) kills its
// worker, in turn by abort(), by SIGSEGV and by _exit(7). Registered in every process that
// runs this program, workers included.

constexpr std::int64_t kCrashEvery = 100;
constexpr std::int64_t kCrashAt = 42;
constexpr int kCrashExitCode = 7;

enum class Crash { kNone, kAbort, kSegv, kExit };

Crash crash_of(std::int64_t task) {
  if (task % kCrashEvery != kCrashAt) return Crash::kNone;
  switch ((task / kCrashEvery) % 3) {
    case 0:
      return Crash::kAbort;
    case 1:
      return Crash::kSegv;
    default:
      return Crash::kExit;
  }
}

// Tasks 0..submitted-1 that crash.
std::int64_t crashes_among(std::int64_t submitted) {
  return submitted > kCrashAt ? (submitted - kCrashAt - 1) / kCrashEvery + 1 : 0;
}

std::int64_t value_of(std::int64_t task) { return task * 2 + 1; }

bool died_as_planned(const forkpool::ExitStatus& status, Crash crash) {
  switch (crash) {
    case Crash::kAbort:
      return status.is_signaled() && status.signal() == SIGABRT;
    case Crash::kSegv:
      return status.is_signaled() && status.signal() == SIGSEGV;
    case Crash::kExit:
      return status.is_exited() && status.exit_code() == kCrashExitCode;
    case Crash::kNone:
      return false;
  }
  return false;
}

[[noreturn]] void crash(Crash how) {
  // Ten thousand deliberate crashes must leave no core files (core_pattern may put them in the
  // working directory or hand each to a crash reporter). A process that is not dumpable dumps
  // no core, whatever RLIMIT_CORE and core_pattern say.
  ::prctl(PR_SET_DUMPABLE, 0);
  if (how == Crash::kAbort) std::abort();
  if (how == Crash::kSegv) {
    // Whatever the worker (or a sanitizer) did with SIGSEGV, this must end it by SIGSEGV.
    ::signal(SIGSEGV, SIG_DFL);
    sigset_t segv;
    ::sigemptyset(&segv);
    ::sigaddset(&segv, SIGSEGV);
    ::sigprocmask(SIG_UNBLOCK, &segv, nullptr);
    ::raise(SIGSEGV);
  }
  ::_exit(kCrashExitCode);  // for kSegv too if the signal somehow returned: the check sees it
}

std::int64_t soak_step(std::int64_t task) {
  if (const Crash how = crash_of(task); how != Crash::kNone) crash(how);
  return value_of(task);
}
FORKPOOL_TASK(soak_task, soak_step);

// ---------------------------------------------------------------------------------------------
// Completion order. Each future's on_ready callback pushes its slot here from the pool's
// collector thread, which it must not hold up: a lock, a push, a notify.

struct Completion {
  std::size_t slot = 0;
  std::uint64_t generation = 0;  // which use of the slot: a late or second callback is seen
};

class CompletionQueue {
 public:
  void push(Completion done) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.push_back(done);
    }
    nonempty_.notify_one();
  }
  // The next completion, or nullopt if none arrives within `timeout`.
  std::optional<Completion> pop(std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!nonempty_.wait_for(lock, timeout, [&] { return !ready_.empty(); })) return std::nullopt;
    const Completion done = ready_.front();
    ready_.pop_front();
    return done;
  }

 private:
  std::mutex mutex_;
  std::condition_variable nonempty_;
  std::deque<Completion> ready_;  // at most one entry per slot: bounded by the window
};

// ---------------------------------------------------------------------------------------------
// The figures, printed as `name: value` lines and written as one JSON object, in one order.

class Figures {
 public:
  void add(const std::string& name, std::int64_t value) {
    lines_.emplace_back(name, std::to_string(value));
    json_[name] = value;
  }
  void add(const std::string& name, double value, int decimals) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    lines_.emplace_back(name, text);
    json_[name] = value;
  }
  void add(const std::string& name, const std::string& value) {
    lines_.emplace_back(name, value);
    json_[name] = value;
  }

  void print(std::ostream& out) const {
    for (const auto& [name, value] : lines_) out << name << ": " << value << "\n";
    out.flush();
  }
  // Throws std::runtime_error if the file cannot be written.
  void write_json(const std::string& path) const {
    std::ofstream out(path);
    out << boost::json::serialize(json_) << "\n";
    if (!out.flush()) throw std::runtime_error("cannot write " + path);
  }

 private:
  std::vector<std::pair<std::string, std::string>> lines_;
  boost::json::object json_;  // keeps insertion order
};

// ---------------------------------------------------------------------------------------------
// The run.

struct Config {
  std::int64_t tasks = 1'000'000;
  unsigned workers = 2;
  StartMethod start_method = StartMethod::kForkserver;
  // Futures in flight at most. Far more than the workers' pipelines hold (4 tasks each), so
  // the pool's queue is never empty and the tasks waiting behind a crash are requeued.
  std::size_t window = 1024;
  // No task settling for this long is a hang: the rest are counted lost.
  std::chrono::seconds stall_timeout{120};
  std::string json_path;
  bool progress = true;
};

// How every task ended, as the program saw it.
struct Tally {
  std::int64_t submitted = 0;
  std::int64_t settled = 0;
  std::int64_t completed_ok = 0;
  std::int64_t worker_died = 0;        // failed with WorkerDied; of those,
  std::int64_t died_unexpectedly = 0;  // a task that does not crash, or a death not as planned
  std::int64_t failed_otherwise = 0;   // failed with any other error
  std::int64_t settled_twice = 0;      // a second callback for one submission
  std::int64_t wrong_value = 0;        // a value other than value_of(task), or from a crashing task
  std::string first_unexpected;        // what() of the first unexpected error

  std::int64_t duplicated() const { return settled_twice + wrong_value; }
  std::int64_t lost() const { return submitted - settled; }
};

// What /proc says about this process at one moment.
struct Census {
  int open_fds = 0;
  Children children;
};

Census take_census() { return Census{count_open_fds(), count_children()}; }

constexpr std::int64_t kCheckpointEvery = 1'000;  // settled tasks between samples of fds and pids

class Soak {
 public:
  explicit Soak(Config config) : config_(std::move(config)), slots_(config_.window) {
    for (std::size_t i = slots_.size(); i > 0; --i) free_slots_.push_back(i - 1);
  }

  // Runs everything, prints the figures; returns the exit code.
  int run() {
    const double rss_before = rss_mib();
    const Census before = take_census();
    max_open_fds_ = before.open_fds;
    pool_.emplace(pool_options());
    start_description_ = pool_->start_description();
    const auto start = Clock::now();
    pump();
    wall_seconds_ = seconds_since(start);
    if (stalled_) pool_->terminate();  // fails what is left, so close() cannot wait forever
    const auto close_start = Clock::now();
    pool_->close();
    stats_ = pool_->stats();
    pool_.reset();  // the Pool's own fds (epoll, zygote socket) go with it
    close_seconds_ = seconds_since(close_start);
    return report(rss_before, before, take_census());
  }

 private:
  struct Slot {
    std::int64_t task = -1;
    std::uint64_t generation = 0;
    bool in_flight = false;
    forkpool::Future<std::int64_t> future;
  };

  forkpool::Options pool_options() const {
    // The crash-loop policy is left at its default on purpose: a crash every hundred tasks,
    // each followed by tasks that complete, is not a crash loop, and the soak shows that the
    // default policy agrees. A trip is reported as a failure, not tuned away.
    return forkpool::Options{.workers = config_.workers, .start_method = config_.start_method};
  }

  std::size_t in_flight() const { return slots_.size() - free_slots_.size(); }

  // Keeps the window full and settles tasks in completion order until every submitted task
  // has settled, the pool refuses more, or nothing settles for the stall timeout.
  void pump() {
    std::int64_t next = 0;
    bool intake = true;
    for (;;) {
      while (intake && next < config_.tasks && !free_slots_.empty()) {
        intake = submit(next);
        if (intake) ++next;
      }
      if (in_flight() == 0) return;
      const std::optional<Completion> done = completions_.pop(config_.stall_timeout);
      if (!done) {
        stalled_ = true;
        return;
      }
      settle(*done);
      if (tally_.settled % kCheckpointEvery == 0) checkpoint();
    }
  }

  // False if the pool refused the task (PoolBroken after a crash loop, PoolClosed).
  bool submit(std::int64_t task) {
    const std::size_t index = free_slots_.back();
    Slot& slot = slots_[index];
    try {
      slot.future = pool_->submit(soak_task, task);
    } catch (const forkpool::Error& e) {
      refused_ = e.what();
      return false;
    }
    free_slots_.pop_back();
    slot.task = task;
    slot.in_flight = true;
    const Completion id{index, ++slot.generation};
    ++tally_.submitted;
    slot.future.on_ready([this, id] { completions_.push(id); });
    return true;
  }

  void settle(Completion done) {
    Slot& slot = slots_[done.slot];
    if (!slot.in_flight || slot.generation != done.generation) {
      ++tally_.settled_twice;
      return;
    }
    slot.in_flight = false;
    free_slots_.push_back(done.slot);
    ++tally_.settled;
    if (!slot.future.ready()) {  // get() would block: the callback came before the result
      unexpected("on_ready ran for task " + std::to_string(slot.task) + " before it settled");
      ++tally_.failed_otherwise;
    } else {
      check(slot.task, slot.future);
    }
    slot.future = {};  // the result's memory goes now, not when the slot is reused
  }

  void check(std::int64_t task, const forkpool::Future<std::int64_t>& future) {
    const Crash crash = crash_of(task);
    try {
      const std::int64_t value = future.get();
      if (crash == Crash::kNone && value == value_of(task)) {
        ++tally_.completed_ok;
      } else {
        ++tally_.wrong_value;
      }
    } catch (const forkpool::WorkerDied& died) {
      ++tally_.worker_died;
      if (!died_as_planned(died.status, crash)) {
        ++tally_.died_unexpectedly;
        unexpected("task " + std::to_string(task) + ": " + died.what());
      }
    } catch (const std::exception& e) {
      ++tally_.failed_otherwise;
      unexpected("task " + std::to_string(task) + ": " + e.what());
    }
  }

  void unexpected(const std::string& what) {
    if (tally_.first_unexpected.empty()) tally_.first_unexpected = what;
  }

  // Samples what must stay bounded, and the worker pids, so that after close the program can
  // check that none of them outlived the pool (a forkserver worker whose zygote went away
  // would be nobody's child here, so the scan of this process's children would not see it).
  void checkpoint() {
    max_open_fds_ = std::max(max_open_fds_, count_open_fds());
    for (pid_t pid : pool_->worker_pids()) {
      if (const auto started = process_start_time(pid)) workers_seen_.insert({pid, *started});
    }
    if (config_.progress && tally_.settled % 100'000 == 0) {
      std::cerr << "soak: " << tally_.settled << " of " << config_.tasks << " settled, "
                << tally_.worker_died << " worker deaths\n";
    }
  }

  int workers_alive_of_those_seen() const {
    int alive = 0;
    for (const auto& [pid, started] : workers_seen_) {
      if (process_start_time(pid) == started) ++alive;  // the same process, not a reused pid
    }
    return alive;
  }

  int report(double rss_before, const Census& before, const Census& after) const;
  std::vector<std::string> failures(const Census& before, const Census& after,
                                    int workers_alive) const;

  Config config_;
  CompletionQueue completions_;
  std::vector<Slot> slots_;
  std::vector<std::size_t> free_slots_;
  Tally tally_;
  std::set<std::pair<pid_t, std::uint64_t>> workers_seen_;  // (pid, start time)
  int max_open_fds_ = 0;
  bool stalled_ = false;
  std::string refused_;  // why the pool stopped taking tasks, if it did
  std::string start_description_;
  forkpool::PoolStats stats_;
  double wall_seconds_ = 0;
  double close_seconds_ = 0;
  // Last, so that it is destroyed first, while the queue its callbacks push to still exists.
  std::optional<forkpool::Pool> pool_;
};

// Every check that failed, as a phrase.
std::vector<std::string> Soak::failures(const Census& before, const Census& after,
                                        int workers_alive) const {
  std::vector<std::string> failed;
  const auto add = [&](bool bad, const std::string& what) {
    if (bad) failed.push_back(what);
  };
  const std::string first =
      tally_.first_unexpected.empty() ? "" : " (first: " + tally_.first_unexpected + ")";
  add(!refused_.empty(),
      "the pool refused task " + std::to_string(tally_.submitted) + ": " + refused_);
  add(stalled_, "no task settled for " + std::to_string(config_.stall_timeout.count()) + " s");
  add(tally_.lost() != 0, std::to_string(tally_.lost()) + " tasks lost");
  add(tally_.settled_twice != 0, std::to_string(tally_.settled_twice) + " tasks settled twice");
  add(tally_.wrong_value != 0,
      std::to_string(tally_.wrong_value) + " tasks returned a wrong value");
  add(tally_.died_unexpectedly != 0, std::to_string(tally_.died_unexpectedly) +
                                         " tasks failed with an unexpected WorkerDied" + first);
  add(tally_.failed_otherwise != 0,
      std::to_string(tally_.failed_otherwise) + " tasks failed with another error" + first);
  add(tally_.worker_died != crashes_among(tally_.submitted),
      std::to_string(tally_.worker_died) + " tasks failed with WorkerDied, " +
          std::to_string(crashes_among(tally_.submitted)) + " crash");
  add(after.open_fds != before.open_fds, "fds leaked: " + std::to_string(before.open_fds) +
                                             " open before the pool, " +
                                             std::to_string(after.open_fds) + " after close");
  add(after.children.processes != 0, std::to_string(after.children.processes) +
                                         " child processes left after close (" +
                                         std::to_string(after.children.zombies) + " zombies)");
  add(workers_alive != 0, std::to_string(workers_alive) + " workers still alive after close");
  return failed;
}

int Soak::report(double rss_before, const Census& before, const Census& after) const {
  const int workers_alive = workers_alive_of_those_seen();
  const forkpool::CrashLoopPolicy policy = pool_options().crash_loop;
  Figures f;
  f.add("start_method", std::string(forkpool::to_string(config_.start_method)));
  f.add("start_description", start_description_);
  f.add("workers", std::int64_t{config_.workers});
  f.add("window", static_cast<std::int64_t>(config_.window));
  f.add("crash_loop_deaths", std::int64_t{policy.deaths});
  f.add("crash_loop_window_ms", static_cast<std::int64_t>(policy.window.count()));
  f.add("tasks_requested", config_.tasks);
  f.add("tasks_submitted", tally_.submitted);
  f.add("completed_ok", tally_.completed_ok);
  f.add("failed_worker_died", tally_.worker_died);
  f.add("crashing_tasks_submitted", crashes_among(tally_.submitted));
  f.add("failed_worker_died_unexpectedly", tally_.died_unexpectedly);
  f.add("failed_otherwise", tally_.failed_otherwise);
  f.add("lost", tally_.lost());
  f.add("duplicated", tally_.duplicated());
  f.add("worker_deaths", static_cast<std::int64_t>(stats_.worker_deaths));
  f.add("workers_started", static_cast<std::int64_t>(stats_.workers_started));
  f.add("requeued", static_cast<std::int64_t>(stats_.requeued));
  f.add("pool_stats_completed", static_cast<std::int64_t>(stats_.completed));
  f.add("pool_stats_failed", static_cast<std::int64_t>(stats_.failed));
  f.add("wall_seconds", wall_seconds_, 2);
  f.add("tasks_per_second", static_cast<double>(tally_.settled) / wall_seconds_, 0);
  f.add("close_seconds", close_seconds_, 3);
  f.add("rss_before_pool_mib", rss_before, 1);
  f.add("peak_rss_mib", peak_rss_mib(), 1);
  f.add("open_fds_before_pool", std::int64_t{before.open_fds});
  f.add("open_fds_max_while_running", std::int64_t{max_open_fds_});
  f.add("open_fds_after_close", std::int64_t{after.open_fds});
  f.add("children_after_close", std::int64_t{after.children.processes});
  f.add("zombies_after_close", std::int64_t{after.children.zombies});
  f.add("workers_sampled", static_cast<std::int64_t>(workers_seen_.size()));
  f.add("sampled_workers_alive_after_close", std::int64_t{workers_alive});

  const std::vector<std::string> failed = failures(before, after, workers_alive);
  std::string verdict = "ok";
  if (!failed.empty()) {
    verdict = "FAIL: " + failed.front();
    for (std::size_t i = 1; i < failed.size(); ++i) verdict += "; " + failed[i];
  }
  f.add("result", verdict);
  f.print(std::cout);
  if (!failed.empty()) std::cerr << "soak: " << verdict << "\n";
  if (!config_.json_path.empty()) f.write_json(config_.json_path);
  return failed.empty() ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// Command line.

StartMethod parse_method(const std::string& name) {
  for (StartMethod m : {StartMethod::kForkserver, StartMethod::kFork, StartMethod::kSpawn}) {
    if (name == forkpool::to_string(m)) return m;
  }
  throw std::invalid_argument("unknown start method '" + name + "'");
}

// A whole, positive number; std::stol alone accepts "12abc" and "-3".
std::int64_t parse_count(const std::string& flag, const std::string& value) {
  std::size_t used = 0;
  const long long number = std::stoll(value, &used);
  if (used != value.size() || number <= 0) {
    throw std::invalid_argument(flag + " needs a positive whole number, not '" + value + "'");
  }
  return number;
}

Config parse_args(int argc, char** argv) {
  Config config;
  const std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "--quiet") {
      config.progress = false;
      continue;
    }
    if (i + 1 >= args.size())
      throw std::invalid_argument("unknown option or missing value: " + flag);
    const std::string& value = args[++i];
    if (flag == "--tasks")
      config.tasks = parse_count(flag, value);
    else if (flag == "--workers")
      config.workers = static_cast<unsigned>(parse_count(flag, value));
    else if (flag == "--start-method")
      config.start_method = parse_method(value);
    else if (flag == "--window")
      config.window = static_cast<std::size_t>(parse_count(flag, value));
    else if (flag == "--stall-seconds")
      config.stall_timeout = std::chrono::seconds(parse_count(flag, value));
    else if (flag == "--json")
      config.json_path = value;
    else
      throw std::invalid_argument("unknown option: " + flag);
  }
  return config;
}

}  // namespace
}  // namespace forkpool_bench

int main(int argc, char** argv) {
  if (auto code = forkpool::worker_main_if_requested(argc, argv)) return *code;
  if (argc == 2 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h")) {
    std::cout << forkpool_bench::kUsage;
    return 0;
  }
  forkpool_bench::Config config;
  try {
    config = forkpool_bench::parse_args(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "soak: " << e.what() << "\n" << forkpool_bench::kUsage;
    return 2;
  }
  try {
    // Ten thousand deaths are the point of the run; a warning line per death would bury the
    // figures. Each death is still counted and checked.
    forkpool::task_logger().set_level(spdlog::level::err);
    return forkpool_bench::Soak(std::move(config)).run();
  } catch (const std::exception& e) {
    std::cerr << "soak: " << e.what() << "\n";
    return 1;
  }
}
