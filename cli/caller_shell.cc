#include "cli/caller_shell.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "cli/run_options.h"

namespace forkpool::cli {
namespace {

// "All shells known to mankind", in parent_shell()'s order: the regex alternation takes the
// first that matches.
constexpr std::array<std::string_view, 28> kShells = {
    "ash",       "bash", "bsd-csh", "csh",  "dash",  "fdsh", "fish",  "fizsh",   "ksh",  "ksh93",
    "lksh",      "mksh", "pdksh",   "posh", "rbash", "rc",   "rush",  "rzsh",    "sash", "sh",
    "static-sh", "tcsh", "yash",    "zsh",  "-sh",   "-csh", "-bash", "-sh (sh)"};

// Names a shell disguises itself as, and the programs to look for then.
const std::map<std::string, std::vector<std::string>>& fake_names() {
  static const std::map<std::string, std::vector<std::string>> names = {
      {"-sh (sh)", {"sh"}},
      {"-sh", {"sh"}},
      {"-csh", {"tcsh", "csh"}},
      {"-ash", {"ash", "dash", "sh"}},
      {"-dash", {"dash", "ash", "sh"}},
      {"-bash", {"bash", "sh"}},
      {"-ksh", {"ksh", "sh"}},
      {"-zsh", {"zsh", "sh"}}};
  return names;
}

bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// The regex's tail: ( *$| [^(]).
bool tail_matches(std::string_view rest) {
  if (rest.find_first_not_of(' ') == std::string_view::npos) return true;
  return rest.size() >= 2 && rest[0] == ' ' && rest[1] != '(';
}

// (-?)(SHELL)( *$| [^(]) at `s`, trying a dash first as the greedy -? does.
std::optional<ShellName> dash_and_shell(std::string_view s, std::string_view close = "") {
  for (bool dash : {true, false}) {
    if (dash && (s.empty() || s[0] != '-')) continue;
    std::string_view rest = dash ? s.substr(1) : s;
    for (std::string_view shell : kShells) {
      if (rest.substr(0, shell.size()) != shell) continue;
      std::string_view after = rest.substr(shell.size());
      if (after.substr(0, close.size()) != close) continue;
      if (tail_matches(after.substr(close.size()))) return ShellName{std::string(shell), dash};
    }
  }
  return std::nullopt;
}

bool executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode) &&
         ::access(path.c_str(), X_OK) == 0;
}

std::string first_line_of(const std::string& path, char end) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line, end);
  return line;
}

// The ancestor's parent pid: field 4 of /proc/PID/stat split on whitespace, as GNU parallel
// splits it. 0 when it cannot be read.
long parent_of(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::vector<std::string> fields{std::istream_iterator<std::string>(in),
                                  std::istream_iterator<std::string>()};
  return fields.size() > 3 ? std::strtol(fields[3].c_str(), nullptr, 10) : 0;
}

// GNU parallel's parent_shell() on Linux, from this process up.
std::optional<std::string> parent_shell() {
  for (long pid = ::getpid(); pid > 0; pid = parent_of(pid)) {
    const std::string proc = "/proc/" + std::to_string(pid);
    std::optional<ShellName> shell = shell_in_argv0(first_line_of(proc + "/cmdline", '\0'));
    if (!shell) continue;
    if (shell->name == "sh" && shell->login_dash) {
      // -sh is csh or sh: the executable says which.
      char exe[4096];
      const ssize_t n = ::readlink((proc + "/exe").c_str(), exe, sizeof exe - 1);
      if (n > 0) {
        const std::string path(exe, static_cast<std::size_t>(n));
        const std::size_t slash = path.rfind('/');
        if (slash != std::string::npos && shell_in_argv0(path.substr(slash + 1))) return path;
      }
    }
    std::vector<std::string> candidates{shell->name};
    if (auto it = fake_names().find(shell->name); it != fake_names().end())
      candidates.insert(candidates.end(), it->second.begin(), it->second.end());
    for (const std::string& name : candidates) {
      std::vector<std::string> found = which(name);
      if (!found.empty()) return found.front();
    }
    return std::nullopt;
  }
  return std::nullopt;
}

std::string non_empty_env(const char* name) {
  const char* value = ::getenv(name);
  return value != nullptr ? value : "";
}

}  // namespace

std::optional<ShellName> shell_in_argv0(std::string_view argv0) {
  // ^((\[)(-?)(SHELL)(\])|(|\S+/|busybox )(-?)(SHELL))( *$| [^(])
  if (!argv0.empty() && argv0[0] == '[') {
    if (auto s = dash_and_shell(argv0.substr(1), "]")) return s;
  }
  if (auto s = dash_and_shell(argv0)) return s;
  // \S+/ is greedy: the last slash of the leading non-space run first.
  const std::size_t run = std::min(
      argv0.size(),
      static_cast<std::size_t>(std::find_if(argv0.begin(), argv0.end(), is_space) - argv0.begin()));
  for (std::size_t slash = argv0.rfind('/', run == 0 ? 0 : run - 1);
       slash != std::string_view::npos && slash > 0 && slash < run;
       slash = argv0.rfind('/', slash - 1)) {
    if (auto s = dash_and_shell(argv0.substr(slash + 1))) return s;
  }
  if (argv0.substr(0, 8) == "busybox ") return dash_and_shell(argv0.substr(8));
  return std::nullopt;
}

std::vector<std::string> which(const std::string& program) {
  std::vector<std::string> found;
  std::stringstream path(non_empty_env("PATH"));
  for (std::string dir; std::getline(path, dir, ':');) {
    if (executable_file(dir + "/" + program)) found.push_back(dir + "/" + program);
  }
  if (program.find('/') != std::string::npos && executable_file(program)) found.push_back(program);
  return found;
}

std::string caller_shell() {
  std::string shell = non_empty_env("PARALLEL_SHELL");
  if (shell.empty()) shell = parent_shell().value_or("");
  if (shell.empty()) shell = non_empty_env("SHELL");
  if (shell.empty()) shell = "/bin/sh";
  if (executable_file(shell) && shell.find('/') != std::string::npos) return shell;
  std::vector<std::string> found = which(shell);
  if (found.empty()) throw UsageError("shell '" + shell + "' not found");
  return found.front();
}

}  // namespace forkpool::cli

extern "C" char** environ;

namespace forkpool::cli {

bool is_csh(const std::string& shell) { return shell.find("csh") != std::string::npos; }

void check_quoting_for(const std::string& shell, bool remote) {
  const bool rc = shell == "rc" || shell.ends_with("/rc");
  if (!rc && !(remote && is_csh(shell))) return;
  throw UsageError(rc ? "quoting for rc (the jobs' shell, " + shell +
                            ") is not done; set PARALLEL_SHELL=/bin/sh to run them in sh"
                      : "quoting for csh (the caller's shell, " + shell +
                            ") is not done for jobs on other hosts, which run in sh; set "
                            "PARALLEL_SHELL=/bin/sh");
}

bool shell_can_be_skipped(const std::string& shell) {
  const std::string name = shell.substr(shell.rfind('/') + 1);
  if (name != "sh" && name != "dash" && name != "bash") return false;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    if (entry.rfind("BASH_FUNC_", 0) == 0 || entry.rfind("BASH_ENV=", 0) == 0) return false;
  }
  return true;
}

}  // namespace forkpool::cli
