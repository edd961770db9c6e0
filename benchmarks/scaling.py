#!/usr/bin/env python3
"""Thread-scaling benchmark: ThreadHandle against plain objects and its peers.

Every case is one *workload* (an operation on one shared object, such as
``d[5]``) reached through one *proxy* (how the loop gets at the object).  The
shared object is made once, in the main thread.  For a run with T threads,
each thread makes its own proxy of the object, waits on a barrier, then runs
the operation N times in a loop.  The run's time is the wall time from the
barrier's release to the end of the last thread.

Proxies (columns):
  plain global           the loop reads the object from a module global
  plain local            the object is bound to a local variable first
  ThreadHandle           threadhandle.ThreadHandle(obj), made in each thread
  cereggii.ThreadHandle  the same idea from the cereggii package
  ft_utils LocalWrapper  ft_utils.local.LocalWrapper(obj), made in each thread
  slot floor             benchmarks/floor_proxy.c, compiled on demand: a
                         proxy that only loads the object's slot and calls
                         it (no checks, no fallbacks).  Not usable as a
                         proxy; its cost over plain local is what CPython's
                         slot dispatch costs, the floor for every proxy.

Workloads (rows): the statement each loop repeats, shown in the first column.
The float operands of f(4.0) and f * 2.0 are made in each thread: a float
constant is shared by every thread running the code and is not immortal, so
it would contend whatever the proxy.  "request" is one request of a small
web-style router: pattern.match(path) with a shared compiled regular
expression, then settings["timeout"] and settings.get("retries", 5) on a
shared dict.  (Each match object keeps a reference to the real pattern,
taken inside the re module, which no proxy can avoid.)  "lookup" is the
same request's bookkeeping without the regular expression: two reads of the
settings dict, a frozenset membership test and a routes-dict lookup, all
shared.  ``local_handle(d)[5]``
(only when the installed threadhandle has local_handle) asks for the calling
thread's handle at every use: its "plain global" column reads ``d`` and
``local_handle`` from module globals (the usual way to write it), its "plain
local" column from local variables.  "empty loop" is the loop with nothing
in it: the cost every other row has subtracted.

How to read the table:
  Each cell is "<ns/op> <scaling>", e.g. "31.8 ns 1.91x".
  * ns/op: the single-thread time per operation minus the empty loop's, so
    the cost of the operation itself (lower is better).
  * scaling: throughput with the largest thread count divided by throughput
    with one thread (T*N/time against N/time).  The ideal is T (2.00x for two
    threads); below 1.00x, more threads do less work in total, the signature
    of contention on the shared object's reference count.  The empty loop's
    scaling shows what the machine gives at best (its runs are the shortest,
    so other processes disturb it least).
  * TH/local: ThreadHandle's ns/op divided by plain local's; the single-thread
    price of the proxy.  In the local_handle row it is local_handle(d)[5]
    (plain local column) against d[5] (plain local).  "incl. loop" is the
    same ratio with the empty loop's cost added to both sides: whole loop
    iterations, as a program that does this operation in a loop sees them.
  With more than two thread counts, a second table gives the scaling at each.
  "not installed" means the proxy's package does not import; "error" means
  the operation raised through that proxy (the reason is printed below).

  Contention itself varies between processes on a virtual machine: the same
  contended case can show 0.45x in one run and 1.0x in the next (for every
  proxy alike; it depends on where the host places the vCPUs).  Compare
  columns within one run, and rerun a row that disagrees with its
  neighbours.

  Scaling needs idle CPUs.  The line "CPU share" says which fraction of the
  wall time the timed threads were running (their CPU time / (threads * wall
  time)).  Well below 100% they were waiting, for the GIL or for CPUs that
  other processes held, and ran side by side less often: the numbers then
  describe the machine more than the proxy; run again on a quiet machine.
  The table "CPU efficiency" tells the causes of poor scaling apart: CPU
  time per op with one thread divided by CPU time per op with T threads.
  Contention on the shared object (its reference count's cache line bouncing
  between cores) makes each operation cost more CPU time and the number drop
  below 1.00; waiting does not count.

Method: runs are interleaved.  A batch runs every case (each workload, proxy
and thread count) once in a shuffled order, R times over; the batch keeps the
median time of each case, and the result is the median over the batches.
Each (workload, proxy) loop is compiled from its own source text, so it has
its own code object: CPython specialises bytecode per code object, and a loop
shared between proxies would measure the mix.

--callgrind adds a noise-free single-thread measure: instructions per
operation under valgrind's callgrind, each case run in a subprocess with N and
with 2N operations (the difference cancels start-up), minus the empty loop.

Output: the table on stdout, progress on stderr, all raw medians in JSON and a
PNG plot (scaling and ns/op per workload and proxy) under benchmarks/results/
unless --json/--plot say otherwise ("none" skips one).

Examples:
  python benchmarks/scaling.py --quick
  python benchmarks/scaling.py --threads 1,2,4 --workloads getitem,request
  python benchmarks/scaling.py --callgrind --batches 0
"""

