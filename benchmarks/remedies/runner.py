"""Variants of a program, run by threads and timed in CPU time.

A variant says which shared objects each thread gets as an own copy, and
which remedies are applied: "shared" (nothing owned), "own:all" (the
ideal: nothing shared), "own:<name>" (that object alone owned: the ground
truth), "remedy:<remedy>:<name>[+...]".

Scaling is measured in CPU time (time.thread_time_ns of each thread around
its work): T * (CPU ns per op with 1 thread) / (CPU ns per op with T
threads).  Contention (a count's cache line moving between cores) makes
every operation cost more CPU time; a thread waiting for a CPU that other
processes hold costs none, so a loaded machine disturbs this less than
wall time (also recorded).  A lock that parks its waiters costs them no
CPU time either: such contention shows in the wall-time scaling only.
"""

from __future__ import annotations

import re
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field

from .program import NotOwnable, Program, parse_remedy, remedy_label
from .remedies import (GENERIC, MAIN_SIDE, THREAD_SIDE, RemedyUnavailable,
                       apply_main, apply_thread, why_unavailable)

ALL = "all"


class VariantError(Exception):
    """The variant failed: it raised, or gave another result."""


# The label's suffix of the ideal measured a second time (the control).
AGAIN = " again"


@dataclass(frozen=True)
class Variant:
    own: frozenset = frozenset()
    parts: tuple = ()          # ((remedy, name), ...)
    again: bool = False        # the same variant measured a second time

    @property
    def label(self) -> str:
        if self.parts:
            label = "remedy:" + remedy_label(self.parts)
        elif not self.own:
            label = "shared"
        else:
            label = "own:" + ",".join(sorted(self.own))
        return label + AGAIN if self.again else label

    @classmethod
    def parse(cls, program: Program, label: str) -> Variant:
        if label == "shared":
            return cls()
        if label == f"own:{ALL}":
            return cls(own=frozenset(program.shared))
        if label.startswith("own:"):
            names = frozenset(label[4:].split(","))
            unknown = names - set(program.shared)
            if unknown:
                raise ValueError(f"{program.key} shares no {sorted(unknown)}")
            return cls(own=names)
        if label.startswith("remedy:"):
            return remedy_variant(program, parse_remedy(label[7:]))
        raise ValueError(f"not a variant: {label!r}")


def remedy_variant(program: Program, parts: list) -> Variant:
    """The variant that applies `parts` ([(remedy, name), ...]): the
    entry point for an automatic remedy (the finder's first)."""
    for _, name in parts:
        if name not in program.shared:
            raise ValueError(f"{program.key} shares no {name!r}")
    return Variant(parts=tuple(parts))


def why_not(program: Program, variant: Variant) -> str:
    """Why this variant cannot run here ('' if it can)."""
    for remedy, name in variant.parts:
        if remedy in GENERIC:
            why = why_unavailable(remedy)
            if why:
                return why
            if (remedy in THREAD_SIDE
                    and name not in program.declarations):
                return f"{remedy} needs a module global; {name} is not one"
        elif not callable(program.declarations.get(f"remedy_{remedy}")):
            return f"the program defines no remedy_{remedy}"
    if variant.own:
        try:
            program.share(program.instance(), program.instance(),
                          variant.own)
        except NotOwnable as exc:
            return f"cannot be owned alone ({exc})"
    return ""


def variants_of(program: Program) -> list:
    """Every variant the suite measures for this program: the ideal twice
    (the second, `again`, is the control: how far one variant's scaling
    moves between its measures in the same run)."""
    found = [Variant(), Variant(own=frozenset(program.shared)),
             Variant(own=frozenset(program.shared), again=True)]
    if len(program.shared) > 1:
        found += [Variant(own=frozenset([name])) for name in program.shared]
    found += [Variant(parts=tuple(parts)) for parts in program.remedies]
    return found


@dataclass
class Run:
    wall_ns: int
    cpu_ns: list               # per thread
    results: list              # per thread: work(n)'s return value
    notes: list = field(default_factory=list)


def run(program: Program, variant: Variant, threads: int, n: int,
        during=None) -> Run:
    """One run: the shared objects made in this thread, the main-side
    remedies applied, `threads` threads each running work(n) from a
    barrier.  `during`, if given, is called in this thread while they run
    (the finder)."""
    # re.compile hands out its cached pattern: without a purge, a run's
    # "fresh" pattern is one earlier runs' threads held, which immortalize
    # refuses (it has a shared count) where a program's own would not.
    re.purge()
    main = program.instance(keep=True)
    try:
        return _run(program, variant, threads, n, during, main)
    finally:
        program.forget(main)


