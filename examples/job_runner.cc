// A job runner: run shell commands in parallel, each in its own process group, and time out
// the stragglers. Every job is forkpool's built-in exec task (run_exec) on a pool worker; a
// job that outlives --timeout has its whole process group terminated, and is reported as
// timed out while the others finish normally.
//
//   job_runner [--timeout SECS] [--workers N] COMMAND...
//   job_runner --timeout 2 'make -C a' 'make -C b' './slow-test.sh'
#include <forkpool/exec.h>
#include <forkpool/forkpool.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

// One line: how the job ended, then the first line of its output.
std::string describe(const forkpool::ExecResult& r, double timeout) {
  char how[64];
  if (r.timed_out) {
    std::snprintf(how, sizeof how, "timed out after %.1f s", timeout);
  } else if (r.signal != 0) {
    std::snprintf(how, sizeof how, "killed by signal %d", r.signal);
  } else if (r.exit_code != 0) {
    std::snprintf(how, sizeof how, "exit %d", r.exit_code);
  } else {
    std::snprintf(how, sizeof how, "ok in %.2f s", r.duration);
  }
  const std::string out = r.out.substr(0, r.out.find('\n'));
  return std::string(how) + (out.empty() ? "" : ": " + out);
}

}  // namespace

int main(int argc, char** argv) {
  if (auto code = forkpool::worker_main_if_requested(argc, argv)) return *code;
  double timeout = 5;
  unsigned workers = 0;
  std::vector<std::string> commands;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
      timeout = std::atof(argv[++i]);
    } else if (std::strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
      workers = static_cast<unsigned>(std::atoi(argv[++i]));
    } else {
      commands.emplace_back(argv[i]);
    }
  }
  if (commands.empty()) {
    std::fprintf(stderr, "usage: job_runner [--timeout SECS] [--workers N] COMMAND...\n");
    return 2;
  }
  forkpool::Pool pool({.workers = workers});
  std::vector<forkpool::Future<forkpool::ExecResult>> jobs;
  for (const std::string& command : commands) {
    jobs.push_back(pool.submit(forkpool::exec_task,
                               forkpool::ExecRequest{.command = command, .timeout = timeout}));
  }
  int ok = 0, failed = 0, timed_out = 0;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    try {
      const forkpool::ExecResult r = jobs[i].get();
      (r.timed_out ? timed_out : r.exit_code == 0 && r.signal == 0 ? ok : failed)++;
      std::printf("[%s] %s\n", commands[i].c_str(), describe(r, timeout).c_str());
    } catch (const forkpool::Error& e) {  // the job could not run at all
      ++failed;
      std::printf("[%s] could not run: %s\n", commands[i].c_str(), e.what());
    }
  }
  std::printf("%zu jobs: %d ok, %d failed, %d timed out\n", jobs.size(), ok, failed, timed_out);
  return ok == static_cast<int>(jobs.size()) ? 0 : 1;
}