from __future__ import annotations

import importlib
import math
import os
import random
import re
import statistics
import sys
import sysconfig
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# Modules only the parent process needs (argparse, json, subprocess,
# matplotlib, ...) are imported where they are used: a --callgrind child runs
# this file under valgrind, where every import adds seconds of start-up.

RESULTS_DIR = Path(__file__).resolve().parent / "results"
FLOOR_SOURCE = Path(__file__).resolve().parent / "floor_proxy.c"
BUILD_DIR = Path(__file__).resolve().parent / ".build"

QUICK_OPS = 2_000
QUICK_BATCHES = 2
QUICK_RUNS = 1


# --------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------

class Record:
    """A plain Python class: instances keep attribute x in their __dict__."""

    def __init__(self) -> None:
        self.x = 1


def make_dict_of_ints() -> dict:
    return {i: i for i in range(100)}


def make_request_objects() -> dict:
    settings = {
        "timeout": 30,
        "retries": 3,
        "debug": False,
        "base_url": "https://example.invalid",
        "max_body": 1 << 20,
    }
    pattern = re.compile(r"/api/(\w+)/(\d+)")
    return {"settings": settings, "pattern": pattern}


# One request: route the path, then read two settings.  The match object
# keeps a reference to the pattern, as real code would get.
REQUEST_STATEMENT = """\
pattern.match("/api/users/42")
settings["timeout"]
settings.get("retries", 5)"""


def make_lookup_objects() -> dict:
    settings = make_request_objects()["settings"]
    methods = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE"})
    routes = {"users": "list_users", "orders": "list_orders",
              "health": "health_check"}
    return {"settings": settings, "methods": methods, "routes": routes}


# The same request's bookkeeping without the regular expression: only reads
# of shared containers, which a proxy can take entirely off their refcounts.
LOOKUP_STATEMENT = """\
settings["timeout"]
settings.get("retries", 5)
"GET" in methods
routes.get("users")"""


@dataclass(frozen=True)
class Workload:
    key: str
    label: str
    statement: str
    make_objects: Callable[[], dict]
    # Code each thread runs before the barrier, to make its own operands.
    thread_setup: str = ""
    # Proxy keys this workload runs with; None: all of them.
    proxies: tuple | None = None
    needs_local_handle: bool = False
    # (workload, proxy) pairs whose ns/op make the TH/local ratio.
    ratio_of: tuple | None = None
    ratio_to: tuple | None = None


def all_workloads(local_handle: Callable | None) -> list[Workload]:
    def with_local_handle() -> dict:
        return {"d": make_dict_of_ints(), "local_handle": local_handle}

    return [
        Workload("getitem", "d[5]", "d[5]",
                 lambda: {"d": make_dict_of_ints()}),
        Workload("get", "d.get(5)", "d.get(5)",
                 lambda: {"d": make_dict_of_ints()}),
        Workload("attr", "o.x", "o.x", lambda: {"o": Record()}),
        # The float operands are made in each thread: a float constant
        # belongs to the code object, which all threads share, and is not
        # immortal, so its reference count would contend whatever the proxy.
        Workload("call", "f(4.0) math.sqrt", "f(arg)",
                 lambda: {"f": math.sqrt},
                 thread_setup='arg = float("4.0")'),
        # float() makes an ordinary heap float, not a code constant.
        Workload("number", "f * 2.0", "f * factor",
                 lambda: {"f": float("1.5")},
                 thread_setup='factor = float("2.0")'),
        Workload("contains", "5 in d", "5 in d",
                 lambda: {"d": make_dict_of_ints()}),
        Workload("setitem", "l[5] = 1", "l[5] = 1",
                 lambda: {"l": [0] * 10}),
        Workload("len", "len(d)", "len(d)",
                 lambda: {"d": make_dict_of_ints()}),
        Workload("request", "request: re + dict", REQUEST_STATEMENT,
                 make_request_objects),
        Workload("lookup", "lookup: dict + set", LOOKUP_STATEMENT,
                 make_lookup_objects),
        Workload("local_handle", "local_handle(d)[5]", "local_handle(d)[5]",
                 with_local_handle, proxies=("global", "local"),
                 needs_local_handle=True,
                 ratio_of=("local_handle", "local"),
                 ratio_to=("getitem", "local")),
    ]


EMPTY_LOOP = Workload("empty", "empty loop", "pass", dict, proxies=("local",))


# --------------------------------------------------------------------------
# Proxies
# --------------------------------------------------------------------------

@dataclass
class Proxy:
    key: str
    label: str
    # "global": the loop reads module globals; "local": local variables;
    # "wrap": local variables holding wrapper(obj), made in the thread.
    binding: str
    wrapper: Callable | None = None
    version: str = ""
    unavailable: str = ""  # why the proxy cannot run; empty when it can