def _run(program, variant, threads, n, during, main) -> Run:
    notes = []
    for remedy, name in variant.parts:
        if remedy in MAIN_SIDE:
            notes += apply_main(remedy, program.objects(main, name))
    barrier = threading.Barrier(threads + (during is not None))
    out: list = [None] * threads
    errors: list = []

    def target(slot: int) -> None:
        try:
            mine = program.instance()
            program.share(mine, main, variant.own)
            for remedy, name in variant.parts:
                if remedy in THREAD_SIDE:
                    apply_thread(remedy, name, mine, main)
                elif remedy not in MAIN_SIDE:
                    custom = program.custom_remedy(mine, remedy)
                    if custom is None:
                        raise RemedyUnavailable(f"no remedy_{remedy}")
                    custom(mine, main)
            work = mine["work"]
            barrier.wait()
            wall = time.perf_counter_ns()
            cpu = time.thread_time_ns()
            result = work(n)
            cpu = time.thread_time_ns() - cpu
            out[slot] = (wall, time.perf_counter_ns(), cpu, result)
        except threading.BrokenBarrierError:
            pass
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    pool = [threading.Thread(target=target, args=(slot,),
                             name=f"remedy-suite {slot}")
            for slot in range(threads)]
    for thread in pool:
        thread.start()
    if during is not None:
        try:
            barrier.wait()
            during(main)
        except threading.BrokenBarrierError:
            pass
    for thread in pool:
        thread.join()
    if errors:
        exc = errors[0]
        raise VariantError(f"{variant.label}: {type(exc).__name__}: {exc}")
    start = min(o[0] for o in out)
    end = max(o[1] for o in out)
    return Run(end - start, [o[2] for o in out], [o[3] for o in out], notes)


def check(program: Program, variant: Variant, threads: int, n: int,
          expected) -> Run:
    """run(), and every thread's result must equal `expected`."""
    result = run(program, variant, threads, n)
    for value in result.results:
        if value != expected:
            raise VariantError(f"{variant.label}: work({n}) returned "
                               f"{value!r}, the plain program {expected!r}")
    return result


def expected_result(program: Program, n: int):
    """The plain program's result: work(n) in this thread."""
    return program.instance()["work"](n)


def calibrate(program: Program, cpu_seconds: float) -> int:
    """Operations for a 1-thread shared run of about `cpu_seconds` of CPU."""
    n = 16
    while True:
        took = run(program, Variant(), 1, n).cpu_ns[0] / 1e9
        if took >= min(cpu_seconds, 0.01) or n > 10**8:
            return max(int(n * cpu_seconds / max(took, 1e-9)), 1)
        n *= 4


@dataclass
class Measure:
    """The runs of one variant at one thread count."""
    cpu_ns_per_op: list = field(default_factory=list)   # per run
    wall_ns: list = field(default_factory=list)
    # CPU time / (threads * wall time): how much of the run the threads
    # spent running side by side (they contend only then).
    cpu_shares: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def cpu_per_op(self) -> float:
        return statistics.median(self.cpu_ns_per_op)

    def wall(self) -> float:
        return statistics.median(self.wall_ns)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(program: Program, variants: list, n: int, runs: int,
            rng, thread_counts=(1, 2)) -> dict:
    """Interleaved runs: every (variant, threads) once in a shuffled
    order, `runs` times.  Returns {(label, threads): Measure}; a variant
    that fails is left out of later rounds, its error in .notes."""
    slots = [(v, t) for v in variants for t in thread_counts]
    results = {(v.label, t): Measure() for v, t in slots}
    failed: set = set()
    for _ in range(runs):
        rng.shuffle(slots)
        for variant, threads in slots:
            if variant.label in failed:
                continue
            measured = results[(variant.label, threads)]
            try:
                one = run(program, variant, threads, n)
            except VariantError as exc:
                failed.add(variant.label)
                measured.notes.append(str(exc))
                continue
            measured.cpu_ns_per_op.append(sum(one.cpu_ns) / (threads * n))
            measured.wall_ns.append(one.wall_ns)
            measured.cpu_shares.append(
                sum(one.cpu_ns) / (threads * max(one.wall_ns, 1)))
            for note in one.notes:
                if note not in measured.notes:
                    measured.notes.append(note)
    return results


def scaling(results: dict, label: str, threads: int = 2) -> dict:
    """CPU and wall scaling of one variant, and its 1-thread ns/op."""
    one, many = results.get((label, 1)), results.get((label, threads))
    if not one or not many or not one.cpu_ns_per_op or not many.cpu_ns_per_op:
        return {}
    return {"cpu": threads * one.cpu_per_op() / many.cpu_per_op(),
            "wall": threads * one.wall() / many.wall(),
            "ns_per_op": one.cpu_per_op(),
            "cpu_share": statistics.median(many.cpu_shares)}
