"""Reading the measures: the culprit, what each remedy recovers, the
finder's verdict; the table and the JSON file."""

from __future__ import annotations

import json
import platform
import statistics
import sys
import sysconfig
from pathlib import Path

from .runner import AGAIN, scaling

# Below this share of the wall time running side by side (CPU time /
# (threads * wall)), two threads had the CPUs together too little for
# their contention to show: the row is marked.
SIDE_BY_SIDE = 0.8
# A variant "recovers" when its scaling is at least this share of the
# ideal's (every object an own copy): the 90%.
RECOVERS = 0.9
RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"


def interpreter_tag() -> str:
    free = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    return (f"{sys.implementation.name}{sys.version_info[0]}."
            f"{sys.version_info[1]}{'t' if free else ''}")


def environment() -> dict:
    check = getattr(sys, "_is_gil_enabled", None)
    return {"python": sys.version, "interpreter": interpreter_tag(),
            "gil_enabled": check() if check else True,
            "machine": platform.machine(), "platform": platform.platform()}


def summarize(program, variants: list, results: dict, threads: int,
              finder: dict | None, finder_variant: str) -> dict:
    """Everything the table and the JSON say about one program."""
    measured = {}
    for variant in variants:
        label = variant.label
        values = scaling(results, label, threads)
        notes = []
        for count in (1, threads):
            measured_runs = results.get((label, count))
            for note in measured_runs.notes if measured_runs else []:
                if note not in notes:
                    notes.append(note)
        measured[label] = {**{k: round(v, 3) for k, v in values.items()},
                           "notes": notes}
    shared = measured.get("shared", {}).get("cpu")
    ideal_label = "own:" + ",".join(sorted(program.shared))
    ideal = measured.get(ideal_label, {}).get("cpu")
    ideal_is_own = ideal is not None
    if ideal is None:
        ideal = float(threads)   # nothing can be owned: perfect scaling

    def recovery(label: str):
        value = measured.get(label, {}).get("cpu")
        return None if value is None or shared is None else round(
            value / ideal, 3)

    if shared is None:
        culprit = None
    elif shared >= RECOVERS * ideal:
        culprit = []                      # scales already: nothing to fix
    elif len(program.shared) == 1:
        culprit = list(program.shared) if ideal_is_own else []
    else:
        culprit = [name for name in program.shared
                   if (recovery(f"own:{name}") or 0) >= RECOVERS]
        if not culprit:
            culprit = list(program.shared)   # joint: only all together
    remedies = {variant.label: recovery(variant.label)
                for variant in variants if variant.parts}
    # The control: the ideal measured again, as a share of the ideal.
    again = recovery(ideal_label + AGAIN) if ideal_is_own else None
    shares = [values["cpu_share"] for values in measured.values()
              if "cpu_share" in values]
    side_by_side = statistics.median(shares) if shares else None
    summary = {
        "key": program.key, "title": program.title,
        "category": program.category, "shared_objects": list(program.shared),
        "variants": measured, "ideal": ideal_label if ideal_is_own
        else f"{threads} threads' perfect scaling (nothing can be owned)",
        "culprit": culprit,
        "joint": culprit is not None and len(culprit) > 1,
        "remedies": remedies,
        "ideal_again": again,
        "side_by_side": None if side_by_side is None
        else round(side_by_side, 3),
    }
    if finder is not None:
        summary["finder"] = judge_finder(finder, culprit, finder_variant,
                                         recovery)
        if finder_variant:
            # Where the remedy had no effect, was refused, or raised.
            summary["finder"]["applied_notes"] = measured.get(
                finder_variant, {}).get("notes", [])
    return summary


def judge_finder(finder: dict, culprit, variant_label: str,
                 recovery) -> dict:
    ids = finder.pop("ids", {})
    entry_id = finder.get("id")
    named = [name for name, found in ids.items() if entry_id in found]
    verdict = dict(finder, names=named)
    if culprit is None or "error" in finder:
        verdict["is_culprit"] = None
    elif not culprit:
        verdict["is_culprit"] = "id" not in finder   # nothing to name
    else:
        verdict["is_culprit"] = any(name in culprit for name in named)
    verdict["applied"] = variant_label
    verdict["recovery"] = recovery(variant_label) if variant_label else None
    return verdict