def distribution_version(*names: str) -> str:
    from importlib import metadata
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return ""


def import_wrapper(module_name: str, attribute: str, distributions: tuple,
                   find_version: bool = True) -> tuple:
    """Return (wrapper, version, why unavailable) for one proxy class."""
    try:
        module = importlib.import_module(module_name)
        wrapper = getattr(module, attribute)
    except ModuleNotFoundError as exc:
        return None, "", f"not installed ({exc})"
    except Exception as exc:  # a broken build must not stop the benchmark
        return None, "", f"import failed ({type(exc).__name__}: {exc})"
    if not find_version:
        return wrapper, "", ""
    version = (distribution_version(*distributions)
               or str(getattr(sys.modules[module_name.split(".")[0]],
                              "__version__", "")))
    return wrapper, version, ""


def build_floor_proxy() -> tuple:
    """Compile floor_proxy.c for this interpreter (once; cached under
    benchmarks/.build/) and return (FloorProxy, where it came from, why
    unavailable), as import_wrapper() does for the peers."""
    import importlib.util
    import shlex
    import subprocess
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    ldshared = sysconfig.get_config_var("LDSHARED")
    if not suffix or not ldshared:
        return None, "", "not built (no C compiler settings in sysconfig)"
    target = BUILD_DIR / f"floor_proxy{suffix}"
    if (not target.exists()
            or target.stat().st_mtime < FLOOR_SOURCE.stat().st_mtime):
        BUILD_DIR.mkdir(parents=True, exist_ok=True)
        # Built under a name of its own, then renamed: two benchmarks
        # starting at once never load a half-written file.
        partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        command = (shlex.split(ldshared)
                   + shlex.split(sysconfig.get_config_var("CCSHARED") or "")
                   + ["-O2", "-I", sysconfig.get_path("include"),
                      str(FLOOR_SOURCE), "-o", str(partial)])
        try:
            result = subprocess.run(command, capture_output=True, text=True)
        except OSError as exc:
            return None, "", f"not built ({exc})"
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines() or ["?"]
            first = next((line for line in lines if "error" in line),
                         lines[-1])
            return None, "", f"not built ({first.strip()})"
        os.replace(partial, target)
    spec = importlib.util.spec_from_file_location("floor_proxy", target)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        return None, "", f"import failed ({type(exc).__name__}: {exc})"
    return module.FloorProxy, f"built from {FLOOR_SOURCE.name}", ""


def load_proxies(only: str | None = None) -> tuple:
    """All proxies, importable or not, and threadhandle.local_handle.

    With `only` (a proxy key), import just that proxy's package: a callgrind
    child counts every instruction of its start-up.
    """
    proxies = [Proxy("global", "plain global", "global"),
               Proxy("local", "plain local", "local")]
    peers = [
        ("threadhandle", "ThreadHandle", "threadhandle", "ThreadHandle",
         ("threadhandle",)),
        ("cereggii", "cereggii.ThreadHandle", "cereggii", "ThreadHandle",
         ("cereggii",)),
        ("ft_utils", "ft_utils LocalWrapper", "ft_utils.local",
         "LocalWrapper", ("ft-utils", "ft_utils")),
    ]
    for key, label, module_name, attribute, distributions in peers:
        if only is not None and key != only:
            proxies.append(Proxy(key, label, "wrap", unavailable="not loaded"))
            continue
        wrapper, version, unavailable = import_wrapper(
            module_name, attribute, distributions, find_version=only is None)
        proxies.append(Proxy(key, label, "wrap", wrapper, version,
                             unavailable))
    if only is None or only == "floor":
        wrapper, version, unavailable = build_floor_proxy()
    else:
        wrapper, version, unavailable = None, "", "not loaded"
    proxies.append(Proxy("floor", "slot floor", "wrap", wrapper, version,
                         unavailable))
    local_handle = None
    if "threadhandle" in sys.modules:
        local_handle = getattr(sys.modules["threadhandle"], "local_handle",
                               None)
    return proxies, local_handle


# --------------------------------------------------------------------------
# Cases: one compiled loop per (workload, proxy)
# --------------------------------------------------------------------------

