// `forkpool run` and run_batch(): the options parsed, the Runner run, errors turned into
// GNU parallel's exit statuses.
#include "cli/run_command.h"

#include <signal.h>

#include <cstdio>

#include "cli/job_output.h"
#include "cli/parallel_config.h"
#include "cli/remote_options.h"
#include "cli/runner.h"
#include "workers/launcher.h"

namespace forkpool::cli {
namespace {

constexpr int kExitForkpoolError = 255;

}  // namespace

BatchOutcome run_batch(RunOptions options, unsigned slots, const BatchSettings& settings) {
  options.job_slots = slots;
  Runner runner(std::move(options), slots, settings);
  BatchOutcome outcome;
  outcome.exit_status = runner.run();
  outcome.completed = runner.completed();
  outcome.failures = runner.take_failures();
  return outcome;
}

int run_command(std::span<const std::string> args) {
  try {
    RunOptions options = parse_run_options(args, default_option_groups(args));
    if (options.help) {
      std::fputs(kRunUsage, stdout);
      return 0;
    }
    if (options.record_env) {
      record_env();
      return 0;
    }
    // On other hosts (-S, --launcher srun) the slots are theirs, not -j's.
    const std::optional<Launcher> remote = run_launcher(options.remote);
    const unsigned slots =
        remote ? workers::launcher_slots(*remote) : resolve_jobs(options.jobs, available_cpus());
    if (remote && options.pipe.round_robin && (options.pipe.cat || options.pipe.fifo))
      throw UsageError(
          "--round-robin with --cat or --fifo is not supported with -S or --launcher: a job on "
          "another host gets its later blocks on its stdin");
    // On other hosts each block travels inside its job's request.
    options.pipe.in_request = remote && options.pipe.on();
    if (remote && !options.env_names.empty())
      throw UsageError(
          "--env with -S or --launcher is not supported yet: the variables would not reach "
          "the other hosts");
    options.job_slots = slots;
    const bool dry_run = options.dry_run;
    Runner runner(std::move(options), slots);
    if (dry_run) return runner.dry_run();
    const int status = runner.run();
    // GNU parallel 20221122 stops every job and exits 255 on SIGINT or SIGTERM (its handlers
    // call wait_and_exit(255)); a reader of stdout gone away keeps SIGPIPE's 141.
    const int signal = runner.stop_signal();
    return signal == SIGINT || signal == SIGTERM ? kExitForkpoolError : status;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "forkpool run: %s\n", e.what());
    return kExitForkpoolError;
  } catch (const StdoutClosed&) {
    return 128 + SIGPIPE;  // --dry-run's reader went away
  } catch (const std::exception& e) {
    std::fprintf(stderr, "forkpool run: %s\n", e.what());
    return kExitForkpoolError;
  }
}

}  // namespace forkpool::cli
