#!/usr/bin/python3
"""The Python peer for bench/core_bench: concurrent.futures.ProcessPoolExecutor doing what
core_bench asks forkpool to do, in the same run, so the two figures share the machine's noise.

  python_peer.py throughput --mode submit|map --tasks N [--workers 2] [--max-seconds 60]
  python_peer.py start --method fork|forkserver|spawn [--runs 10]

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


def run_tasks(executor, mode, count):
    """Runs `count` no-op tasks; returns the seconds from the first submit to the last result."""
    start = time.perf_counter()
    if mode == "submit":
        futures = [executor.submit(noop, i) for i in range(count)]
        total = sum(f.result() for f in futures)
    else:
        total = sum(executor.map(noop, range(count), chunksize=1))
    seconds = time.perf_counter() - start
    if total != count * (count - 1) // 2:
        raise SystemExit(f"wrong results: sum {total}")
    return seconds


def throughput(args):
    with concurrent.futures.ProcessPoolExecutor(args.workers) as executor:
        # The calibration run also warms up: ProcessPoolExecutor starts its workers on demand.
        calibration = min(args.calibrate, args.tasks)
        calibration_seconds = run_tasks(executor, args.mode, calibration)
        estimate = calibration_seconds / calibration * args.tasks
        count = args.tasks
        if estimate > args.max_seconds:
            # Keep the run near half the limit: the figure is per task, so a smaller count
            # measures the same thing, and the whole bench stays usable.
            count = max(calibration, int(args.tasks * args.max_seconds / 2 / estimate))
        seconds = run_tasks(executor, args.mode, count)
    return {
        "mode": args.mode,
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    t = commands.add_parser("throughput")
    t.add_argument("--mode", choices=["submit", "map"], required=True)
    t.add_argument("--tasks", type=int, default=100_000)
    t.add_argument("--workers", type=int, default=2)
    t.add_argument("--calibrate", type=int, default=2_000)
    t.add_argument("--max-seconds", type=float, default=60.0)
    s = commands.add_parser("start")
    s.add_argument("--method", choices=["fork", "forkserver", "spawn"], required=True)
    s.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    result = throughput(args) if args.command == "throughput" else start(args)
    result["python"] = platform.python_version()
    result["executable"] = sys.executable
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