WORKER_TEMPLATE = """\
def worker(shared, make_proxy, n, barrier, timings, slot):
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
    workload: Workload
    proxy: Proxy
    source: str
    worker: Callable
    shared: dict
    error: str = ""

    @property
    def key(self) -> tuple:
        return (self.workload.key, self.proxy.key)


def worker_source(workload: Workload, proxy: Proxy, names: list) -> str:
    if proxy.binding == "global":
        bindings = []
    elif proxy.binding == "local":
        bindings = [f"{name} = shared[{name!r}]" for name in names]
    else:
        bindings = [f"{name} = make_proxy(shared[{name!r}])"
                    for name in names]
    bindings += workload.thread_setup.splitlines()
    return WORKER_TEMPLATE.format(
        bindings=textwrap.indent("\n".join(bindings) or "pass", " " * 4),
        body=textwrap.indent(workload.statement, " " * 8))


def build_case(workload: Workload, proxy: Proxy) -> Case:
    """Make the shared objects and compile this case's own loop."""
    shared = workload.make_objects()
    source = worker_source(workload, proxy, list(shared))
    namespace = {"perf_counter_ns": time.perf_counter_ns,
                 "thread_time_ns": time.thread_time_ns}
    if proxy.binding == "global":
        namespace.update(shared)
    code = compile(source, f"<scaling {workload.key} {proxy.key}>", "exec")
    exec(code, namespace)
    return Case(workload, proxy, source, namespace["worker"], shared)


def run_once(case: Case, threads: int, ops: int) -> tuple:
    """One run with `threads` threads.

    Returns the wall time in ns from the barrier to the last thread's end,
    and the CPU time in ns the threads spent in their loops, all together.
    """
    barrier = threading.Barrier(threads)
    timings: list = [None] * threads
    errors: list = []
    make_proxy = case.proxy.wrapper

    def target(slot: int) -> None:
        try:
            case.worker(case.shared, make_proxy, ops, barrier, timings, slot)
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
# Measurement
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
            progress(f"batch {batch + 1}/{batches}, run {run + 1}/{runs}: "
                     f"{len(slots)} cases, "
                     f"{time.monotonic() - began:.0f} s so far")
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
    empty_one = timings.get(("empty", "local", 1))
    empty_ns_per_op = empty_one.median_ns / ops if empty_one else 0.0
    summary = {}
    for (workload, proxy, threads), timing in timings.items():
        if threads != 1:
            continue
        one_thread_ns = timing.median_ns
        ns_per_op = one_thread_ns / ops
        if workload != "empty":
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
    command = ["valgrind", "--tool=callgrind",
               f"--callgrind-out-file={out_dir}/callgrind.out.%p",
               sys.executable, os.path.abspath(__file__),
               "--callgrind-child", f"{workload_key}:{proxy_key}:{ops}"]
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
    """{(workload, proxy): instructions/op over the empty loop, or error}."""
    import concurrent.futures
    import shutil
    import tempfile
    if not shutil.which("valgrind"):
        progress("--callgrind: valgrind is not on PATH; skipped")
        return {}
    keys = [("empty", "local")] + [case.key for case in cases
                                   if not case.error]
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
    empty = per_op.pop(("empty", "local"))
    if isinstance(empty, str):
        progress(f"callgrind: the empty loop failed ({empty}); skipped")
        return {}
    return {key: value if isinstance(value, str) else value - empty
            for key, value in per_op.items()}


def callgrind_child(spec: str) -> int:
    """Run one case once, single-threaded, for the parent's callgrind."""
    workload_key, proxy_key, ops = spec.split(":")
    proxies, local_handle = load_proxies(
        "threadhandle" if workload_key == "local_handle" else proxy_key)
    workloads = {w.key: w for w in all_workloads(local_handle) + [EMPTY_LOOP]}
    proxy = {p.key: p for p in proxies}[proxy_key]
    case = build_case(workloads[workload_key], proxy)
    run_once(case, 1, int(ops))
    return 0


# --------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------

def is_free_threaded_build() -> bool:
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def gil_enabled() -> bool | None:
    check = getattr(sys, "_is_gil_enabled", None)
    return check() if check else None


def interpreter_tag() -> str:
    """e.g. 3.14t, 3.11; a free-threaded build run with the GIL: 3.14t-gil."""
    tag = f"{sys.version_info.major}.{sys.version_info.minor}"
    if is_free_threaded_build():
        tag += "t"
        if gil_enabled():
            tag += "-gil"
    return tag


def environment() -> dict:
    import datetime
    import platform
    try:
        usable_cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        usable_cpus = os.cpu_count()
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "python": sys.version,
        "executable": sys.executable,
        "implementation": platform.python_implementation(),
        "free_threaded_build": is_free_threaded_build(),
        "gil_enabled": gil_enabled(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable_cpus,
        "load_average": load,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "date": datetime.datetime.now().astimezone().isoformat(
            timespec="seconds"),
    }


