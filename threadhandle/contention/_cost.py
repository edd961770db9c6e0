"""What an object's contention costs the threads: the estimate the finder
ranks its entries by.

    estimate = (change_rate * SECONDS_PER_CHANGE + lock_share) / threads

- change_rate: changes of the object's shared reference count per second,
  as the sampler's bursts count them (its count read back to back for some
  microseconds at a time: threadhandle/contention/_sampler.c);
- SECONDS_PER_CHANGE: the threads' time one such change costs, measured
  (below);
- lock_share: the share of sweeps that found threads parked on its lock,
  as thread-seconds lost per second (one waiter at least);
- threads: the threads' time per second of the sampled window: the
  process's CPU time less the finder's, plus the lock waits (a parked
  thread uses no CPU).

So an estimate of 0.35 reads "its contention costs ~35% of the threads'
time": about what removing it would give back.  Rough, within a factor of
2 or 3: one measured cost per change stands for every kind of reference
traffic, a burst that misses a change made and undone between two of its
reads undercounts the densest traffic, and on a machine whose cores are
all busy (other processes' threads too) a burst sees changes only while
a thread of the program runs on another core, so rates read low.  It ranks
well (a count changed millions of times a second against one changed now
and then); two entries within a factor of 2 of each other may swap.
"""

from __future__ import annotations

# The threads' time one change of an object's shared count costs, as the
# bursts count changes: two threads read one dict (each call takes and
# drops a reference) against each thread reading its own; the threads'
# extra time per second over the changes per second the bursts saw.
# Measured by `python -P benchmarks/contention_cost.py --per-change
# --seconds 2 --rounds 5` on 3.14t, this project's 2-vCPU machine with
# nothing else of ours running (load 1.2), 2026-12-07 21:37 UTC: 244-315
# ns a change for the dict (median 300; the threads 56-71% slower than
# with own copies), 138-207 ns for a float read the same way (median 185);
# 250 ns, between the two.  On a busy machine the threads run less often
# during a burst, so a burst sees fewer changes and each one seems to cost
# more (the same script at load 4.4-5.4 gave 105-1450 ns): read the figure
# as good to a factor of 2.
SECONDS_PER_CHANGE = 250e-9

# An entry whose estimate is below this share of the threads' time is
# listed below the line: fixing it would give back little.
SMALL = 0.02

# The threads' time per second is at least this (a program whose threads
# sleep has no time for contention to cost; no division by ~0).
_MIN_THREADS = 0.05


def cost(change_rate: float, lock_share: float) -> float:
    """Thread-seconds per second that an object's contention costs."""
    return change_rate * SECONDS_PER_CHANGE + lock_share


def threads_time(cpu_seconds: float, seconds: float,
                 lock_waits: float) -> float:
    """The threads' time per second of a window of `seconds`: CPU time
    (the finder's own taken out) per second, plus thread-seconds per second
    parked on locks."""
    busy = cpu_seconds / seconds if seconds > 0 else 0.0
    return max(busy, 0.0) + lock_waits


def estimate(change_rate: float, lock_share: float,
             threads: float) -> float:
    """The share of the threads' time the object's contention costs, at
    most all of it (the formula can exceed 1: its constant is rough)."""
    return min(cost(change_rate, lock_share) / max(threads, _MIN_THREADS),
               1.0)


def percent(value: float | None) -> str:
    """An estimate as the report shows it: no false precision."""
    if value is None:
        return "?"
    if value < 0.01:
        return "<1%"
    return f"~{value:.0%}"


def threads_text(threads: float) -> str:
    """'the 2 threads'' for threads' time per second ~2; 'the threads''
    below 1.5 (one busy thread, or several that had little CPU)."""
    count = round(threads)
    return f"the {count} threads'" if count >= 2 else "the threads'"
