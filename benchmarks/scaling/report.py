"""Reporting: the environment, the tables, the notes and the JSON file.

Every cell of every table is made by cell(), which asks why_not_run() (the
one test of whether a workload runs with a proxy) and then the case.  The
ratios (ThreadHandle against an own copy, ...) are made by ratio(), for the
tables and the JSON file alike.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

from .proxies import Proxy, why_not_run
from .workloads import EMPTY_LOOP, Workload

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"


# --------------------------------------------------------------------------
# The interpreter and the machine
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
        "python_version": platform.python_version(),
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
        if proxy.loader is not None:
            # A bare version number, or where it came from ("built from").
            state = proxy.unavailable or (
                proxy.version if " " in proxy.version
                else f"version {proxy.version or '?'}")
            print(f"  {proxy.label}: {state}")
    print()


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------

# After the number of a case that has a note (printed under "notes:").
NOTE_MARK = " *"

# The ratios: (header, JSON name, proxy, proxy it is divided by, measure).
# "cost": single-thread time per whole loop iteration (the empty loop on
# both sides); "scaling": scaling with the most threads.
RATIOS = (
    ("TH/own copy", "threadhandle_over_own_copy", "threadhandle", "own",
     "cost"),
    ("floor/own copy", "floor_over_own_copy", "floor", "own", "cost"),
    ("TH/local", "threadhandle_over_local", "threadhandle", "local", "cost"),
    ("TH scaling/own copy scaling", "threadhandle_scaling_over_own_copy",
     "threadhandle", "own", "scaling"),
)


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


def cell(workload: Workload, proxy: Proxy, cases: dict,
         render: Callable[[tuple], str | None]) -> str:
    """The text of one table cell: render((workload key, proxy key)), or
    why there is no number.

    '-' (the workload does not run with this proxy), 'not installed' and
    the like (the proxy could not be loaded), 'error' (the operation raised;
    the notes say why), '?' (the case ran but has no such value).  A number
    whose case has notes (deferred refcount not applied, ...) is marked.
    """
    why = why_not_run(workload, proxy)
    if why:
        return why
    case = cases.get((workload.key, proxy.key))
    if case is None:
        return "?"
    if case.error:
        return "error"
    text = render(case.key)
    if text is None:
        return "?"
    return text + NOTE_MARK if case.notes else text


def table(title: str, workloads: list, proxies: list, cases: dict,
          render: Callable[[tuple], str | None],
          extra: tuple = ()) -> str:
    """A titled table: a row per workload, a cell per proxy, then the
    `extra` columns, each (header, function of the workload)."""
    header = (["workload"] + [proxy.label for proxy in proxies]
              + [name for name, _ in extra])
    rows = [[workload.label]
            + [cell(workload, proxy, cases, render) for proxy in proxies]
            + [column(workload) for _, column in extra]
            for workload in workloads]
    marked = any(str(text).endswith(NOTE_MARK) for row in rows
                 for text in row)
    return (title + "\n" + format_table(header, rows)
            + (f"\n{NOTE_MARK.strip()}: see the notes below" if marked
               else ""))


def ratio_keys(workload: Workload, of: str, to: str) -> tuple | None:
    """The two (workload, proxy) keys of ratio `of`/`to` in this row.

    In a row that is itself a way of reaching the object (local_handle),
    `of` is the row's cell in column `to`, and `to` that column's cell in
    the row it compares with (d[5]).
    """
    if not workload.compare_with:
        return (workload.key, of), (workload.key, to)
    if of != "threadhandle":
        return None
    return (workload.key, to), (workload.compare_with, to)


def ratio(workload: Workload, of: str, to: str, values: dict,
          loop: float = 0.0) -> float | None:
    """Proxy `of`'s value over proxy `to`'s in this row, from `values` (by
    key); None where either is missing.  For costs (per op over the empty
    loop) `loop` is the empty loop's cost, added to both sides: the ratio of
    whole loop iterations, as a program doing this in a loop sees it."""
    keys = ratio_keys(workload, of, to)
    if keys is None:
        return None
    numerator, denominator = (values.get(key) for key in keys)
    if (not isinstance(numerator, float) or not isinstance(denominator, float)
            or denominator + loop <= 0):
        return None
    return (numerator + loop) / (denominator + loop)


def ratios(workload: Workload, summary: dict, top: int) -> dict:
    """{JSON name: value or None} of every ratio in RATIOS for one row."""
    values = {"cost": {key: entry["ns_per_op"]
                       for key, entry in summary.items()},
              "scaling": {key: entry["scaling"].get(top)
                          for key, entry in summary.items()}}
    loop = values["cost"].get((EMPTY_LOOP.key, "local"), 0.0)
    return {name: ratio(workload, of, to, values[measure],
                        loop if measure == "cost" else 0.0)
            for _, name, of, to, measure in RATIOS}


def ratio_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def timing_tables(workloads: list, proxies: list, cases: dict,
                  summary: dict, thread_counts: list,
                  cpu_shares: dict) -> str:
    top = max(thread_counts)
    rows = [EMPTY_LOOP] + workloads

    def ns_and_scaling(key: tuple) -> str | None:
        entry = summary.get(key)
        if entry is None:
            return None
        text = f"{entry['ns_per_op']:.1f} ns"
        if top > 1:
            scaling = entry["scaling"].get(top)
            text += f" {scaling:.2f}x" if scaling else " ?"
        return text

    if top > 1:
        title = (f"single-thread ns/op over the empty loop, and scaling "
                 f"with {top} threads (ideal {top:.2f}x)")
    else:
        title = "single-thread ns/op over the empty loop"
    out = [table(title, rows, proxies, cases, ns_and_scaling)]
    out.append("CPU share of the timed threads (CPU time / threads x wall "
               "time, median over cases): "
               + ", ".join(f"{threads} thread{'s' if threads > 1 else ''} "
                           f"{share:.0%}"
                           for threads, share in cpu_shares.items()))
    if any(share < 0.9 for share in cpu_shares.values()):
        out.append("  below 90%: the threads were waiting (for the GIL, or "
                   "for CPUs other processes held), which caps scaling")
    out += ["", ratio_table(workloads, proxies, summary, top)]

    multi = [count for count in thread_counts if count > 1]
    counts = ", ".join(map(str, multi))
    titles = {"scaling": f"scaling with {counts} threads (ideal {counts})",
              "cpu_efficiency": f"CPU efficiency with {counts} threads: CPU "
                                "time per op with 1 thread / with T threads "
                                "(1.00: no contention; waiting does not "
                                "count)"}
    for metric, title in titles.items():
        if len(multi) > 1 or (multi and metric == "cpu_efficiency"):
            out += ["", per_thread_table(title, metric, rows, proxies, cases,
                                         summary, multi)]
    return "\n".join(out)


def ratio_table(workloads: list, proxies: list, summary: dict,
                top: int) -> str:
    """ThreadHandle (and the slot floor) against the ideal, an own copy of
    the object, and against plain local, a row per workload."""
    selected = {proxy.key for proxy in proxies}
    columns = [(header, name) for header, name, of, to, measure in RATIOS
               if {of, to} <= selected and (measure == "cost" or top > 1)]
    if not columns:
        return "(no ratios: their columns were not run)"
    rows = []
    for workload in workloads:
        values = ratios(workload, summary, top)
        rows.append([workload.label]
                    + [ratio_text(values[name]) for _, name in columns])
    return ("ratios: cost of a whole loop iteration on one thread (the "
            "empty loop included on both sides)"
            + (f", and scaling with {top} threads" if top > 1 else "")
            + "\n"
            + format_table(["workload"] + [header for header, _ in columns],
                           rows))


def per_thread_table(title: str, metric: str, workloads: list,
                     proxies: list, cases: dict, summary: dict,
                     thread_counts: list) -> str:
    """Rows of workloads, cells of one metric at each thread count."""
    def at_each_count(key: tuple) -> str | None:
        entry = summary.get(key)
        if entry is None:
            return None
        return " ".join(f"{entry[metric][count]:.2f}"
                        if count in entry[metric] else "?"
                        for count in thread_counts)
    return table(title, workloads, proxies, cases, at_each_count)


def callgrind_table(workloads: list, proxies: list, cases: dict,
                    per_op: dict) -> str:
    def instructions(key: tuple) -> str | None:
        value = per_op.get(key)
        if value is None:
            return None
        return "failed" if isinstance(value, str) else f"{value:.0f}"

    loop = per_op.get((EMPTY_LOOP.key, "local"), 0.0)
    extra = tuple((header, lambda w, of=of, to=to: ratio_text(
                       ratio(w, of, to, per_op, loop)))
                  for header, _, of, to, measure in RATIOS
                  if measure == "cost")
    return table("instructions/op under callgrind, single thread, over the "
                 "empty loop (the empty loop: over nothing); ratios of "
                 "whole loop iterations",
                 [EMPTY_LOOP] + workloads, proxies, cases, instructions,
                 extra)


def print_problems(proxies: list, cases: dict, callgrind: dict) -> None:
    notes = [f"{proxy.label}: {proxy.unavailable}" for proxy in proxies
             if proxy.unavailable]
    notes += [f"{case.proxy.label} / {case.workload.label}: {case.error}"
              for case in cases.values() if case.error]
    notes += [f"{NOTE_MARK.strip()} {case.proxy.label} / "
              f"{case.workload.label}: {note}"
              for case in cases.values() for note in case.notes]
    notes += [f"callgrind {key[1]} / {key[0]}: {value}"
              for key, value in callgrind.items() if isinstance(value, str)]
    if notes:
        print("\nnotes:")
        for note in notes:
            print(f"  {note}")


# --------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------

def write_json(path: Path, env: dict, settings: dict, proxies: list,
               workloads: list, cases: dict, timings: dict, summary: dict,
               cpu_shares: dict, callgrind: dict,
               verdicts: dict | None = None) -> None:
    document = {
        "environment": env,
        "settings": settings,
        "proxies": {p.key: {"label": p.label, "version": p.version,
                            "available": not p.unavailable,
                            "unavailable": p.unavailable}
                    for p in proxies},
        "workloads": {w.key: {"label": w.label, "statement": w.statement}
                      for w in [EMPTY_LOOP] + workloads},
        # What every cell of the first table is: "measured", "error", or
        # why_not_run()'s reason ('-', 'not installed', ...).
        "cells": {f"{w.key}/{p.key}": cell(
                      w, p, cases,
                      lambda key: "measured" if key in summary else None
                  ).removesuffix(NOTE_MARK)
                  for w in workloads for p in proxies},
        "errors": {f"{key[0]}/{key[1]}": c.error
                   for key, c in cases.items() if c.error},
        "notes": {f"{key[0]}/{key[1]}": c.notes
                  for key, c in cases.items() if c.notes},
        # Per workload and object: what enable_deferred_refcount returned
        # in the deferred column (False also where it was not called).
        "deferred_refcount": {key[0]: c.deferred
                              for key, c in cases.items() if c.deferred},
        # The exact loop each case ran, for anyone checking a number.
        "sources": {f"{key[0]}/{key[1]}": c.source
                    for key, c in cases.items()},
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
        "ratios": {w.key: ratios(w, summary, max(settings["threads"]))
                   for w in workloads},
        "cpu_share_by_threads": {str(threads): share
                                 for threads, share in cpu_shares.items()},
        "callgrind_instructions_per_op": [
            {"workload": workload, "proxy": proxy, "value": value}
            for (workload, proxy), value in sorted(callgrind.items())
        ],
        # Per workload: the verdict line printed under the tables.
        "verdicts": verdicts or {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    import json
    path.write_text(json.dumps(document, indent=1) + "\n")
    print(f"\nJSON: {path}")


def output_path(value: str | None, suffix: str, variant: str,
                prefix: str = "scaling") -> Path | None:
    """--json/--plot's value as a path; None for 'none'; by default a file
    in benchmarks/results/ named after the run ("headline", "scaling" for
    the full table), the interpreter and the variant of the run ("",
    "-quick", "-partial")."""
    if value is not None:
        return None if value.lower() == "none" else Path(value)
    return RESULTS_DIR / f"{prefix}-{interpreter_tag()}{variant}{suffix}"
