// The worker end of a launcher (ssh, srun, Options::worker_command): what
// forkpool::serve_stdio_worker runs once it has taken the protocol off stdin and stdout.
#pragma once

#include <string>

#include "io/fd.h"

namespace forkpool::workers {

// Reads the pool's DataChannel offer from `control` (the launcher's stdin), then serves the
// protocol: on a TCP connection back to the pool, presenting the offer's token, or on
// `control` and `out`. On TCP, `control` stays the control channel: when it reaches EOF the
// pool is gone (killed, or its ssh connection or srun step ended), and the worker exits at
// once, whatever its task is doing. Returns the exit code.
int serve_launched_worker(io::Fd control, io::Fd out);

// The address a remote worker reaches its pool at when the offer names none: the client end
// of the ssh connection it came in on (SSH_CONNECTION), else "localhost".
std::string default_pool_host();

}  // namespace forkpool::workers
