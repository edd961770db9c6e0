"""Running the cases: one compiled loop per (workload, proxy), run by
threads and timed, and counted under valgrind's callgrind."""

from __future__ import annotations

import os
import random
import re
import statistics
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .proxies import Proxy, load_proxies, prepare
from .workloads import EMPTY_LOOP, Workload, all_workloads

# The folder `python <folder>` runs: a callgrind child is started that way.
PACKAGE_DIR = Path(__file__).resolve().parent

WORKER_TEMPLATE = """\
def worker(shared, make, n, barrier, timings, slot):
{bindings}
    barrier.wait()
    start = perf_counter_ns()
    cpu_start = thread_time_ns()
    for _ in range(n):
{body}
    cpu_ns = thread_time_ns() - cpu_start
    timings[slot] = (start, perf_counter_ns(), cpu_ns)
"""


class CaseError(Exception):
    """The operation raised through this proxy."""


@dataclass
class Case:
    """One (workload, proxy): its objects and its own compiled loop."""
    workload: Workload
    proxy: Proxy
    source: str
    worker: Callable
    shared: dict
    # What each thread calls to get at the objects: make(obj) makes its
    # proxy of obj, or make() its own objects (own copy); None: nothing.
    make: Callable | None = None
    error: str = ""
    # Whether enable_deferred_refcount took effect, by object name.
    deferred: dict = field(default_factory=dict)
    # What the cell's footnote says (an own copy that is not one, ...).
    notes: list = field(default_factory=list)

    @property
    def key(self) -> tuple:
        return (self.workload.key, self.proxy.key)


def worker_source(workload: Workload, proxy: Proxy, names: list) -> str:
    if proxy.binding in ("global", "deferred", "immortal"):
        bindings = []
    elif proxy.binding in ("local", "own"):
        bindings = [f"{name} = shared[{name!r}]" for name in names]
        if proxy.binding == "own":
            bindings.insert(0, "shared = make()")
    elif workload.wrap_bindings:
        bindings = workload.wrap_bindings.splitlines()
    else:
        bindings = [f"{name} = make(shared[{name!r}])" for name in names]
    bindings += workload.thread_setup.splitlines()
    return WORKER_TEMPLATE.format(
        bindings=textwrap.indent("\n".join(bindings) or "pass", " " * 4),
        body=textwrap.indent(workload.statement, " " * 8))


def build_case(workload: Workload, proxy: Proxy) -> Case:
    """Make the shared objects, prepare them for the proxy and compile this
    case's own loop."""
    shared = workload.make_objects()
    deferred, notes = prepare(workload, proxy, shared)
    source = worker_source(workload, proxy, list(shared))
    namespace = {"perf_counter_ns": time.perf_counter_ns,
                 "thread_time_ns": time.thread_time_ns}
    if proxy.binding in ("global", "deferred", "immortal"):
        namespace.update(shared)
    code = compile(source, f"<scaling {workload.key} {proxy.key}>", "exec")
    exec(code, namespace)
    make = {"own": workload.make_objects, "wrap": proxy.wrapper}
    return Case(workload, proxy, source, namespace["worker"], shared,
                make.get(proxy.binding), deferred=deferred, notes=notes)


