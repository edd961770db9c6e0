"""Thread-scaling benchmark: ThreadHandle against plain objects and its peers.

By default the headline: the rows that show what the package is for, each
with the plain global, the own copy and the remedies that apply to it, and
a verdict per row (a few minutes).  --full runs the full table: every
workload against every proxy, the peers and the slot floor included.

Every case is one *workload* (an operation on one shared object, such as
``d[5]``) reached through one *proxy* (how the loop gets at the object).  The
shared object is made once, in the main thread.  For a run with T threads,
each thread makes its own proxy of the object, waits on a barrier, then runs
the operation N times in a loop.  The run's time is the wall time from the
barrier's release to the end of the last thread.

Proxies (columns; --proxies takes the keys):
{proxies}

"own copy" is the ideal, nothing shared: each thread calls the workload's
factory itself (so an instance keeps its attributes inline, like the shared
one) and uses its objects from local variables; an object the factory
cannot copy (math.sqrt) is marked.  "global, deferred" reads the shared
objects from module globals after threadhandle.enable_deferred_refcount(obj)
was called on each, once, in the main thread; where it returned False (a
GIL build or 3.13t, an object the GC does not track) the cell is marked and
the note says why; without that function the column is "not available".
"global, immortal" does the same with threadhandle.immortalize(obj), called
on each object and on the values it holds directly (its attributes, a
dict's values): such objects are never freed, so each case makes new ones.
Own copy, not plain local, is the reference: a plain local shares the
object, and whether its loads take a new reference (which contends)
depends on the interpreter (always on 3.13t) and on the bytecode compiler
(3.14t borrows them, LOAD_FAST_BORROW, in these loops).

The slot floor (benchmarks/floor_proxy.c, compiled on demand) is not usable
as a proxy: in each slot it loads the object's own slot and calls it, with
no checks and no fallbacks.  Its cost over own copy is what CPython's slot
dispatch costs, the floor for every proxy.

Workloads (rows; --workloads takes the keys):
{workloads}

The float operands of m.predict(1.0), f(4.0) and f * 2.0 are made in each
thread: a float constant is shared by every thread running the code and is
not immortal, so it would contend whatever the proxy.  m is an instance of a
user class, Model, with an attribute w (a float of the instance's own,
float("2.0"): reading it from a shared instance takes a reference to that
float, which no proxy can avoid) and a method predict(x) that returns x + x:
a method written in Python gets a frame whose self is a new reference to
the object, through any proxy of a shared object.  (Model has no float
constants: a constant is shared by all instances and threads, so even own
copies would contend on it.)  "request" is
one request of a small web-style router: pattern.match(path) with a shared
compiled regular expression, then settings["timeout"] and
settings.get("retries", 5) on a shared dict.  (Each match object keeps a
reference to the real pattern, taken inside the re module, which no proxy
can avoid.)  "lookup" is the same request's bookkeeping without the regular
expression: two reads of the settings dict, a frozenset membership test and
a routes-dict lookup, all shared.  ``local_handle(d)[5]`` (only when the
installed threadhandle has local_handle) asks for the calling thread's
handle at every use: its "plain global" column reads ``d`` and
``local_handle`` from module globals (the usual way to write it), its "plain
local" column from local variables, its "own copy" column makes d in the
thread.  "p.x" reads a float field of a dataclass instance (a float of its
own).  The numpy rows (left out, with a note, when numpy is not installed)
share w, an 8x8 float array, or a, a float array of 100 elements; each
thread makes its own operand x = np.ones(8).  memoryview(a) is what a
Cython typed memoryview argument (double[:]) does at every call.  Three
rows read the d[5] of the first row other than from a module global (which
CPython 3.15 defers by itself): lookup(d), a module-level function that
gets d as its argument; lookup_in_cell(), a closure each thread makes over
its column's d (the cell the thread's, the dict shared); service.table[5],
d an attribute of a shared object, whose ThreadHandle column is a handle of
the table, held by a service of the thread's own.  "empty
loop" is the loop with nothing in it: the cost every other
row has subtracted.

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
  A second table, "ratios", reads ThreadHandle against the own copy of the
  same run:
  * TH/own copy: ThreadHandle's single-thread time per loop iteration
    divided by own copy's, the empty loop included on both sides (whole
    loop iterations, as a program that does this operation in a loop sees
    them); the price of the proxy.  floor/own copy: the same for the slot
    floor; TH/local: against plain local.  In the local_handle row each is
    local_handle(d)[5] against d[5] in the same column (own copy, plain
    local).
  * TH scaling/own copy scaling: ThreadHandle's scaling divided by own
    copy's; 1.00 is as good as not sharing at all.
  The callgrind table has the same cost ratios, from instruction counts.
  The verdicts, a line per row: the plain global's scaling as a share of
  the own copy's (below 80%: it contends), then each remedy's
  (ThreadHandle, global deferred, global immortal: "recovers" where the
  plain global contends) and its cost of a loop iteration on one thread
  against the own copy's.
  With more than two thread counts, another table gives the scaling at each.
  "not installed" means the proxy's package does not import, "not
  available" that it has no such function; "error" means the operation
  raised through that proxy (the reason is printed below); "-" that the
  workload does not run with that proxy; a number marked "*" has a note
  below.

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

Output: the table on stdout, progress with an estimate of the time left on
stderr, all raw medians in JSON and a PNG plot (scaling and ns/op per
workload and proxy) under benchmarks/results/ unless --json/--plot say
otherwise ("none" skips one).  Those default files are
headline-<python>.json/.png for the headline and scaling-<python>.json/.png
for a full run (every workload and proxy: the plot docs/benchmark.md
shows), both with threads 1,2 and timed; a -quick suffix for --quick and
-partial for any other run (--workloads or --proxies, which choose from the
full table, other thread counts, --batches 0), so that such a run never
replaces them.

Examples:
  python -P benchmarks/scaling                 # the headline
  python -P benchmarks/scaling --full          # the full table
  python -P benchmarks/scaling --quick --full  # a smoke test of every case
  python -P benchmarks/scaling --threads 1,2,4 --workloads getitem,request
  python -P benchmarks/scaling --callgrind --batches 0
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a folder (python -P benchmarks/scaling), which puts the folder
    # itself first on sys.path: put its parent there instead, so that the
    # modules are imported as the package they are.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

# Modules only the parent process needs (argparse, json, subprocess,
# matplotlib, ...) are imported where they are used: a --callgrind child runs
# this package under valgrind, where every import adds seconds of start-up.
from scaling import headline, report  # noqa: E402
from scaling.proxies import PROXIES, load_proxies, why_not_run  # noqa: E402
from scaling.runner import (  # noqa: E402
    build_case,
    callgrind_child,
    cpu_share_by_threads,
    measure,
    measure_callgrind,
    preflight,
    progress,
    summarize,
)
from scaling.workloads import (  # noqa: E402
    EMPTY_LOOP,
    all_workloads,
    missing_requirement,
)

QUICK_OPS = 2_000
QUICK_BATCHES = 2
QUICK_RUNS = 1


def key_list(items: list) -> str:
    """One line per registered item: its key and its description."""
    width = max(len(item.key) for item in items)
    return "\n".join(f"  {item.key.ljust(width)}  {item.description}"
                     for item in items)


def manual() -> str:
    """The module docstring with the registered proxies and workloads."""
    return __doc__.format(proxies=key_list(PROXIES),
                          workloads=key_list(all_workloads(None)))


def comma_list(text: str) -> list:
    return [part.strip() for part in text.split(",") if part.strip()]


def thread_list(text: str) -> list:
    import argparse
    try:
        counts = sorted({int(part) for part in comma_list(text)})
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a list of integers: {text!r}") from None
    if not counts or counts[0] < 1:
        raise argparse.ArgumentTypeError("thread counts must be >= 1")
    return counts


def parse_args(argv: list | None):
    import argparse
    # The manual, including how to read the table, is the description.
    parser = argparse.ArgumentParser(
        prog="python -P benchmarks/scaling", description=manual(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=thread_list, default=[1, 2],
                        metavar="1,2",
                        help="thread counts (default 1,2; 1 is always added)")
    parser.add_argument("--full", action="store_true",
                        help="the full table: every workload against every "
                             "proxy (default: the headline rows)")
    parser.add_argument("--ops", type=int, metavar="N",
                        help="operations per thread per run (default 200000)")
    parser.add_argument("--batches", type=int, metavar="B",
                        help="batches; the result is the median over them "
                             f"(default {headline.BATCHES}, --full 5; 0 "
                             "skips the timing)")
    parser.add_argument("--runs", type=int, metavar="R",
                        help="runs of every case per batch, interleaved "
                             f"(default {headline.RUNS}, --full 5)")
    for rows_or_columns in ("workloads", "proxies"):
        parser.add_argument(f"--{rows_or_columns}", type=comma_list,
                            metavar="A,B",
                            help=f"{rows_or_columns} of the full table to "
                                 "run (default all; the keys are listed "
                                 "above)")
    parser.add_argument("--json", metavar="PATH",
                        help="JSON output (default benchmarks/results/"
                             "headline|scaling-<python>[-quick|-partial]"
                             ".json; 'none' skips it)")
    parser.add_argument("--plot", metavar="PATH",
                        help="PNG output (default benchmarks/results/"
                             "headline|scaling-<python>[-quick|-partial]"
                             ".png; 'none' skips it)")
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
    parser.add_argument("--find-contention", action="store_true",
                        help="also run threadhandle.contention's finder "
                             "during a 2-thread run of every case and print "
                             "whether it named the known cause (free-"
                             "threaded builds; see groundtruth.py)")
    parser.add_argument("--find-seconds", type=float, default=1.5,
                        metavar="S",
                        help="length of each --find-contention run "
                             "(default 1.5)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the run order shuffle (default 0)")
    args = parser.parse_args(argv)

    if args.quick:
        defaults = (QUICK_OPS, QUICK_BATCHES, QUICK_RUNS)
    elif is_headline(args):
        defaults = (200_000, headline.BATCHES, headline.RUNS)
    else:
        defaults = (200_000, 5, 5)
    for name, default in zip(("ops", "batches", "runs"), defaults):
        if getattr(args, name) is None:
            setattr(args, name, default)
    if args.ops < 1 or args.runs < 1 or args.batches < 0:
        parser.error("--ops and --runs must be >= 1, --batches >= 0")
    if not args.find_seconds > 0:
        parser.error("--find-seconds must be > 0")
    if 1 not in args.threads:
        args.threads = [1] + args.threads   # ns/op and scaling need it
    return args


def is_headline(args) -> bool:
    """Whether this run is the headline: neither --full nor a choice of
    workloads or proxies (which choose from the full table)."""
    return not (args.full or args.workloads is not None
                or args.proxies is not None)


def output_prefix(args) -> str:
    """The name of the default output files: "headline" or "scaling"."""
    return "headline" if is_headline(args) else "scaling"


def output_variant(args) -> str:
    """The suffix of the default output files.  Only the headline and the
    full run (every workload and proxy), with 1 and 2 threads and timed,
    write the files docs/benchmark.md shows; a --quick or a partial run
    writes files of its own."""
    if args.quick:
        return "-quick"
    if (args.workloads is not None or args.proxies is not None
            or args.threads != [1, 2] or args.batches == 0):
        return "-partial"
    return ""


def select(items: list, wanted: list | None, what: str) -> list:
    if wanted is None:
        return items
    known = {item.key: item for item in items}
    unknown = [key for key in wanted if key not in known]
    if unknown:
        sys.exit(f"unknown {what}: {', '.join(unknown)} "
                 f"(choose from {', '.join(known)})")
    return [known[key] for key in wanted]


def rows_and_columns(args) -> tuple:
    """(every proxy, the columns of this run, its rows)."""
    if is_headline(args):
        # Only the columns the headline has are loaded: no peers to import,
        # no slot floor to build.
        keys = headline.headline_proxy_keys()
        all_proxies, local_handle = load_proxies(tuple(keys),
                                                 find_versions=True)
        return (all_proxies,
                [proxy for proxy in all_proxies if proxy.key in keys],
                headline.headline_workloads(all_workloads(local_handle)))
    all_proxies, local_handle = load_proxies()
    proxies = select(all_proxies, args.proxies, "proxies")
    workloads = all_workloads(local_handle)
    if args.workloads is None:
        return all_proxies, proxies, [
            w for w in workloads if not w.needs_local_handle or local_handle]
    workloads = select(workloads, args.workloads, "workloads")
    missing = [w.key for w in workloads
               if w.needs_local_handle and not local_handle]
    if missing:
        sys.exit(f"{', '.join(missing)}: threadhandle.local_handle is "
                 "not available (not installed, or too old)")
    return all_proxies, proxies, workloads


def main(argv: list | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--callgrind-child"]:
        # Before argparse: the child's start-up is counted, keep it small.
        return callgrind_child(argv[1])
    args = parse_args(argv)

    all_proxies, proxies, workloads = rows_and_columns(args)

    # Rows whose module (numpy) is missing are left out, with a note.
    left_out = [(w, missing_requirement(w)) for w in workloads]
    left_out = [(w, why) for w, why in left_out if why]
    workloads = [w for w in workloads if w not in [w for w, _ in left_out]]

    settings = {"threads": args.threads, "ops": args.ops,
                "batches": args.batches, "runs": args.runs,
                "seed": args.seed, "quick": args.quick,
                "headline": is_headline(args)}
    env = report.environment()
    report.print_environment(env, proxies, settings)
    if args.quick:
        print("--quick: a smoke test; its runs are too short for the "
              "numbers to mean anything\n")
    for workload, why in left_out:
        print(f"left out: {workload.label} ({why})")
    if left_out:
        print()

    plain_local = next(p for p in all_proxies if p.key == "local")
    cases = [build_case(EMPTY_LOOP, plain_local)]
    cases += [build_case(workload, proxy) for workload in workloads
              for proxy in proxies
              if not why_not_run(workload, proxy)]
    progress(f"preflight: {len(cases)} cases")
    preflight(cases, args.threads, max(args.ops // 10, 1))
    by_key = {case.key: case for case in cases}

    timings, summary, cpu_shares, verdicts = {}, {}, {}, {}
    if args.batches:
        timings = measure(cases, args.threads, args.ops, args.batches,
                          args.runs, args.seed)
        summary = summarize(timings, args.threads, args.ops)
        cpu_shares = cpu_share_by_threads(timings)
        print(report.timing_tables(workloads, proxies, by_key, summary,
                                   args.threads, cpu_shares))
        verdicts = headline.verdicts(workloads, proxies, summary,
                                     max(args.threads))
        if verdicts:
            print()
            print(headline.verdict_lines(
                workloads, verdicts, max(args.threads),
                cpu_shares.get(max(args.threads))))

    callgrind = {}
    if args.callgrind:
        callgrind = measure_callgrind(cases, args.callgrind_ops)
        if callgrind:
            print()
            print(report.callgrind_table(workloads, proxies, by_key,
                                         callgrind))

    if args.find_contention:
        from scaling.groundtruth import find_contention
        try:
            import threadhandle.contention as finder
            finder.Finder(objects=()).start().stop()
        except Exception as exc:  # not installed, a GIL build, ...
            progress(f"--find-contention: skipped ({exc})")
        else:
            print()
            print(find_contention(cases, workloads, proxies, summary,
                                  args.find_seconds))

    report.print_problems(proxies, by_key, callgrind)
    settings["callgrind_ops"] = args.callgrind_ops if args.callgrind else None

    variant, prefix = output_variant(args), output_prefix(args)
    json_path = report.output_path(args.json, ".json", variant, prefix)
    if json_path:
        report.write_json(json_path, env, settings, proxies, workloads,
                          by_key, timings, summary, cpu_shares, callgrind,
                          verdicts)
    plot_path = report.output_path(args.plot, ".png", variant, prefix)
    if plot_path and summary:
        from scaling.plot import write_plot
        write_plot(plot_path, env, workloads, proxies, by_key, summary,
                   args.threads, cpu_shares)
    return 0


if __name__ == "__main__":
    sys.exit(main())
