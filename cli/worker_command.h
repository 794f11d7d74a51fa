// `forkpool worker`: serve the protocol on stdin/stdout.
#pragma once

namespace forkpool::cli {

// argv[0] is "worker". Returns the process exit code.
int worker_command(int argc, char** argv);

}  // namespace forkpool::cli
