"""What the contention finder costs (threadhandle.contention), and what
one change of a shared reference count costs the threads (--per-change).

    python -P benchmarks/contention_cost.py [--seconds S] [--rounds R]
    python -P benchmarks/contention_cost.py --per-change [--seconds S]
                                            [--rounds R]

1. Sweeps per second over 10^4 and 10^5 candidates: with the default
   settings (duty and rate cap) and flat out (duty 1, no rate cap).
2. A 2-thread workload's throughput with the finder at its default settings
   (every reachable object a candidate, refreshed) against without it:
   each thread repeats a mix of reads of its own dict, a method call and
   float arithmetic for S seconds.  Runs alternate (without, with, ...);
   the ratio is the median of R pairs.  Goal: 0.85 or more.

--per-change: the constant the finder's estimates rest on
(threadhandle/contention/_cost.py, SECONDS_PER_CHANGE).  Two threads read
a shared object (each read takes and drops a reference: its shared count
changes) for S seconds, sampled by the finder watching that object only,
then each thread reads its own copy.  The threads' extra CPU time per
second (CPU time per read, shared against own, times the reads per second)
over the changes per second the finder's bursts saw is the cost of one
change.  Calibrated on the first workload (a dict read through a default
argument); the others check the estimate the finder then gives against the
measured share of the threads' time the sharing cost.

Free-threaded builds only.  On a shared machine the ratio moves with the
load of other processes: quote it with the machine's state.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import threading
import time


def sweeps_per_second(count: int, seconds: float, duty: float | None = None,
                      rate: float | None = None) -> float:
    """Sweeps per second over `count` candidates (the finder's defaults
    for duty and rate unless given)."""
    from threadhandle._threadhandle import _Sampler
    from threadhandle.contention import _options
    # A mix of small objects, made as a program would make them.
    objects = tuple({"k": i} if i % 3 == 0 else [i] if i % 3 == 1
                    else float(i) + 0.5 for i in range(count))
    sampler = _Sampler(_options.DUTY.default if duty is None else duty,
                       _options.RATE.default if rate is None else rate)
    sampler.start()
    sampler.swap(objects)
    sampler.resume()
    time.sleep(seconds)
    sweeps = sampler.swap(None).sweeps
    sampler.stop()
    return sweeps / seconds


class Counter:
    def __init__(self) -> None:
        self.total = 0.0

    def add(self, x: float) -> None:
        self.total += x


def worker(seconds: float, out: list, slot: int, barrier) -> None:
    table = {i: float(i) for i in range(64)}
    counter = Counter()
    barrier.wait()
    ops = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for i in range(1000):
            counter.add(table[i & 63] * 1.5)
        ops += 1000
    out[slot] = ops


def throughput(seconds: float) -> float:
    out = [0, 0]
    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=worker,
                                args=(seconds, out, slot, barrier))
               for slot in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(out) / seconds


# --per-change: objects made by the main thread, read by two others.
SHARED_DICT = {i: i for i in range(64)}


def dict_reader(table):
    """A function reading table[5], table its default argument: each call
    takes and drops a reference to it."""
    def read(table=table):
        return table[5]
    return read


def float_reader(value):
    def read(value=value):
        return value * 2.0
    return read


# (name, the shared object, a copy made by the thread, reader(obj)); the
# first calibrates.
WORKLOADS = [
    ("dict read through a default argument", SHARED_DICT,
     lambda: {i: i for i in range(64)}, dict_reader),
    ("float read through a default argument", float("1.5"),
     lambda: float("1.5"), float_reader),
]


def reads(seconds, out, slot, barrier, read) -> None:
    barrier.wait()
    ops, cpu = 0, time.thread_time()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(1000):
            read()
        ops += 1000
    out[slot] = (ops, time.thread_time() - cpu)


def timed_reads(seconds: float, make_read) -> tuple:
    """(CPU seconds per read, reads per second) of two threads, each
    calling make_read() once (in the thread) and its result in a loop."""
    out = [None, None]
    barrier = threading.Barrier(2)

    def run(slot):
        reads(seconds, out, slot, barrier, make_read())
    threads = [threading.Thread(target=run, args=(slot,))
               for slot in range(2)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    ops = sum(count for count, _ in out)
    cpu = sum(used for _, used in out)
    return cpu / ops, ops / wall


def per_change(seconds: float, rounds: int) -> None:
    from threadhandle.contention import Finder, _cost
    calibrated = []
    for name, shared, copy, reader in WORKLOADS:
        for round_ in range(rounds):
            with Finder(objects=[shared]) as finder:
                shared_cpu, shared_rate = timed_reads(
                    seconds, functools.partial(reader, shared))
            own_cpu, _ = timed_reads(
                seconds, lambda reader=reader, copy=copy: reader(copy()))
            entries = finder.report.entries
            changes = entries[0].change_rate if entries else 0.0
            estimate = entries[0].estimate if entries else None
            # The threads' extra CPU seconds per second, and the share of
            # their time the sharing cost.
            extra = (shared_cpu - own_cpu) * shared_rate
            share = 1 - own_cpu / shared_cpu
            cost = extra / changes if changes else float("nan")
            if name == WORKLOADS[0][0]:
                calibrated.append(cost)
            print(f"{name}, round {round_ + 1}: {shared_cpu * 1e9:.0f} ns "
                  f"CPU a read shared, {own_cpu * 1e9:.0f} ns own; "
                  f"{changes / 1e6:.2f} M changes/s in bursts; "
                  f"{cost * 1e9:.0f} ns a change; measured share "
                  f"{share:.0%}, the finder's estimate "
                  f"{_cost.percent(estimate)} (threads "
                  f"{finder.report.threads:.2f})")
    print(f"cost of a change (median of {len(calibrated)}, "
          f"{WORKLOADS[0][0]}): {statistics.median(calibrated) * 1e9:.0f} ns;"
          f" _cost.SECONDS_PER_CHANGE is "
          f"{_cost.SECONDS_PER_CHANGE * 1e9:.0f} ns")


def with_finder(seconds: float) -> float:
    from threadhandle.contention import Finder
    with Finder():
        return throughput(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-change", action="store_true",
                        help="measure the cost of one change of a shared "
                        "count (the finder's estimates)")
    args = parser.parse_args()
    try:
        from threadhandle.contention import Finder
        Finder(objects=()).start().stop()
    except Exception as exc:
        sys.exit(f"contention_cost: {exc}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load "
          f"{os.getloadavg()[0]:.2f}")
    if args.per_change:
        per_change(args.seconds, args.rounds)
        return 0
    for count in (10_000, 100_000):
        default = sweeps_per_second(count, args.seconds)
        flat_out = sweeps_per_second(count, args.seconds, duty=1.0,
                                     rate=1e6)
        print(f"{count:>7,} candidates: {default:8,.0f} sweeps/s (default "
              f"settings), {flat_out:8,.0f} sweeps/s flat out "
              f"({count * flat_out / 1e6:,.0f} M objects read/s)")
    ratios = []
    for round_ in range(args.rounds):
        plain = throughput(args.seconds)
        sampled = with_finder(args.seconds)
        ratios.append(sampled / plain)
        print(f"round {round_ + 1}: without {plain / 1e6:.2f} M ops/s, with "
              f"the finder {sampled / 1e6:.2f} M ops/s: {sampled / plain:.3f}")
    print(f"throughput with the finder / without: median "
          f"{statistics.median(ratios):.3f} (goal >= 0.85)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
