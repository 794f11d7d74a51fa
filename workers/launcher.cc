#include "workers/launcher.h"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include "forkpool/errors.h"
#include "forkpool/worker.h"
#include "io/frame_writer.h"
#include "serialization/messages.h"
#include "workers/posix_spawn_launcher.h"  // find_in_path
#include "workers/spawn_starter.h"

namespace forkpool::workers {
namespace {

using serialization::DataChannelOffer;

std::string this_program() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "/proc/self/exe" : self.string();
}

// kTokenSize hex characters from the kernel's random source.
std::string new_token() {
  unsigned char bytes[serialization::kTokenSize / 2];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    got += static_cast<std::size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token += kHex[b >> 4];
    token += kHex[b & 15];
  }
  return token;
}

unsigned parse_count(const std::string& text, const std::string& entry) {
  char* end = nullptr;
  const unsigned long n = std::strtoul(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || n == 0 || n > 100000) {
    throw Error("bad --sshlogin entry '" + entry + "': '" + text +
                "' is not a worker count (N/host)");
  }
  return static_cast<unsigned>(n);
}

HostSlots parse_one(const std::string& entry) {
  HostSlots host;
  std::string rest = entry;
  if (const auto slash = rest.find('/'); slash != std::string::npos) {
    host.slots = parse_count(rest.substr(0, slash), entry);
    rest = rest.substr(slash + 1);
  }
  if (rest.empty() || rest.find_first_of(" \t'\"") != std::string::npos) {
    throw Error("bad --sshlogin entry '" + entry + "': expected [N/]host, [N/]user@host or :");
  }
  host.local = rest == ":";
  host.host = host.local ? "localhost" : rest;
  return host;
}

// SLURM_JOB_CPUS_PER_NODE: "4(x2),2" means two nodes of 4 and one of 2.
unsigned sum_cpus_per_node(const std::string& text) {
  unsigned total = 0;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find(',', at);
    if (end == std::string::npos) end = text.size();
    const std::string part = text.substr(at, end - at);
    unsigned cpus = static_cast<unsigned>(std::strtoul(part.c_str(), nullptr, 10));
    unsigned times = 1;
    if (const auto x = part.find("(x"); x != std::string::npos) {
      times = static_cast<unsigned>(std::strtoul(part.c_str() + x + 2, nullptr, 10));
    }
    total += cpus * times;
    at = end + 1;
  }
  return total;
}

}  // namespace

std::vector<HostSlots> parse_sshlogins(const std::vector<std::string>& entries) {
  std::vector<HostSlots> hosts;
  for (const std::string& entry : entries) {
    std::size_t at = 0;
    while (at <= entry.size()) {
      std::size_t end = entry.find(',', at);
      if (end == std::string::npos) end = entry.size();
      hosts.push_back(parse_one(entry.substr(at, end - at)));
      at = end + 1;
    }
  }
  if (hosts.empty()) throw Error("no --sshlogin host given");
  return hosts;
}

unsigned srun_slots_from_environment() {
  if (const char* tasks = std::getenv("SLURM_NTASKS")) {
    if (unsigned n = static_cast<unsigned>(std::strtoul(tasks, nullptr, 10)); n > 0) return n;
  }
  if (const char* cpus = std::getenv("SLURM_JOB_CPUS_PER_NODE")) {
    if (unsigned n = sum_cpus_per_node(cpus); n > 0) return n;
  }
  return 1;
}

unsigned launcher_slots(const Launcher& launcher) {
  switch (launcher.kind) {
    case Launcher::Kind::kLocal:
      return 0;
    case Launcher::Kind::kSrun:
      return launcher.slots != 0 ? launcher.slots : srun_slots_from_environment();
    case Launcher::Kind::kSsh: {
      unsigned total = 0;
      for (const HostSlots& host : parse_sshlogins(launcher.hosts)) total += host.slots;
      return total;
    }
  }
  return 0;
}

std::string shell_quote(const std::string& word) {
  if (!word.empty() &&
      word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                             "_-./=:,+@%") == std::string::npos) {
    return word;
  }
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

