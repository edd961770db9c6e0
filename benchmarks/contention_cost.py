"""What the contention finder costs (threadhandle.contention).

    python -P benchmarks/contention_cost.py [--seconds S] [--rounds R]

1. Sweeps per second over 10^4 and 10^5 candidates: with the default
   settings (duty and rate cap) and flat out (duty 1, no rate cap).
2. A 2-thread workload's throughput with the finder at its default settings
   (every reachable object a candidate, refreshed) against without it:
   each thread repeats a mix of reads of its own dict, a method call and
   float arithmetic for S seconds.  Runs alternate (without, with, ...);
   the ratio is the median of R pairs.  Goal: 0.85 or more.

Free-threaded builds only.  On a shared machine the ratio moves with the
load of other processes: quote it with the machine's state.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time


def sweeps_per_second(count: int, seconds: float, **settings) -> float:
    from threadhandle._threadhandle import _Sampler
    # A mix of small objects, made as a program would make them.
    objects = tuple({"k": i} if i % 3 == 0 else [i] if i % 3 == 1
                    else float(i) + 0.5 for i in range(count))
    sampler = _Sampler(settings.get("duty", 0.1),
                       settings.get("rate", 2000.0))
    sampler.start()
    sampler.swap(objects)
    sampler.resume()
    time.sleep(seconds)
    sweeps, _, _ = sampler.swap(None)
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


def with_finder(seconds: float) -> float:
    from threadhandle.contention import Finder
    with Finder():
        return throughput(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    try:
        from threadhandle.contention import Finder
        Finder(objects=()).start().stop()
    except Exception as exc:
        sys.exit(f"contention_cost: {exc}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load "
          f"{os.getloadavg()[0]:.2f}")
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