def format_table(header: list, rows: list) -> str:
    widths = [max(len(str(row[i])) for row in [header] + rows)
              for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(width)
                       for cell, width in zip(row, widths)).rstrip()
             for row in [header] + rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def number(value, suffix="x") -> str:
    return "-" if value is None else f"{value:.2f}{suffix}"


def recovers_text(finder: dict) -> str:
    if not finder or not finder.get("applied"):
        return "-"
    if finder.get("recovery") is None:
        return "raised" if finder.get("applied_notes") else "-"
    return number(finder["recovery"], "") + (" refused" if refused(finder)
                                              else "")


def refused(finder: dict) -> bool:
    """A part of the remedy was refused (immortalize of an object other
    threads held already): what was measured is the remedy not applied."""
    return any(" refused " in note for note in finder.get("applied_notes")
               or ())


def table(summaries: list) -> str:
    header = ["program", "together", "shared", "own", "culprit",
              "finder #1", "cost",
              "#1 right", "its remedy", "recovers", "best listed remedy"]
    rows = []
    for summary in summaries:
        variants = summary["variants"]
        own = next((v.get("cpu") for label, v in variants.items()
                    if label == summary["ideal"]), None)
        culprit = summary["culprit"]
        culprit_text = ("?" if culprit is None else "none" if not culprit
                        else "+".join(culprit))
        finder = summary.get("finder") or {}
        first = (finder.get("error", "")[:30] or
                 (f"{finder['type']} {','.join(finder['names']) or '?'}"
                  if "type" in finder else "nothing above the line"
                  if "below_line" in finder else "nothing"))
        right = {True: "yes", False: "NO", None: "-"}[
            finder.get("is_culprit")] if finder else "-"
        remedies = {k: v for k, v in summary["remedies"].items()
                    if v is not None}
        best = max(remedies, key=remedies.get) if remedies else None
        together = summary.get("side_by_side")
        rows.append([
            summary["key"],
            "-" if together is None else f"{together:.0%}"
            + ("*" if together < SIDE_BY_SIDE else ""),
            number(variants.get("shared", {}).get("cpu")),
            number(own), culprit_text, first if finder else "-",
            "-" if finder.get("estimate") is None
            else f"{finder['estimate']:.0%}", right,
            (finder.get("applied") or "none").replace("remedy:", "")
            if finder else "-",
            recovers_text(finder),
            f"{best.replace('remedy:', '')} {remedies[best]:.2f}"
            if best else "-"])
    return format_table(header, rows)


def totals(summaries: list) -> str:
    judged = [s["finder"] for s in summaries
              if s.get("finder") and s["finder"].get("is_culprit") is not None]
    right = sum(1 for f in judged if f["is_culprit"])
    applied = [s["finder"] for s in summaries
               if s.get("finder") and s["finder"].get("applied")]
    recovered = sum(1 for f in applied
                    if (f.get("recovery") or 0) >= RECOVERS)
    raised = sum(1 for f in applied if recovers_text(f) == "raised")
    refusals = sum(1 for f in applied
                   if f.get("recovery") is not None and refused(f))
    controls = [s["ideal_again"] for s in summaries
                if s.get("ideal_again") is not None]
    control = ""
    if controls:
        short = sum(1 for value in controls if value < RECOVERS)
        spread = statistics.median(abs(value - 1) for value in controls)
        control = (f"\ncontrol: the ideal measured again recovers < "
                   f"{RECOVERS:.0%} of itself in {short}/{len(controls)}; "
                   f"it differs from itself by {spread:.0%} (median)")
    return (f"finder #1 is the culprit: {right}/{len(judged)}; its remedy, "
            f"applied, recovers >= {RECOVERS:.0%} of the ideal: "
            f"{recovered}/{len(applied)} (of those the suite could apply; "
            f"{raised} raised, {refusals} refused in part)" + control)


def output_path(option: str | None, suffix: str) -> Path | None:
    if option == "none":
        return None
    if option:
        return Path(option)
    return RESULTS_DIR / f"remedies-{interpreter_tag()}{suffix}.json"


def write_json(path: Path, env: dict, settings: dict, summaries: list,
               skipped: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"environment": env, "settings": settings,
                "programs": summaries, "skipped": skipped}
    text = json.dumps(document, indent=1, default=str)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(text)
    temporary.replace(path)