LauncherStarter::LauncherStarter(const StarterConfig& config) : config_(config) {
  const Launcher& launcher = config_.launcher;
  worker_ = launcher.worker;
  if (worker_.empty()) worker_ = {this_program(), kWorkerFlag, "--stdio"};
  switch (launcher.kind) {
    case Launcher::Kind::kLocal:  // Options::worker_command, as many as the pool wants
      worker_ = config_.command;
      hosts_.push_back(
          {.where = {.host = "", .slots = std::numeric_limits<unsigned>::max(), .local = true}});
      break;
    case Launcher::Kind::kSrun:
      hosts_.push_back({.where = {.host = "srun", .slots = launcher_slots(launcher)}});
      break;
    case Launcher::Kind::kSsh:
      for (HostSlots& host : parse_sshlogins(launcher.hosts)) {
        // Two entries for one host share its failures: merge them.
        auto same = std::find_if(hosts_.begin(), hosts_.end(),
                                 [&](const Host& h) { return h.where.host == host.host; });
        if (same != hosts_.end()) {
          same->where.slots += host.slots;
        } else {
          hosts_.push_back({.where = std::move(host)});
        }
      }
      break;
  }
}

std::vector<std::string> LauncherStarter::command_for(const Host& host) const {
  const Launcher& launcher = config_.launcher;
  if (host.where.local) return worker_;
  std::vector<std::string> command;
  if (launcher.kind == Launcher::Kind::kSrun) {
    command = launcher.srun;
    // --unbuffered: otherwise Slurm line-buffers the worker's stdout and a binary protocol
    // stalls (measured). Inside an allocation each worker is one step of one task on CPUs of
    // its own (--exclusive); outside one, each srun is a job of its own, and --exclusive would
    // ask for a whole node per worker.
    for (const char* arg : {"--unbuffered", "-N1", "-n1", "--quiet"}) command.push_back(arg);
    if (std::getenv("SLURM_JOB_ID") != nullptr) command.push_back("--exclusive");
    command.insert(command.end(), worker_.begin(), worker_.end());
    return command;
  }
  command = launcher.ssh;
  command.push_back(host.where.host);
  std::string remote;
  for (const std::string& word : worker_) remote += (remote.empty() ? "" : " ") + shell_quote(word);
  command.push_back(remote);
  return command;
}

std::uint8_t LauncherStarter::channel_mode(const Host& host) const {
  // A local worker's pipes are faster than loopback TCP.
  if (host.where.local) return DataChannelOffer::kStdio;
  switch (config_.launcher.data_channel) {
    case DataChannel::kAuto:
      return DataChannelOffer::kAuto;
    case DataChannel::kTcp:
      return DataChannelOffer::kTcp;
    case DataChannel::kStdio:
      return DataChannelOffer::kRemoteStdio;
  }
  return DataChannelOffer::kRemoteStdio;
}

LauncherStarter::Host* LauncherStarter::pick(Clock::time_point now) {
  Host* best = nullptr;
  for (Host& host : hosts_) {
    if (host.given_up || host.busy >= host.where.slots || now < host.retry_at) continue;
    // The emptiest host first, so that workers spread as the slots say.
    if (best == nullptr || static_cast<double>(host.busy) / host.where.slots <
                               static_cast<double>(best->busy) / best->where.slots) {
      best = &host;
    }
  }
  return best;
}

bool LauncherStarter::all_given_up() const {
  return std::all_of(hosts_.begin(), hosts_.end(), [](const Host& h) { return h.given_up; });
}

bool LauncherStarter::can_start(Clock::time_point now, std::optional<Clock::time_point>& retry_at) {
  if (all_given_up()) return true;  // start() says why, and the pool breaks
  if (pick(now) != nullptr) return true;
  for (const Host& host : hosts_) {
    if (host.given_up || host.busy >= host.where.slots || host.retry_at <= now) continue;
    if (!retry_at || host.retry_at < *retry_at) retry_at = host.retry_at;
  }
  return false;
}

