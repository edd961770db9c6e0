"""The headline run, what `make bench` prints unless asked for --full: the
rows that show what the package is for, each with the columns that apply
to it, and a verdict per row.

Each row is run with the plain global (what code does without the
package), the own copy (nothing shared: the ideal) and the remedies that
reach that kind of object.  The verdict reads each column against the own
copy of the same run.
"""

from __future__ import annotations

import dataclasses

# Below this share of the own copy's scaling a column contends, as for the
# finder's ground truth.
from .groundtruth import CONTENDED_BELOW
from .workloads import EMPTY_LOOP, Workload

# The remedies: what a verdict reads (in this order).
REMEDIES = ("threadhandle", "deferred", "immortal")
GC_OBJECT = ("global", "deferred", "own", "threadhandle")
# A float, which the GC does not track (deferred reference counting
# refuses it), or a float read from a shared instance (no handle keeps its
# count off): immortality is the remedy there.
VALUE = ("global", "immortal", "own", "threadhandle")

# Row -> its columns, in the order of the table.  service.table[5] is the
# README's headline; d[5] is a module global (which 3.15 defers by
# itself), the next two reach the same dict otherwise.
HEADLINE = {
    "service_attr": GC_OBJECT,
    "getitem": GC_OBJECT,
    "argument": GC_OBJECT,
    "closure": GC_OBJECT,
    "method": GC_OBJECT,
    "model_attr": VALUE,
    "number": VALUE,
}

# The runs of the headline: a few more of each case than the full table
# has (5 batches of 5), and still 1 to 1.5 minutes on 2 cores (2 s per run
# of the 58 cases on a busy machine, 3 s on a very busy one).
BATCHES = 5
RUNS = 6


def headline_workloads(workloads: list) -> list:
    """The headline rows, in HEADLINE's order, each narrowed to its
    columns (a cell outside them reads "-", as for any workload)."""
    by_key = {workload.key: workload for workload in workloads}
    return [dataclasses.replace(by_key[key], proxies=columns)
            for key, columns in HEADLINE.items() if key in by_key]


def headline_proxy_keys() -> list:
    """Every column some headline row has, in no particular order."""
    return sorted({key for columns in HEADLINE.values() for key in columns})


def verdict(workload: Workload, proxies: list, summary: dict,
            top: int) -> str:
    """One sentence: whether the plain global contends, and how much of
    the own copy's scaling each remedy recovers, at what cost."""
    def scaling(proxy_key: str) -> float | None:
        entry = summary.get((workload.key, proxy_key))
        return entry["scaling"].get(top) if entry else None

    def cost(proxy_key: str) -> float | None:
        # A whole loop iteration on one thread, the empty loop included.
        loop = summary.get((EMPTY_LOOP.key, "local"), {}).get("ns_per_op", 0)
        entry = summary.get((workload.key, proxy_key))
        return entry["ns_per_op"] + loop if entry else None

    own_scaling, own_cost = scaling("own"), cost("own")
    if not own_scaling or not own_cost:
        return "no verdict: the own copy was not measured"
    labels = {proxy.key: proxy.label for proxy in proxies}
    parts = []
    plain = scaling("global")
    contends = plain is not None and plain / own_scaling < CONTENDED_BELOW
    if plain is not None:
        parts.append(f"plain global {plain / own_scaling:.0%} of the own "
                     "copy's scaling: "
                     + ("contends" if contends else "does not contend here"))
    for key in REMEDIES:
        mine, mine_cost = scaling(key), cost(key)
        if key in labels and mine is not None and mine_cost is not None:
            parts.append(f"{labels[key]} "
                         f"{'recovers' if contends else 'reaches'} "
                         f"{mine / own_scaling:.0%} at "
                         f"{mine_cost / own_cost:.2f}x the cost")
    return "; ".join(parts)


def verdicts(workloads: list, proxies: list, summary: dict,
             top: int) -> dict:
    """{workload key: its verdict} for the rows measured with `top`
    threads (none with one thread: there is no scaling to read)."""
    if top < 2:
        return {}
    return {workload.key: verdict(workload, proxies, summary, top)
            for workload in workloads}


def verdict_lines(workloads: list, found: dict, top: int,
                  cpu_share: float | None = None) -> str:
    """The verdicts under a title; `cpu_share` is the timed threads' share
    of CPU time with `top` threads."""
    if not found:
        return ""
    width = max(len(workload.label) for workload in workloads)
    lines = [f"verdict, {top} threads (a share of the own copy's scaling, "
             "the own copy being the ideal: nothing shared; the cost of a "
             "loop iteration on one thread over the own copy's)"]
    if cpu_share is not None and cpu_share < 0.9:
        lines.append(f"  the threads ran {cpu_share:.0%} of the time: "
                     "other processes held the CPUs, and these verdicts "
                     "say more about them than about the columns; run "
                     "again on a quiet machine")
    lines += [f"  {workload.label.ljust(width)}  {found[workload.key]}"
              for workload in workloads if workload.key in found]
    return "\n".join(lines)
