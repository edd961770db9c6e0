"""--find-contention: the contention finder (threadhandle.contention) on
ground truth.  Each case (a row's workload in a column) knows which object
its threads share: the finder runs during one 2-thread run of every case,
and the table says, cell by cell, whether its report was right:

* a cell that scales below 0.8 of the own copy's scaling (in this run's
  timing) is right when the report's first entry is the known cause: one of
  the case's shared objects; for m.w also the float value of the shared
  instance's w (the value every reader counts, and the one cause left once
  m itself no longer contends); for l[5] = 1 the list, whatever the
  cause (its writers' waits are short enough to be spent spinning, which
  the finder does not see: it may show only the list's refcount);
* a cell that scales like the own copy (0.8 of it or more) is right when
  no entry is above the report's threshold.

Without timing (--batches 0) the cells only say what the finder named.
"""

from __future__ import annotations

from .runner import progress, run_once
from .workloads import EMPTY_LOOP

CONTENDED_BELOW = 0.8
# Cases where a value read from a shared object is a known cause too.
VALUE_CAUSE = {"model_attr": ("m", "w"), "dataclass_attr": ("p", "x")}


def known_causes(case) -> set:
    """id()s of the objects that may be the report's first entry."""
    shared = case.shared
    causes = {id(obj) for name, obj in shared.items()
              if name != "local_handle"}
    if case.workload.key in VALUE_CAUSE:
        name, attribute = VALUE_CAUSE[case.workload.key]
        causes.add(id(getattr(shared[name], attribute)))
    return causes


def ops_for(case, seconds: float) -> int:
    """Operations per thread for a 2-thread run of about `seconds`."""
    ops = 2_000
    while True:
        wall_ns, _ = run_once(case, 2, ops)
        if wall_ns > 50_000_000 or ops > 50_000_000:
            return max(int(ops * seconds * 1e9 / max(wall_ns, 1)), 1)
        ops *= 4


# Sampling starts this long after the threads and ends this long before
# them: starting and ending threads move counts (the lock type, the
# thread's state) that are no part of the workload.
MARGIN = 0.3


def sample_case(case, seconds: float):
    """The finder's report over the middle of one 2-thread run."""
    import threading
    import time
    from threadhandle.contention import _OWN_THREADS, Finder
    ops = ops_for(case, seconds + 2 * MARGIN)
    finder = Finder(top=3)

    def sample():
        # Counted as one of the finder's own threads: it is not looked at.
        _OWN_THREADS.add(threading.get_ident())
        try:
            time.sleep(MARGIN)
            finder.start()
            time.sleep(seconds)
            finder.stop()
        finally:
            _OWN_THREADS.discard(threading.get_ident())

    sampler = threading.Thread(target=sample)
    sampler.start()
    run_once(case, 2, ops)
    sampler.join()
    return finder.report


def judge(case, report, contended: bool | None) -> tuple:
    """(verdict, text): verdict True/False, or None without timing."""
    top = report.top(3)
    first = top[0] if top else None
    named = (f"{first.type} {first.refcount_share:.0%}"
             + (f" lock {first.lock_share:.0%}" if first.lock_held else "")
             if first else "nothing")
    if contended is None:
        return None, named
    if not contended:
        return first is None, named
    if first is None:
        return False, "nothing named"
    return first.id in known_causes(case), named


def find_contention(cases: list, workloads: list, proxies: list,
                    summary: dict, seconds: float) -> str:
    """Run the finder on every case and return the table."""
    from .report import format_table
    by_key = {case.key: case for case in cases if not case.error}
    verdicts: dict = {}
    reasons: list = []
    done = 0
    todo = [key for key in by_key if key[0] != EMPTY_LOOP.key]
    for workload in workloads:
        for proxy in proxies:
            key = (workload.key, proxy.key)
            case = by_key.get(key)
            if case is None:
                continue
            done += 1
            progress(f"find-contention {done}/{len(todo)}: {workload.key} "
                     f"{proxy.key}")
            contended = None
            own = summary.get((workload.key, "own"), {}).get("scaling", {})
            mine = summary.get(key, {}).get("scaling", {})
            if 2 in own and 2 in mine:
                contended = mine[2] < CONTENDED_BELOW * own[2]
            report = sample_case(case, seconds)
            verdict, text = judge(case, report, contended)
            verdicts[key] = (verdict, text, contended)
            if verdict is False:
                first = report.top(1)
                reasons.append(
                    f"{workload.label} / {proxy.label}: "
                    + ("scales below 0.8 of own copy, " if contended
                       else "scales like own copy, ")
                    + (f"first entry {first[0].type} {first[0].repr} at "
                       f"{first[0].where}" if first else "no entry"))
    header = ["workload"] + [proxy.label for proxy in proxies]
    rows = []
    for workload in workloads:
        row = [workload.label]
        for proxy in proxies:
            cell = verdicts.get((workload.key, proxy.key))
            if cell is None:
                row.append("-")
                continue
            verdict, text, contended = cell
            mark = {True: "right", False: "WRONG", None: "?"}[verdict]
            kind = {True: "C", False: "=", None: ""}[contended]
            row.append(f"{mark} {kind} {text}".replace("  ", " "))
        rows.append(row)
    counted = [v for v, _, _ in verdicts.values() if v is not None]
    lines = ["Contention finder on ground truth (2 threads; C: scales below "
             "0.8 of own copy, its first entry must be the known cause; =: "
             "scales like own copy, no entry may be above the threshold; "
             "each cell names the report's first entry and its share of "
             "sweeps with refcount traffic)",
             format_table(header, rows),
             f"right: {counted.count(True)}, wrong: {counted.count(False)}"
             + (f", not judged (no timing): {len(verdicts) - len(counted)}"
                if len(counted) < len(verdicts) else "")]
    lines += [f"  wrong: {reason}" for reason in reasons]
    return "\n".join(lines)