StartedWorker LauncherStarter::start(std::uint32_t worker_id) {
  if (all_given_up()) {
    std::string why;
    for (const Host& host : hosts_) why += (why.empty() ? "" : "; ") + host.why;
    throw Error("every host has been given up: " + why);
  }
  Host* host = pick(Clock::now());
  if (host == nullptr) throw Error("no free worker slot on any host");
  const std::vector<std::string> command = command_for(*host);

  const std::string executable = find_in_path(command.front());
  StartedWorker started = spawn_on_pipes(
      executable, std::vector<std::string>(command.begin() + 1, command.end()), STDIN_FILENO,
      STDOUT_FILENO,
      "cannot start a worker on host '" + host->where.host + "' ('" + executable + "')");
  started.host = host->where.host;

  DataChannelOffer offer;
  offer.mode = channel_mode(*host);
  if (offer.mode == DataChannelOffer::kTcp || offer.mode == DataChannelOffer::kAuto) {
    offer.host = config_.launcher.listen_host;
    if (offer.host.empty() && config_.launcher.kind == Launcher::Kind::kSrun) {
      char name[256] = {};
      ::gethostname(name, sizeof name - 1);
      offer.host = name;
    }
    offer.port = config_.data_port;
    offer.token = new_token();
    started.data_token = offer.token;
  }
  try {
    // Fits in the pipe's buffer: it cannot block, even if the worker never reads it.
    io::FrameWriter(started.to_worker)
        .write_frame(static_cast<std::uint8_t>(serialization::Kind::kDataChannel), 0, 0,
                     serialization::encode(offer));
  } catch (const PeerGone&) {
    // The launcher is gone already (ssh could not connect): the pool sees it die, and
    // counts a failed start on this host.
  }
  ++host->busy;
  placed_[worker_id] = static_cast<std::size_t>(host - hosts_.data());
  return started;
}

void LauncherStarter::ended(std::uint32_t worker_id, bool started) {
  auto it = placed_.find(worker_id);
  if (it == placed_.end()) return;
  Host& host = hosts_[it->second];
  placed_.erase(it);
  --host.busy;
  // Options::worker_command: the pool's own crash-loop rules govern it.
  if (host.where.host.empty()) return;
  if (started) {
    host.failures = 0;
    return;
  }
  ++host.failures;
  const int limit = config_.launcher.host_start_failures;
  if (limit > 0 && host.failures >= limit && !host.where.host.empty()) {
    give_up(host, std::to_string(host.failures) + " workers in a row failed to start there");
    return;
  }
  // Back off: 100 ms, 200 ms, 400 ms ... at most 10 s.
  const auto backoff = std::chrono::milliseconds(100 << std::min(host.failures - 1, 7));
  host.retry_at =
      Clock::now() + std::min<std::chrono::milliseconds>(backoff, std::chrono::seconds(10));
}

bool LauncherStarter::give_up_host(std::uint32_t worker_id, const std::string& why) {
  auto it = placed_.find(worker_id);
  if (it == placed_.end() || hosts_[it->second].where.host.empty()) return false;
  give_up(hosts_[it->second], why);
  return true;
}

void LauncherStarter::give_up(Host& host, const std::string& why) {
  if (host.given_up) return;
  host.given_up = true;
  host.why = "host '" + host.where.host + "': " + why;
  task_logger().error("forkpool: giving up on host '{}': {}", host.where.host, why);
}

std::string LauncherStarter::describe() const {
  if (config_.launcher.kind == Launcher::Kind::kLocal) {
    std::string text = "command '";
    for (std::size_t i = 0; i < worker_.size(); ++i) text += (i ? " " : "") + worker_[i];
    return text + "'";
  }
  std::string text =
      config_.launcher.kind == Launcher::Kind::kSrun ? "srun launcher (" : "ssh launcher (";
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    text += (i ? ", " : "") + std::to_string(hosts_[i].where.slots) + "/" + hosts_[i].where.host;
  }
  text += std::string("; data channel ") + to_string(config_.launcher.data_channel);
  if (config_.data_port != 0) text += " on port " + std::to_string(config_.data_port);
  return text + ")";
}

}  // namespace forkpool::workers