def print_environment(env: dict, proxies: list, settings: dict) -> None:
    gil = env["gil_enabled"]
    print(f"Python {env['python'].splitlines()[0]}")
    print(f"  executable: {env['executable']}")
    print(f"  free-threaded build: {env['free_threaded_build']}, "
          f"sys._is_gil_enabled(): "
          f"{'n/a' if gil is None else gil}")
    load = env["load_average"]
    print(f"  CPUs: {env['cpu_count']} ({env['usable_cpus']} usable), "
          f"load average at start: "
          f"{'n/a' if load is None else ' '.join(f'{x:.2f}' for x in load)}")
    if load and env["usable_cpus"] and load[0] > 0.5 * env["usable_cpus"]:
        print(f"  warning: the machine is busy (load {load[0]:.2f} on "
              f"{env['usable_cpus']} CPUs): threads will wait for CPUs; "
              f"see 'CPU share' below")
    print(f"  {env['platform']}, {env['date']}")
    print(f"  threads {settings['threads']}, {settings['ops']} ops per "
          f"thread per run, {settings['batches']} batches of "
          f"{settings['runs']} runs")
    for proxy in proxies:
        if proxy.binding == "wrap":
            state = proxy.unavailable or (
                proxy.version if proxy.key == "floor"
                else f"version {proxy.version or '?'}")
            print(f"  {proxy.label}: {state}")
    print()


