#!/usr/bin/python3
"""The Python peer for bench/core_bench: concurrent.futures.ProcessPoolExecutor and
multiprocessing.Pool doing what core_bench asks forkpool to do, in the same run, so the two
figures share the machine's noise.

  python_peer.py throughput --mode submit|map|pool-map|pool-imap --tasks N [--chunksize 1]
                            [--workers 2] [--max-seconds 60]
  python_peer.py start --method fork|forkserver|spawn [--runs 10]
  python_peer.py cpu --items 200 --millis 5 [--workers 2]

Modes: `submit` and `map` are ProcessPoolExecutor's submit (one future per task) and map;
`pool-map` and `pool-imap` are multiprocessing.Pool's. `cpu` maps a CPU-bound function over
`items` inputs with multiprocessing.Pool(1) and Pool(workers) and reports the parallel
efficiency.

Prints one JSON object on stdout. Times come from time.perf_counter (a monotonic clock).
"""

import argparse
import concurrent.futures
import json
import multiprocessing
import multiprocessing.forkserver
import platform
import statistics
import sys
import time


def noop(x):
    return x


def lcg_steps(iterations):
    """The same work as bench/cpu_work.h's lcg_steps: a 64-bit LCG, each step on the last."""
    x = 1
    for _ in range(iterations):
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
    return x


def run_tasks(executor, mode, count, chunksize):
    """Runs `count` no-op tasks; returns the seconds from the first submit to the last result."""
    start = time.perf_counter()
    if mode == "submit":
        futures = [executor.submit(noop, i) for i in range(count)]
        total = sum(f.result() for f in futures)
    elif mode == "pool-imap":
        total = sum(executor.imap(noop, range(count), chunksize=chunksize))
    else:  # ProcessPoolExecutor.map and multiprocessing.Pool.map take the same arguments
        total = sum(executor.map(noop, range(count), chunksize=chunksize))
    seconds = time.perf_counter() - start
    if total != count * (count - 1) // 2:
        raise SystemExit(f"wrong results: sum {total}")
    return seconds


def make_executor(mode, workers):
    if mode.startswith("pool-"):
        return multiprocessing.Pool(workers)
    return concurrent.futures.ProcessPoolExecutor(workers)


def throughput(args):
    with make_executor(args.mode, args.workers) as executor:
        # The calibration run also warms up: ProcessPoolExecutor starts its workers on demand.
        calibration = min(args.calibrate, args.tasks)
        calibration_seconds = run_tasks(executor, args.mode, calibration, args.chunksize)
        estimate = calibration_seconds / calibration * args.tasks
        count = args.tasks
        if estimate > args.max_seconds:
            # Keep the run near half the limit: the figure is per task, so a smaller count
            # measures the same thing, and the whole bench stays usable.
            count = max(calibration, int(args.tasks * args.max_seconds / 2 / estimate))
        seconds = run_tasks(executor, args.mode, count, args.chunksize)
        if args.mode.startswith("pool-"):
            # multiprocessing.Pool's context manager terminates; join so no worker outlives us.
            executor.close()
            executor.join()
    return {
        "mode": args.mode,
        "chunksize": args.chunksize,
        "workers": args.workers,
        "start_method": multiprocessing.get_start_method(),
        "requested_tasks": args.tasks,
        "tasks": count,
        "estimated_seconds_for_requested": estimate,
        "reduced": count != args.tasks,
        "seconds": seconds,
        "tasks_per_second": count / seconds,
    }


def stop_forkserver():
    """Makes the next forkserver pool boot its own server, as every forkpool Pool starts its
    own zygote. Without this, runs after the first would reuse one server."""
    stop = getattr(multiprocessing.forkserver._forkserver, "_stop", None)
    if stop is not None:
        stop()


def start(args):
    context = multiprocessing.get_context(args.method)
    runs = []
    for _ in range(args.runs):
        if args.method == "forkserver":
            stop_forkserver()
        begin = time.perf_counter()
        executor = concurrent.futures.ProcessPoolExecutor(1, mp_context=context)
        executor.submit(noop, 1).result()
        runs.append(time.perf_counter() - begin)
        executor.shutdown()
    return {
        "method": args.method,
        "runs_ms": [r * 1e3 for r in runs],
        "median_ms": statistics.median(runs) * 1e3,
    }


def iterations_for(millis):
    """LCG steps that take about `millis` here: the fastest of a few probes, scaled."""
    probe = 20_000
    best = min(timed(lcg_steps, probe) for _ in range(5))
    return max(1, int(probe * millis / 1e3 / best))


def timed(function, *args):
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def cpu_map_seconds(workers, inputs):
    with multiprocessing.Pool(workers) as pool:
        pool.map(noop, range(workers * 4), chunksize=1)  # every worker up before timing
        start = time.perf_counter()
        pool.map(lcg_steps, inputs, chunksize=1)
        seconds = time.perf_counter() - start
        pool.close()
        pool.join()
    return seconds


def cpu(args):
    iterations = iterations_for(args.millis)
    inputs = [iterations] * args.items
    one = cpu_map_seconds(1, inputs)
    many = cpu_map_seconds(args.workers, inputs)
    return {
        "items": args.items,
        "iterations": iterations,
        "workers": args.workers,
        "seconds_1": one,
        "seconds_n": many,
        "efficiency": one / (args.workers * many),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    t = commands.add_parser("throughput")
    t.add_argument("--mode", choices=["submit", "map", "pool-map", "pool-imap"], required=True)
    t.add_argument("--chunksize", type=int, default=1)
    t.add_argument("--tasks", type=int, default=100_000)
    t.add_argument("--workers", type=int, default=2)
    t.add_argument("--calibrate", type=int, default=2_000)
    t.add_argument("--max-seconds", type=float, default=60.0)
    s = commands.add_parser("start")
    s.add_argument("--method", choices=["fork", "forkserver", "spawn"], required=True)
    s.add_argument("--runs", type=int, default=10)
    c = commands.add_parser("cpu")
    c.add_argument("--items", type=int, default=200)
    c.add_argument("--millis", type=float, default=5.0)
    c.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    result = {"throughput": throughput, "start": start, "cpu": cpu}[args.command](args)
    result["python"] = platform.python_version()
    result["executable"] = sys.executable
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
