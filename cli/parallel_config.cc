#include "cli/parallel_config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cli/parse_words.h"
#include "cli/run_options.h"

extern "C" char** environ;

namespace forkpool::cli {
namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = ::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

std::string home() { return env_or("HOME", "/tmp"); }

bool is_dir(const std::string& path) {
  struct stat st {};
  return !path.empty() && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool readable(const std::string& path) { return ::access(path.c_str(), R_OK) == 0; }

// Every word of a profile file: each line split as shellwords, comment lines skipped.
void append_profile(const std::string& path, std::vector<std::string>& words) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const std::size_t first = line.find_first_not_of(" \t\n\v\f\r");
    if (first != std::string::npos && line[first] == '#') continue;
    for (std::string& w : perl_shellwords(line)) words.push_back(std::move(w));
  }
}

struct ProfileChoice {
  bool plain = false;
  std::vector<std::string> names;  // -J / --profile
};

// --plain and -J NAME / --profile NAME in the options before the command.
ProfileChoice scan_profile_options(std::span<const std::string> args) {
  ProfileChoice choice;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--" || a.size() < 2 || a[0] != '-') break;
    if (a == "--plain") choice.plain = true;
    if ((a == "-J" || a == "--profile") && i + 1 < args.size()) choice.names.push_back(args[++i]);
    if (a.rfind("--profile=", 0) == 0) choice.names.push_back(a.substr(10));
    if (a.rfind("-J", 0) == 0 && a.size() > 2) choice.names.push_back(a.substr(2));
  }
  return choice;
}

std::vector<std::string> profile_paths(const ProfileChoice& choice) {
  std::vector<std::string> paths;
  if (choice.names.empty()) {
    paths.push_back("/etc/parallel/config");
    for (const std::string& dir : config_dirs()) paths.push_back(dir + "/config");
    paths.push_back(home() + "/.parallelrc");
    return paths;
  }
  for (const std::string& name : choice.names) {
    std::vector<std::string> found;
    if (name.rfind("./", 0) == 0 || name.rfind('/', 0) == 0) {
      if (readable(name)) found.push_back(name);
    } else {
      for (const std::string& dir : config_dirs())
        if (readable(dir + "/" + name)) found.push_back(dir + "/" + name);
    }
    if (found.empty()) throw UsageError("profile '" + name + "' not readable");
    paths.insert(paths.end(), found.begin(), found.end());
  }
  return paths;
}

}  // namespace

std::vector<std::string> config_dirs() {
  std::vector<std::string> candidates{env_or("PARALLEL_HOME", "")};
  candidates.push_back(env_or("XDG_CONFIG_HOME", "") + "/parallel");
  std::stringstream dirs(env_or("XDG_CONFIG_DIRS", ""));
  for (std::string d; std::getline(dirs, d, ':');) candidates.push_back(d + "/parallel");
  candidates.push_back(home() + "/.parallel");
  std::vector<std::string> existing;
  for (const std::string& c : candidates)
    if (is_dir(c)) existing.push_back(c);
  return existing;
}

std::string config_dir() {
  std::vector<std::string> dirs = config_dirs();
  return dirs.empty() ? home() + "/.parallel" : dirs.front();
}

std::vector<std::vector<std::string>> default_option_groups(std::span<const std::string> args) {
  const ProfileChoice choice = scan_profile_options(args);
  if (choice.plain) return {};
  std::vector<std::string> profile_words;
  for (const std::string& path : profile_paths(choice))
    if (readable(path)) append_profile(path, profile_words);
  std::vector<std::string> env_words = perl_shellwords(env_or("PARALLEL", ""));
  return {std::move(profile_words), std::move(env_words)};
}

void record_env() {
  const std::string path = config_dir() + "/ignored_vars";
  std::ofstream out(path);
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    out << entry.substr(0, entry.find('=')) << '\n';
  }
  out.flush();
  if (!out) throw UsageError("cannot write to " + path);
}

void check_env_names(const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (name == "_" && !readable(config_dir() + "/ignored_vars"))
      throw UsageError("--env _: run 'forkpool run --record-env' in a clean environment first");
  }
}

}  // namespace forkpool::cli
