#include "process_census.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <ios>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace forkpool_bench {
namespace {

// nullopt if the file cannot be read, as when its process exits between the open and the read.
std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  try {
    return std::string(std::istreambuf_iterator<char>(in), {});
  } catch (const std::ios_base::failure&) {
    // libstdc++'s filebuf throws on a failed read(2) whatever the stream's exception mask: a
    // /proc/PID file of a process that has just gone reads ESRCH.
    return std::nullopt;
  }
}

// The fields of a /proc/PID/stat line after "pid (comm)": the command name may hold spaces and
// parentheses, so the fields start after its last ')'. fields[0] is the state (field 3).
std::optional<std::vector<std::string>> stat_fields(pid_t pid) {
  const std::optional<std::string> line = read_text("/proc/" + std::to_string(pid) + "/stat");
  if (!line) return std::nullopt;
  const std::size_t close = line->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream in(line->substr(close + 1));
  std::vector<std::string> fields;
  for (std::string field; in >> field;) fields.push_back(field);
  return fields;
}

// A "Name:   1234 kB" line of /proc/self/status, in MiB; 0 if it is missing.
double status_mib(const std::string& name) {
  const std::optional<std::string> status = read_text("/proc/self/status");
  if (!status) return 0;
  const std::size_t at = status->find("\n" + name + ":");
  if (at == std::string::npos) return 0;
  return std::strtod(status->c_str() + at + name.size() + 2, nullptr) / 1024.0;
}

// Calls `visit(number, fd of the listing)` for every numbered entry of `dir`; -1 if `dir`
// cannot be listed.
template <typename Visit>
int for_each_numbered_entry(const char* dir, Visit visit) {
  DIR* listing = ::opendir(dir);
  if (listing == nullptr) return -1;
  while (const dirent* entry = ::readdir(listing)) {
    char* end = nullptr;
    const long number = std::strtol(entry->d_name, &end, 10);
    if (end != entry->d_name && *end == '\0') visit(number, ::dirfd(listing));
  }
  ::closedir(listing);
  return 0;
}

}  // namespace

int count_open_fds() {
  int count = 0;
  if (for_each_numbered_entry("/proc/self/fd", [&](long fd, int listing_fd) {
        if (fd != listing_fd) ++count;
      }) == -1) {
    return -1;
  }
  return count;
}

double peak_rss_mib() { return status_mib("VmHWM"); }

double rss_mib() { return status_mib("VmRSS"); }

Children count_children() {
  const std::string self = std::to_string(::getpid());
  Children children;
  for_each_numbered_entry("/proc", [&](long pid, int) {
    const auto fields = stat_fields(static_cast<pid_t>(pid));  // nullopt: it has just gone
    if (!fields || fields->size() < 2 || (*fields)[1] != self) return;
    ++children.processes;
    if ((*fields)[0] == "Z") ++children.zombies;
  });
  return children;
}

std::optional<std::uint64_t> process_start_time(pid_t pid) {
  const auto fields = stat_fields(pid);
  // Field 22 of the line is index 19 here: the list starts at field 3.
  if (!fields || fields->size() < 20) return std::nullopt;
  return std::strtoull((*fields)[19].c_str(), nullptr, 10);
}

}  // namespace forkpool_bench
