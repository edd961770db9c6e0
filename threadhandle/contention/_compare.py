"""--compare: what changed for each entry between a report made before a
remedy was applied and one made after (find, fix, check)."""

from __future__ import annotations

# A share after / before at or below this is "halved", below LOWER
# "lower", above HIGHER "higher"; between them "unchanged" (a share moves
# by some tens of percent between two runs of the same program).
HALVED = 0.5
LOWER = 0.8
HIGHER = 1.25

STATUSES = ("gone", "halved", "lower", "unchanged", "higher", "new")


def key(entry) -> tuple:
    """An entry's key across runs: its type and its place (ids differ)."""
    return (entry.type, entry.where)


def cost(entry) -> float:
    """What the comparison reads of an entry: its estimated cost when the
    report has one (issue 22 item 1), else its score (share of sweeps)."""
    estimate = getattr(entry, "estimate", None)
    return estimate if isinstance(estimate, (int, float)) else entry.score


def _listed(report) -> dict:
    return {key(entry): entry for entry in report.top(len(report.entries))}


def status(before: float, after: float) -> str:
    if before <= 0:
        return "new" if after > 0 else "unchanged"
    ratio = after / before
    if ratio <= HALVED:
        return "halved"
    if ratio < LOWER:
        return "lower"
    if ratio > HIGHER:
        return "higher"
    return "unchanged"


def compare(before, after) -> list:
    """[(key, status)]: the entries listed before, in their order, then
    those listed only after ("new")."""
    old, new = _listed(before), _listed(after)
    result = []
    for name, entry in old.items():
        if name not in new:
            result.append((name, "gone"))
        else:
            result.append((name, status(cost(entry), cost(new[name]))))
    result.extend((name, "new") for name in new if name not in old)
    return result


def format_comparison(before, after) -> str:
    old, new = _listed(before), _listed(after)
    rows = compare(before, after)
    lines = [f"compared with the report before ({before.interpreter}, "
             f"{len(old)} entries listed; now {len(new)}):"]
    if not rows:
        lines.append("no entry above the threshold in either report")
    for (type_name, where), state in rows:
        was = f"{cost(old[(type_name, where)]):.1%}" if (
            type_name, where) in old else "-"
        now = f"{cost(new[(type_name, where)]):.1%}" if (
            type_name, where) in new else "-"
        lines.append(f"  {state:>9}  {was:>6} -> {now:<6}  {type_name} at "
                     f"{where}")
    counts = {state: sum(1 for _, s in rows if s == state)
              for state in STATUSES}
    lines.append("  " + ", ".join(f"{count} {state}" for state, count
                                  in counts.items() if count))
    return "\n".join(lines)
