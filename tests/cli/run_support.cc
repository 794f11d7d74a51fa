#include "cli/run_support.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

extern char** environ;

namespace forkpool::testing {

namespace {

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

std::string escaped(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

Launched::Launched(const Launch& launch) {
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<char*> argv;
  for (const std::string& a : launch.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  if (launch.env) {
    for (const std::string& e : *launch.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  char* const* env = launch.env ? envp.data() : environ;
  const char* dir = launch.dir.c_str();
  const char* in = launch.stdin_path.c_str();
  const char* out = launch.stdout_path.c_str();
  const char* err = launch.stderr_path.c_str();

  pid_ = ::fork();
  if (pid_ < 0) throw_errno("fork");
  if (pid_ == 0) {
    ::setpgid(0, 0);
    // The test binary may block or ignore signals (a sanitizer runtime, ctest); the command
    // must start with the defaults, as it would from a shell.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT, SIGCHLD}) ::signal(sig, SIG_DFL);
    const int fd_in = ::open(in, O_RDONLY);
    const int fd_out = ::open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int fd_err = ::open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd_in < 0 || fd_out < 0 || fd_err < 0 || ::dup2(fd_in, 0) < 0 || ::dup2(fd_out, 1) < 0 ||
        ::dup2(fd_err, 2) < 0 || ::chdir(dir) < 0) {
      ::_exit(127);
    }
    // Only 0, 1 and 2: the command must not inherit the test's descriptors.
    ::syscall(SYS_close_range, 3u, ~0u, 0u);
    ::execve(argv[0], argv.data(), env);
    ::_exit(127);
  }
  // Also from the parent, so that the group exists before anyone signals it.
  ::setpgid(pid_, pid_);
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd_ < 0) {
    const int saved = errno;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    errno = saved;
    throw_errno("pidfd_open");
  }
}

Launched::~Launched() {
  if (!reaped_) kill_group();
  ::close(pidfd_);
}

std::optional<int> Launched::wait_for(std::chrono::milliseconds deadline) {
  if (reaped_) throw std::logic_error("already reaped");
  pollfd p{pidfd_, POLLIN, 0};
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    const int r = ::poll(&p, 1, static_cast<int>(std::max<long long>(0, left.count())));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw_errno("poll");
    if (r == 0) return std::nullopt;
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0) {
      if (errno != EINTR) throw_errno("waitpid");
    }
    reaped_ = true;
    return status;
  }
}

void Launched::kill_group() {
  ::kill(-pid_, SIGKILL);
  if (!reaped_) {
    ::kill(pid_, SIGKILL);  // in case it left its group
    ::waitpid(pid_, nullptr, 0);
    reaped_ = true;
  }
}

Outcome run_to_end(Launch launch, std::chrono::milliseconds deadline) {
  std::optional<TempDir> capture;
  if (launch.stdout_path.empty() || launch.stderr_path.empty()) {
    capture.emplace();
    if (launch.stdout_path.empty()) launch.stdout_path = *capture / "stdout";
    if (launch.stderr_path.empty()) launch.stderr_path = *capture / "stderr";
  }
  Outcome o;
  const auto start = std::chrono::steady_clock::now();
  {
    Launched child(launch);
    std::optional<int> status = child.wait_for(deadline);
    o.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    if (!status) {
      o.hung = true;
      child.kill_group();
    } else {
      o.status = *status;
      if (WIFEXITED(*status)) o.exit_code = WEXITSTATUS(*status);
      ::kill(-child.pid(), SIGKILL);  // whatever it left behind in its group
    }
  }
  o.out = read_file(launch.stdout_path);
  o.err = read_file(launch.stderr_path);
  return o;
}

bool parallel_or_tmpdir_setting(const std::string& name) {
  return name.rfind("PARALLEL", 0) == 0 || name == "TMPDIR";
}

std::vector<std::string> environment_with(bool (*drop)(const std::string& name),
                                          const std::vector<std::string>& add) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    if (!drop(name)) env.push_back(entry);
  }
  env.insert(env.end(), add.begin(), add.end());
  return env;
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

std::string describe_difference(const std::string& want, const std::string& got) {
  std::size_t at = 0;
  while (at < want.size() && at < got.size() && want[at] == got[at]) ++at;
  if (at == want.size() && at == got.size()) return "(identical)";
  std::ostringstream s;
  const std::size_t line = static_cast<std::size_t>(
      std::count(want.begin(), want.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
  s << "sizes " << want.size() << " (want) vs " << got.size() << " (got); first difference at byte "
    << at << ", line " << line + 1 << "\n";
  // From two lines before the difference to a few lines after, on each side.
  auto excerpt = [&](const std::string& text) {
    std::size_t from = at;
    for (int n = 0; n < 3 && from > 0;) {
      --from;
      if (text[from] == '\n' && ++n == 3) {
        ++from;
        break;
      }
    }
    std::size_t to = std::min(text.size(), at);
    for (int n = 0; n < 4 && to < text.size(); ++to) {
      if (text[to] == '\n') ++n;
    }
    to = std::min(to, from + 2000);
    std::string out;
    for (const std::string& l : split_lines(text.substr(from, to - from))) {
      out += "  | " + escaped(l) + "\n";
    }
    return out;
  };
  s << "want:\n" << excerpt(want) << "got:\n" << excerpt(got);
  return s.str();
}

namespace {

std::string cmdline_of(const std::string& pid) {
  std::string c = read_file("/proc/" + pid + "/cmdline");
  for (char& ch : c) {
    if (ch == '\0') ch = ' ';
  }
  return c;
}

std::vector<std::string> all_pids() {
  std::vector<std::string> pids;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) throw_errno("opendir /proc");
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] >= '1' && e->d_name[0] <= '9') pids.emplace_back(e->d_name);
  }
  ::closedir(d);
  return pids;
}