def format_table(header: list, rows: list) -> str:
    widths = [max(len(str(row[i])) for row in [header] + rows)
              for i in range(len(header))]
    lines = []
    for index, row in enumerate([header] + rows):
        cells = [str(cell).ljust(width) if column == 0
                 else str(cell).rjust(width)
                 for column, (cell, width) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def cell_state(workload: Workload, proxy: Proxy, cases_by_key: dict,
               values: dict) -> str:
    """Why a cell has no number ('' when it has one)."""
    if workload.proxies is not None and proxy.key not in workload.proxies:
        return "-"
    if proxy.unavailable:
        # "not installed", "not built", "import failed", ...
        return proxy.unavailable.split(" (")[0]
    case = cases_by_key.get((workload.key, proxy.key))
    if case is None:
        return "-"          # not selected
    if case.error:
        return "error"
    if (workload.key, proxy.key) not in values:
        return "?"
    return ""


def ratio_text(workload: Workload, number_of: Callable,
               loop: float = 0.0, proxy_key: str = "threadhandle") -> str:
    """TH/local (or another proxy's /local); with `loop` (the empty loop's
    cost) added to both sides, the ratio of whole loop iterations, as a
    program would see it."""
    if proxy_key != "threadhandle" and workload.ratio_of:
        return "-"
    of = workload.ratio_of or (workload.key, proxy_key)
    to = workload.ratio_to or (workload.key, "local")
    numerator, denominator = number_of(of), number_of(to)
    if numerator is None or denominator is None or denominator + loop <= 0:
        return "-"
    return f"{(numerator + loop) / (denominator + loop):.2f}"


def timing_tables(workloads: list, proxies: list, cases: list,
                  summary: dict, thread_counts: list,
                  cpu_shares: dict) -> str:
    cases_by_key = {case.key: case for case in cases}
    top = max(thread_counts)
    with_floor = any(key[1] == "floor" for key in summary)
    header = (["workload"] + [proxy.label for proxy in proxies]
              + ["TH/local", "incl. loop"]
              + (["floor/local incl. loop"] if with_floor else []))

    def ns_of(key: tuple):
        entry = summary.get(key)
        return entry["ns_per_op"] if entry else None

    rows = []
    empty = summary.get(("empty", "local"))
    loop_ns = empty["ns_per_op"] if empty else 0.0
    if empty:
        text = f"{empty['ns_per_op']:.1f} ns"
        if top > 1:
            text += f" {empty['scaling'].get(top, float('nan')):.2f}x"
        rows.append([EMPTY_LOOP.label] + [text if p.key == "local" else "-"
                                          for p in proxies]
                    + ["-"] * (3 if with_floor else 2))
    for workload in workloads:
        row = [workload.label]
        for proxy in proxies:
            state = cell_state(workload, proxy, cases_by_key, summary)
            if state:
                row.append(state)
                continue
            entry = summary[(workload.key, proxy.key)]
            text = f"{entry['ns_per_op']:.1f} ns"
            if top > 1:
                scaling = entry["scaling"].get(top)
                text += f" {scaling:.2f}x" if scaling else " ?"
            row.append(text)
        row.append(ratio_text(workload, ns_of))
        row.append(ratio_text(workload, ns_of, loop_ns))
        if with_floor:
            row.append(ratio_text(workload, ns_of, loop_ns, "floor"))
        rows.append(row)

    if top > 1:
        title = (f"single-thread ns/op over the empty loop, and scaling "
                 f"with {top} threads (ideal {top:.2f}x)")
    else:
        title = "single-thread ns/op over the empty loop"
    out = [title, format_table(header, rows)]
    out.append("CPU share of the timed threads (CPU time / threads x wall "
               "time, median over cases): "
               + ", ".join(f"{threads} thread{'s' if threads > 1 else ''} "
                           f"{share:.0%}"
                           for threads, share in cpu_shares.items()))
    if any(share < 0.9 for share in cpu_shares.values()):
        out.append("  below 90%: the threads were waiting (for the GIL, or "
                   "for CPUs other processes held), which caps scaling")

    multi = [count for count in thread_counts if count > 1]
    if len(multi) > 1:
        out += ["", f"scaling with {', '.join(map(str, multi))} threads "
                    f"(ideal {', '.join(map(str, multi))})",
                per_thread_table("scaling", workloads, proxies, cases_by_key,
                                 summary, multi)]
    if multi:
        out += ["", f"CPU efficiency with {', '.join(map(str, multi))} "
                    "threads: CPU time per op with 1 thread / with T threads "
                    "(1.00: no contention; waiting does not count)",
                per_thread_table("cpu_efficiency", workloads, proxies,
                                 cases_by_key, summary, multi)]
    return "\n".join(out)


def per_thread_table(metric: str, workloads: list, proxies: list,
                     cases_by_key: dict, summary: dict,
                     thread_counts: list) -> str:
    """Rows of workloads, cells of one metric at each thread count."""
    rows = []
    for workload in [EMPTY_LOOP] + workloads:
        row = [workload.label]
        for proxy in proxies:
            entry = summary.get((workload.key, proxy.key))
            if not entry:
                row.append(cell_state(workload, proxy, cases_by_key, summary)
                           or "-")
                continue
            row.append(" ".join(f"{entry[metric][count]:.2f}"
                                if count in entry[metric] else "?"
                                for count in thread_counts))
        rows.append(row)
    return format_table(["workload"] + [p.label for p in proxies], rows)


def callgrind_table(workloads: list, proxies: list, cases: list,
                    per_op: dict) -> str:
    cases_by_key = {case.key: case for case in cases}
    header = ["workload"] + [proxy.label for proxy in proxies] + ["TH/local"]

    def number_of(key: tuple):
        value = per_op.get(key)
        return value if isinstance(value, float) else None

    rows = []
    for workload in workloads:
        row = [workload.label]
        for proxy in proxies:
            state = cell_state(workload, proxy, cases_by_key, per_op)
            if state:
                row.append(state)
            elif isinstance(per_op[(workload.key, proxy.key)], str):
                row.append("failed")
            else:
                row.append(f"{per_op[(workload.key, proxy.key)]:.0f}")
        row.append(ratio_text(workload, number_of))
        rows.append(row)
    return ("instructions/op under callgrind, single thread, over the "
            "empty loop\n" + format_table(header, rows))


def print_problems(proxies: list, cases: list, callgrind: dict) -> None:
    notes = [f"{proxy.label}: {proxy.unavailable}" for proxy in proxies
             if proxy.unavailable]
    notes += [f"{case.proxy.label} / {case.workload.label}: {case.error}"
              for case in cases if case.error]
    notes += [f"callgrind {key[1]} / {key[0]}: {value}"
              for key, value in callgrind.items() if isinstance(value, str)]
    if notes:
        print("\nnotes:")
        for note in notes:
            print(f"  {note}")


def write_json(path: Path, env: dict, settings: dict, proxies: list,
               workloads: list, cases: list, timings: dict, summary: dict,
               cpu_shares: dict, callgrind: dict) -> None:
    document = {
        "environment": env,
        "settings": settings,
        "proxies": {p.key: {"label": p.label, "version": p.version,
                            "available": not p.unavailable,
                            "unavailable": p.unavailable}
                    for p in proxies},
        "workloads": {w.key: {"label": w.label, "statement": w.statement}
                      for w in [EMPTY_LOOP] + workloads},
        "errors": {f"{c.workload.key}/{c.proxy.key}": c.error
                   for c in cases if c.error},
        # The exact loop each case ran, for anyone checking a number.
        "sources": {f"{c.workload.key}/{c.proxy.key}": c.source
                    for c in cases},
        "timings": [
            {"workload": workload, "proxy": proxy, "threads": threads,
             "median_wall_ns": timing.median_ns,
             "median_cpu_ns": timing.cpu_median_ns,
             "median_cpu_share": timing.cpu_share,
             "batch_medians_wall_ns": timing.batch_medians_ns,
             "runs_wall_ns": timing.runs_ns}
            for (workload, proxy, threads), timing in sorted(timings.items())
        ],
        "summary": [
            {"workload": workload, "proxy": proxy,
             "ns_per_op_over_empty_loop": entry["ns_per_op"],
             "scaling": {str(k): v for k, v in entry["scaling"].items()},
             "cpu_efficiency": {str(k): v for k, v
                                in entry["cpu_efficiency"].items()}}
            for (workload, proxy), entry in sorted(summary.items())
        ],
        "cpu_share_by_threads": {str(threads): share
                                 for threads, share in cpu_shares.items()},
        "callgrind_instructions_per_op": [
            {"workload": workload, "proxy": proxy, "value": value}
            for (workload, proxy), value in sorted(callgrind.items())
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    import json
    path.write_text(json.dumps(document, indent=1) + "\n")
    print(f"\nJSON: {path}")


def write_plot(path: Path, env: dict, workloads: list, proxies: list,
               cases: list, summary: dict, thread_counts: list,
               cpu_shares: dict) -> None:
    import platform
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        print(f"\nplot skipped: matplotlib is not installed ({exc})")
        return
    top = max(thread_counts)
    cases_by_key = {case.key: case for case in cases}
    shown = [p for p in proxies
             if any((w.key, p.key) in summary for w in workloads)]
    rows = [w for w in workloads
            if any((w.key, p.key) in summary for p in shown)]
    if not rows:
        print("\nplot skipped: nothing was measured")
        return

    figure, (scaling_axis, ns_axis) = plt.subplots(
        2, 1, figsize=(max(8, 1.3 * len(rows) + 3), 9))
    width = 0.8 / len(shown)
    positions = range(len(rows))
    for index, proxy in enumerate(shown):
        offsets = [x - 0.4 + width * (index + 0.5) for x in positions]
        scalings = [summary.get((w.key, proxy.key), {})
                    .get("scaling", {}).get(top, math.nan) for w in rows]
        # A log axis has no room for costs at or below zero (noise).
        nanos = [summary.get((w.key, proxy.key), {})
                 .get("ns_per_op", math.nan) for w in rows]
        nanos = [value if value > 0 else math.nan for value in nanos]
        scaling_axis.bar(offsets, scalings, width, label=proxy.label)
        ns_axis.bar(offsets, nanos, width, label=proxy.label)
        for offset, workload in zip(offsets, rows):
            case = cases_by_key.get((workload.key, proxy.key))
            if case is not None and case.error:
                for axis in (scaling_axis, ns_axis):
                    axis.annotate("error", (offset, 0), rotation=90,
                                  ha="center", va="bottom",
                                  xycoords=("data", "axes fraction"),
                                  fontsize="x-small", color="grey")

    empty = summary.get(("empty", "local"))
    scaling_axis.axhline(top, color="black", linestyle="--", linewidth=0.8,
                         label=f"ideal ({top}x)")
    if empty and top in empty["scaling"]:
        scaling_axis.axhline(empty["scaling"][top], color="grey",
                             linestyle=":", linewidth=1,
                             label="empty loop")
    scaling_axis.axhline(1, color="black", linewidth=0.5)
    scaling_axis.set_ylabel(f"throughput {top} threads / 1 thread")
    share = cpu_shares.get(top)
    scaling_axis.set_title(
        f"Scaling with {top} threads (higher is better)"
        + (f"; the threads ran {share:.0%} of the time" if share else ""))
    ns_axis.set_yscale("log")
    ns_axis.set_ylabel("ns per operation (log scale)")
    ns_axis.set_title("Single-thread cost over the empty loop "
                      "(lower is better)")
    for axis in (scaling_axis, ns_axis):
        axis.set_xticks(list(positions))
        axis.set_xticklabels([w.label for w in rows], rotation=20,
                             ha="right")
        axis.grid(axis="y", alpha=0.3)
    # Outside the axes, so that it never hides a bar.
    scaling_axis.legend(fontsize="small", loc="upper left",
                        bbox_to_anchor=(1.01, 1))
    gil = env["gil_enabled"]
    figure.suptitle(
        f"threadhandle scaling: Python {platform.python_version()}"
        f"{'t' if env['free_threaded_build'] else ''}"
        f" (GIL {'n/a' if gil is None else ('on' if gil else 'off')}), "
        f"{env['usable_cpus']} CPUs, {env['date'][:10]}")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    print(f"plot: {path}")


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def comma_list(text: str) -> list:
    return [part.strip() for part in text.split(",") if part.strip()]


def thread_list(text: str) -> list:
    import argparse
    try:
        counts = sorted({int(part) for part in comma_list(text)})
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}")
    if not counts or counts[0] < 1:
        raise argparse.ArgumentTypeError("thread counts must be >= 1")
    return counts


def parse_args(argv: list | None):
    import argparse
    # The module docstring is the manual, including how to read the table.
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=thread_list, default=[1, 2],
                        metavar="1,2",
                        help="thread counts (default 1,2; 1 is always added)")
    parser.add_argument("--ops", type=int, metavar="N",
                        help="operations per thread per run (default 200000)")
    parser.add_argument("--batches", type=int, metavar="B",
                        help="batches; the result is the median over them "
                             "(default 5; 0 skips the timing)")
    parser.add_argument("--runs", type=int, metavar="R",
                        help="runs of every case per batch, interleaved "
                             "(default 5)")
    parser.add_argument("--workloads", type=comma_list, metavar="A,B",
                        help="workloads to run (default all): getitem, get, "
                             "attr, call, number, contains, setitem, len, "
                             "request, local_handle")
    parser.add_argument("--proxies", type=comma_list, metavar="A,B",
                        help="proxies to run (default all): global, local, "
                             "threadhandle, cereggii, ft_utils")
    parser.add_argument("--json", metavar="PATH",
                        help="JSON output (default benchmarks/results/"
                             "scaling-<python>.json; 'none' skips it)")
    parser.add_argument("--plot", metavar="PATH",
                        help="PNG output (default benchmarks/results/"
                             "scaling-<python>.png; 'none' skips it)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke test: {QUICK_OPS} ops, {QUICK_BATCHES} "
                             f"batches of {QUICK_RUNS} run; default files "
                             "get a -quick suffix")
    parser.add_argument("--callgrind", action="store_true",
                        help="also count instructions/op under valgrind's "
                             "callgrind (single thread)")
    parser.add_argument("--callgrind-ops", type=int, default=20_000,
                        metavar="N",
                        help="operations per callgrind run (default 20000)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the run order shuffle (default 0)")
    args = parser.parse_args(argv)

    defaults = ((QUICK_OPS, QUICK_BATCHES, QUICK_RUNS) if args.quick
                else (200_000, 5, 5))
    for name, default in zip(("ops", "batches", "runs"), defaults):
        if getattr(args, name) is None:
            setattr(args, name, default)
    if args.ops < 1 or args.runs < 1 or args.batches < 0:
        parser.error("--ops and --runs must be >= 1, --batches >= 0")
    if 1 not in args.threads:
        args.threads = [1] + args.threads   # ns/op and scaling need it
    return args


def select(items: list, wanted: list | None, what: str) -> list:
    if wanted is None:
        return items
    known = {item.key: item for item in items}
    unknown = [key for key in wanted if key not in known]
    if unknown:
        sys.exit(f"unknown {what}: {', '.join(unknown)} "
                 f"(choose from {', '.join(known)})")
    return [known[key] for key in wanted]


def output_path(value: str | None, suffix: str, quick: bool) -> Path | None:
    if value is not None:
        return None if value.lower() == "none" else Path(value)
    name = f"scaling-{interpreter_tag()}{'-quick' if quick else ''}{suffix}"
    return RESULTS_DIR / name


def main(argv: list | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--callgrind-child"]:
        # Before argparse: the child's start-up is counted, keep it small.
        return callgrind_child(argv[1])
    args = parse_args(argv)

    all_proxies, local_handle = load_proxies()
    proxies = select(all_proxies, args.proxies, "proxies")
    workloads = all_workloads(local_handle)
    if args.workloads is None:
        workloads = [w for w in workloads
                     if not w.needs_local_handle or local_handle]
    else:
        workloads = select(workloads, args.workloads, "workloads")
        missing = [w.key for w in workloads
                   if w.needs_local_handle and not local_handle]
        if missing:
            sys.exit(f"{', '.join(missing)}: threadhandle.local_handle is "
                     "not available (not installed, or too old)")

    settings = {"threads": args.threads, "ops": args.ops,
                "batches": args.batches, "runs": args.runs,
                "seed": args.seed, "quick": args.quick}
    env = environment()
    print_environment(env, proxies, settings)
    if args.quick:
        print("--quick: a smoke test; its runs are too short for the "
              "numbers to mean anything\n")

    plain_local = next(p for p in all_proxies if p.key == "local")
    cases = [build_case(EMPTY_LOOP, plain_local)]
    for workload in workloads:
        for proxy in proxies:
            allowed = workload.proxies is None or proxy.key in workload.proxies
            if allowed and not proxy.unavailable:
                cases.append(build_case(workload, proxy))

    progress(f"preflight: {len(cases)} cases")
    preflight(cases, args.threads, max(args.ops // 10, 1))

    timings, summary, cpu_shares = {}, {}, {}
    if args.batches:
        timings = measure(cases, args.threads, args.ops, args.batches,
                          args.runs, args.seed)
        summary = summarize(timings, args.threads, args.ops)
        cpu_shares = cpu_share_by_threads(timings)
        print(timing_tables(workloads, proxies, cases, summary,
                            args.threads, cpu_shares))

    callgrind = {}
    if args.callgrind:
        callgrind = measure_callgrind(cases[1:], args.callgrind_ops)
        if callgrind:
            print()
            print(callgrind_table(workloads, proxies, cases, callgrind))

    print_problems(proxies, cases, callgrind)
    settings["callgrind_ops"] = args.callgrind_ops if args.callgrind else None

    json_path = output_path(args.json, ".json", args.quick)
    if json_path:
        write_json(json_path, env, settings, proxies, workloads, cases,
                   timings, summary, cpu_shares, callgrind)
    plot_path = output_path(args.plot, ".png", args.quick)
    if plot_path and summary:
        write_plot(plot_path, env, workloads, proxies, cases, summary,
                   args.threads, cpu_shares)
    return 0


if __name__ == "__main__":
    sys.exit(main())
