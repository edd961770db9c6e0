"""The PNG plot: scaling and single-thread ns/op per workload and proxy."""

from __future__ import annotations

import math
from pathlib import Path

from .report import cell
from .workloads import EMPTY_LOOP


def write_plot(path: Path, env: dict, workloads: list, proxies: list,
               cases: dict, summary: dict, thread_counts: list,
               cpu_shares: dict) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        print(f"\nplot skipped: matplotlib is not installed ({exc})")
        return
    top = max(thread_counts)
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
        entries = [summary.get((w.key, proxy.key), {}) for w in rows]
        scalings = [entry.get("scaling", {}).get(top, math.nan)
                    for entry in entries]
        # A log axis has no room for costs at or below zero (noise).
        nanos = [entry.get("ns_per_op", math.nan) for entry in entries]
        nanos = [value if value > 0 else math.nan for value in nanos]
        scaling_axis.bar(offsets, scalings, width, label=proxy.label)
        ns_axis.bar(offsets, nanos, width, label=proxy.label)
        for offset, workload in zip(offsets, rows):
            # What the table shows where there is no bar ("error", ...).
            why = cell(workload, proxy, cases,
                       lambda key: "" if key in summary else None)
            if why and why != "-":
                for axis in (scaling_axis, ns_axis):
                    axis.annotate(why, (offset, 0), rotation=90,
                                  ha="center", va="bottom",
                                  xycoords=("data", "axes fraction"),
                                  fontsize="x-small", color="grey")

    empty = summary.get((EMPTY_LOOP.key, "local"))
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
        f"threadhandle scaling: Python {env['python_version']}"
        f"{'t' if env['free_threaded_build'] else ''}"
        f" (GIL {'n/a' if gil is None else ('on' if gil else 'off')}), "
        f"{env['usable_cpus']} CPUs, {env['date'][:10]}")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    print(f"plot: {path}")
