#include "cli/remote_options.h"

#include <filesystem>
#include <fstream>

#include "cli/run_options.h"
#include "forkpool/errors.h"
#include "workers/launcher.h"

namespace forkpool::cli {
namespace {

std::vector<std::string> read_sshloginfile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError("cannot read --sshloginfile '" + path + "'");
  std::vector<std::string> logins;
  std::string line;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    const auto last = line.find_last_not_of(" \t\r");
    logins.push_back(line.substr(first, last - first + 1));
  }
  return logins;
}

// This program, by the path it runs from: the same path must hold forkpool on every host.
std::string this_program() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "forkpool" : self.string();
}

DataChannel parse_data_channel(const std::string& value) {
  if (value.empty() || value == "auto") return DataChannel::kAuto;
  if (value == "tcp") return DataChannel::kTcp;
  if (value == "stdio") return DataChannel::kStdio;
  throw UsageError("option --data-channel: '" + value + "' is not tcp, stdio or auto");
}

}  // namespace

std::optional<Launcher> run_launcher(const RemoteRunOptions& remote) {
  std::vector<std::string> logins = remote.sshlogins;
  for (const std::string& file : remote.sshloginfiles) {
    for (std::string& login : read_sshloginfile(file)) logins.push_back(std::move(login));
  }
  std::string kind = remote.launcher;
  if (kind.empty()) kind = logins.empty() ? "local" : "ssh";
  if (kind != "ssh" && kind != "srun" && kind != "local") {
    throw UsageError("option --launcher: '" + kind + "' is not ssh, srun or local");
  }
  const DataChannel channel = parse_data_channel(remote.data_channel);
  if (kind == "local") {
    if (!logins.empty()) throw UsageError("--launcher local cannot be combined with -S");
    return std::nullopt;
  }
  Launcher launcher;
  if (kind == "srun") {
    if (!logins.empty()) throw UsageError("--launcher srun cannot be combined with -S");
    launcher = Launcher::srun_slots();
  } else {
    if (logins.empty()) throw UsageError("--launcher ssh needs -S or --sshloginfile");
    try {
      workers::parse_sshlogins(logins);  // a malformed login is a usage error, said now
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
    launcher = Launcher::ssh_hosts(std::move(logins));
  }
  launcher.worker = {this_program(), "worker"};
  launcher.data_channel = channel;
  return launcher;
}

bool has_remote_hosts(const std::optional<Launcher>& launcher) {
  if (!launcher) return false;
  if (launcher->kind != Launcher::Kind::kSsh) return true;
  for (const workers::HostSlots& host : workers::parse_sshlogins(launcher->hosts))
    if (!host.local) return true;
  return false;
}

}  // namespace forkpool::cli