def run_once(case: Case, threads: int, ops: int) -> tuple:
    """One run with `threads` threads.

    Returns the wall time in ns from the barrier to the last thread's end,
    and the CPU time in ns the threads spent in their loops, all together.
    """
    barrier = threading.Barrier(threads)
    timings: list = [None] * threads
    errors: list = []

    def target(slot: int) -> None:
        try:
            case.worker(case.shared, case.make, ops, barrier, timings, slot)
        except threading.BrokenBarrierError:
            pass  # another thread failed first; its error is reported
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    pool = [threading.Thread(target=target, args=(slot,))
            for slot in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if errors:
        exc = errors[0]
        raise CaseError(f"{type(exc).__name__}: {exc}") from exc
    start = min(begin for begin, _, _ in timings)
    end = max(finish for _, finish, _ in timings)
    return end - start, sum(cpu for _, _, cpu in timings)


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------

@dataclass
class Timing:
    """Wall times (ns) of one case at one thread count."""
    runs_ns: list = field(default_factory=list)   # per batch: all runs
    batch_medians_ns: list = field(default_factory=list)
    cpu_runs_ns: list = field(default_factory=list)  # every run's CPU time
    cpu_shares: list = field(default_factory=list)   # CPU / (threads * wall)

    @property
    def cpu_share(self) -> float:
        return statistics.median(self.cpu_shares)

    @property
    def cpu_median_ns(self) -> float:
        return statistics.median(self.cpu_runs_ns)

    @property
    def median_ns(self) -> float:
        return statistics.median(self.batch_medians_ns)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def time_left(elapsed: float, done: int, total: int) -> str:
    """'<elapsed> s so far, about <estimate> s left' after `done` of
    `total` equal steps (no estimate before the first)."""
    text = f"{elapsed:.0f} s so far"
    if done:
        text += f", about {elapsed / done * (total - done):.0f} s left"
    return text


def preflight(cases: list, thread_counts: list, ops: int) -> None:
    """Run every case briefly at every thread count.

    It warms the specialising interpreter up and finds the operations a proxy
    does not support (case.error), so that no later measure trips on them.
    """
    for case in cases:
        for threads in thread_counts:
            if case.error:
                break
            try:
                run_once(case, threads, ops)
            except CaseError as exc:
                case.error = str(exc)


def measure(cases: list, thread_counts: list, ops: int, batches: int,
            runs: int, seed: int) -> dict:
    """Interleaved timing; returns {(workload, proxy, threads): Timing}."""
    rng = random.Random(seed)
    slots = [(case, threads) for case in cases if not case.error
             for threads in thread_counts]
    timings = {(case.workload.key, case.proxy.key, threads): Timing()
               for case, threads in slots}
    began = time.monotonic()
    for batch in range(batches):
        batch_runs = {key: [] for key in timings}
        for run in range(runs):
            done = batch * runs + run
            progress(f"batch {batch + 1}/{batches}, run {run + 1}/{runs}: "
                     f"{len(slots)} cases, "
                     + time_left(time.monotonic() - began, done,
                                 batches * runs))
            rng.shuffle(slots)
            for case, threads in slots:
                if case.error:
                    continue
                try:
                    wall_ns, cpu_ns = run_once(case, threads, ops)
                except CaseError as exc:
                    case.error = str(exc)
                    continue
                key = (case.workload.key, case.proxy.key, threads)
                batch_runs[key].append(wall_ns)
                timings[key].cpu_runs_ns.append(cpu_ns)
                timings[key].cpu_shares.append(
                    cpu_ns / (threads * max(wall_ns, 1)))
        for key, walls in batch_runs.items():
            if walls:
                timings[key].runs_ns.append(walls)
                timings[key].batch_medians_ns.append(statistics.median(walls))
    progress(f"measured in {time.monotonic() - began:.0f} s")
    return {key: timing for key, timing in timings.items()
            if timing.batch_medians_ns}


def summarize(timings: dict, thread_counts: list, ops: int) -> dict:
    """Per (workload, proxy): single-thread ns/op and scaling per T."""
    empty_one = timings.get((EMPTY_LOOP.key, "local", 1))
    empty_ns_per_op = empty_one.median_ns / ops if empty_one else 0.0
    summary = {}
    for (workload, proxy, threads), timing in timings.items():
        if threads != 1:
            continue
        one_thread_ns = timing.median_ns
        ns_per_op = one_thread_ns / ops
        if workload != EMPTY_LOOP.key:
            ns_per_op -= empty_ns_per_op
        scaling, efficiency = {}, {}
        for count in thread_counts:
            other = timings.get((workload, proxy, count))
            if other:
                # (count*N / t_count) / (N / t_1)
                scaling[count] = count * one_thread_ns / other.median_ns
                # (CPU per op, 1 thread) / (CPU per op, count threads)
                efficiency[count] = (count * timing.cpu_median_ns
                                     / other.cpu_median_ns)
        summary[(workload, proxy)] = {"ns_per_op": ns_per_op,
                                      "scaling": scaling,
                                      "cpu_efficiency": efficiency}
    return summary


def cpu_share_by_threads(timings: dict) -> dict:
    """{threads: median CPU share over all cases run with that many}."""
    shares: dict = {}
    for (_, _, threads), timing in timings.items():
        shares.setdefault(threads, []).append(timing.cpu_share)
    return {threads: statistics.median(values)
            for threads, values in sorted(shares.items())}


# --------------------------------------------------------------------------
# Callgrind: instructions per operation
# --------------------------------------------------------------------------

def callgrind_total(workload_key: str, proxy_key: str, ops: int,
                    out_dir: str) -> int:
    """Instructions of one child run under callgrind, start-up included."""
    import subprocess
    command = (["valgrind", "--tool=callgrind",
                f"--callgrind-out-file={out_dir}/callgrind.out.%p",
                sys.executable]
               + (["-P"] if getattr(sys.flags, "safe_path", False) else [])
               + [str(PACKAGE_DIR), "--callgrind-child",
                  f"{workload_key}:{proxy_key}:{ops}"])
    # A fixed hash seed makes the dict lookups identical between the runs.
    env = dict(os.environ, PYTHONHASHSEED="0")
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    match = re.search(r"Collected\s*:\s*(\d+)", result.stderr)
    if result.returncode != 0 or not match:
        own_lines = [line for line in result.stderr.splitlines()
                     if line.strip() and not line.startswith("==")]
        raise CaseError("callgrind run failed: "
                        + (own_lines[-1] if own_lines else "no message"))
    return int(match.group(1))


def callgrind_per_op(workload_key: str, proxy_key: str, ops: int,
                     out_dir: str) -> float:
    # Runs of N and 2N operations differ only by N operations.
    small = callgrind_total(workload_key, proxy_key, ops, out_dir)
    large = callgrind_total(workload_key, proxy_key, 2 * ops, out_dir)
    return (large - small) / ops


def measure_callgrind(cases: list, ops: int) -> dict:
    """{(workload, proxy): instructions/op, or the error}: over the empty
    loop, which is itself there as (empty, local), over nothing."""
    import concurrent.futures
    import shutil
    import tempfile
    if not shutil.which("valgrind"):
        progress("--callgrind: valgrind is not on PATH; skipped")
        return {}
    empty_key = (EMPTY_LOOP.key, "local")
    keys = [empty_key] + [case.key for case in cases
                          if not case.error and case.key != empty_key]
    per_op: dict = {}
    progress(f"callgrind: {len(keys)} cases, {ops} and {2 * ops} ops each")
    with tempfile.TemporaryDirectory() as out_dir, \
            concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as ex:
        futures = {ex.submit(callgrind_per_op, *key, ops, out_dir): key
                   for key in keys}
        for done, future in enumerate(
                concurrent.futures.as_completed(futures), 1):
            key = futures[future]
            try:
                per_op[key] = future.result()
            except CaseError as exc:
                per_op[key] = str(exc)
            progress(f"callgrind {done}/{len(keys)}: {key[0]} {key[1]}")
    empty = per_op[empty_key]
    if isinstance(empty, str):
        progress(f"callgrind: the empty loop failed ({empty}); skipped")
        return {}
    return {key: value if isinstance(value, str) or key == empty_key
            else value - empty
            for key, value in per_op.items()}


def callgrind_child(spec: str) -> int:
    """Run one case once, single-threaded, for the parent's callgrind."""
    workload_key, proxy_key, ops = spec.split(":")
    # The local_handle row needs threadhandle whatever the column.
    proxies, local_handle = load_proxies((proxy_key, "threadhandle")
                                         if workload_key == "local_handle"
                                         else (proxy_key,))
    workloads = {w.key: w for w in all_workloads(local_handle) + [EMPTY_LOOP]}
    proxy = {p.key: p for p in proxies}[proxy_key]
    case = build_case(workloads[workload_key], proxy)
    run_once(case, 1, int(ops))
    return 0
