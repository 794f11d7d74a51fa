// forkpool: a pool of worker processes that run registered tasks.
// Include this one header to get the whole public API of forkpool::forkpool. (Worker-count
// sweeps are a library of their own: include forkpool/sweep.h and link forkpool::sweep.)
#pragma once

#include "forkpool/batch.h"
#include "forkpool/errors.h"
#include "forkpool/future.h"
#include "forkpool/map.h"
#include "forkpool/options.h"
#include "forkpool/pool.h"
#include "forkpool/task.h"
#include "forkpool/wait.h"
#include "forkpool/worker.h"