// Fields of /proc/PID/stat after the command name (which may hold spaces and parentheses):
// [0] is the state, [1] the parent pid, [19] the start time.
std::vector<std::string> stat_fields(pid_t pid) {
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const std::size_t close = stat.rfind(')');
  std::vector<std::string> fields;
  if (close == std::string::npos) return fields;
  std::istringstream in(stat.substr(close + 1));
  std::string f;
  while (in >> f) fields.push_back(f);
  return fields;
}

}  // namespace

std::string processes_with(const std::string& token) {
  const std::string self = std::to_string(::getpid());
  std::string found;
  for (const std::string& pid : all_pids()) {
    if (pid == self) continue;
    const std::string c = cmdline_of(pid);
    if (c.find(token) == std::string::npos) continue;
    // A zombie has an empty cmdline, so it is never listed: it runs nothing.
    found += pid + ": " + c + "\n";
  }
  return found;
}

std::string unique_token() {
  std::random_device rd;
  return std::to_string(::getpid()) + std::to_string(100000 + rd() % 900000);
}

void kill_processes_with(const std::string& token) {
  const std::string self = std::to_string(::getpid());
  for (const std::string& pid : all_pids()) {
    if (pid != self && cmdline_of(pid).find(token) != std::string::npos) {
      ::kill(std::stoi(pid), SIGKILL);
    }
  }
}

std::vector<ProcessId> descendants_of(pid_t root) {
  std::map<pid_t, std::vector<ProcessId>> children;
  for (const std::string& p : all_pids()) {
    const pid_t pid = std::stoi(p);
    const std::vector<std::string> f = stat_fields(pid);
    if (f.size() < 20) continue;
    children[std::stoi(f[1])].push_back({pid, std::stoull(f[19])});
  }
  std::vector<ProcessId> found;
  std::vector<pid_t> todo{root};
  while (!todo.empty()) {
    const pid_t parent = todo.back();
    todo.pop_back();
    for (const ProcessId& c : children[parent]) {
      found.push_back(c);
      todo.push_back(c.pid);
    }
  }
  return found;
}

bool still_running(const ProcessId& p) {
  const std::vector<std::string> f = stat_fields(p.pid);
  if (f.size() < 20) return false;
  return std::stoull(f[19]) == p.start_time && f[0] != "Z" && f[0] != "X";
}

void pause_briefly() { std::this_thread::sleep_for(std::chrono::milliseconds(5)); }

bool full_match(const std::string& pattern, const std::string& text,
                std::vector<std::string>* groups) {
  regex_t re;
  if (::regcomp(&re, ("^(" + pattern + ")$").c_str(), REG_EXTENDED) != 0)
    throw std::invalid_argument("bad regex: " + pattern);
  std::vector<regmatch_t> m(re.re_nsub + 1);
  const bool matched = ::regexec(&re, text.c_str(), m.size(), m.data(), 0) == 0;
  if (matched && groups != nullptr) {
    groups->clear();
    // m[1] is the whole-pattern group added above; the caller's groups start at m[2].
    for (std::size_t i = 2; i < m.size(); ++i)
      groups->push_back(m[i].rm_so < 0 ? std::string()
                                       : text.substr(m[i].rm_so, m[i].rm_eo - m[i].rm_so));
  }
  ::regfree(&re);
  return matched;
}

}  // namespace forkpool::testing
