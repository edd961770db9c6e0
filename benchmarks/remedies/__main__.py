"""The remedy suite: per program, which shared object really contends (the
ground truth from per-object own copies), whether the contention finder
names it first, and whether a remedy recovers the own copies' scaling.

Per program, in one run and interleaved: 1 and 2 threads with every
object shared, with every object an own copy (the ideal), with each object
alone an own copy, and with each remedy the program lists (and the one the
finder's #1 suggests, when the suite can apply it).  Scaling is in CPU
time (README.md says why); each figure is the median of --runs runs.

Examples:
  python -P benchmarks/remedies --quick
  python -P benchmarks/remedies --programs c01,g02 --runs 7
  python -P benchmarks/remedies --programs c01 --remedy immortal:SETTINGS
  python -P benchmarks/remedies --check        (no timing: every variant
                                                once, results compared)
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    # Run as a folder: import the folder as the package it is.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)
    __package__ = "remedies"

from remedies import finder as finder_adapter  # noqa: E402
from remedies import report  # noqa: E402
from remedies.program import (  # noqa: E402
    all_programs, parse_remedy, remedy_label)
from remedies.runner import (  # noqa: E402
    Variant, VariantError, calibrate, check, expected_result, measure,
    progress, remedy_variant, run, variants_of, why_not)

THREADS = 2


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -P benchmarks/remedies", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--programs", metavar="A,B",
                        help="programs whose file name starts with one of "
                             "these (default all)")
    parser.add_argument("--remedy", action="append", default=[],
                        metavar="R:NAME[+R:NAME]",
                        help="also measure this remedy on every selected "
                             "program that shares NAME (repeatable)")
    parser.add_argument("--runs", type=int, default=5, metavar="R",
                        help="runs of every variant; medians (default 5)")
    parser.add_argument("--cpu-seconds", type=float, default=0.05,
                        metavar="S", help="CPU time of one 1-thread run "
                        "(default 0.05)")
    parser.add_argument("--find-seconds", type=float, default=1.0,
                        metavar="S", help="finder's sampling per program "
                        "(default 1.0)")
    parser.add_argument("--duty", type=float, default=0.1,
                        help="finder's share of one core (default 0.1)")
    parser.add_argument("--no-finder", action="store_true",
                        help="do not run the finder")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 1 run of 2 ms, 0.3 s of finder; "
                             "the figures mean nothing")
    parser.add_argument("--check", action="store_true",
                        help="no timing: run every variant once with 2 "
                             "threads and compare its results with the "
                             "plain program's")
    parser.add_argument("--json", metavar="PATH",
                        help="JSON output (default benchmarks/results/"
                             "remedies-<python>[-quick].json; 'none')")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for text in args.remedy:
        try:
            parse_remedy(text)
        except ValueError as exc:
            parser.error(f"--remedy: {exc}")
    if args.quick:
        args.runs, args.cpu_seconds, args.find_seconds = 1, 0.002, 0.3
    if args.runs < 1 or not args.cpu_seconds > 0 or not args.find_seconds > 0:
        parser.error("--runs, --cpu-seconds and --find-seconds must be > 0")
    return args


def selected(programs: list, wanted: str | None) -> list:
    if not wanted:
        return programs
    prefixes = [part.strip() for part in wanted.split(",") if part.strip()]
    chosen = [p for p in programs
              if any(p.key.startswith(prefix) for prefix in prefixes)]
    if not chosen:
        sys.exit(f"no program starts with {wanted!r}; programs: "
                 + ", ".join(p.key for p in programs))
    return chosen


def runnable_variants(program) -> tuple:
    """(variants that can run here, {label: why not} for the others)."""
    runnable, skipped = [], {}
    for variant in variants_of(program):
        why = why_not(program, variant)
        if why:
            skipped[variant.label] = why
        else:
            runnable.append(variant)
    return runnable, skipped


def check_program(program) -> list:
    """Every variant once, 2 threads, results compared: the problems."""
    n = 200
    expected = expected_result(program, n)
    problems = []
    variants, _ = runnable_variants(program)
    for variant in variants:
        try:
            check(program, variant, THREADS, n, expected)
        except VariantError as exc:
            problems.append(str(exc))
    return problems


def find(program, n: int, args) -> tuple:
    """The finder during one 2-thread shared run: (its #1, the variant of
    its remedy or None)."""
    result: dict = {}

    def ids_of(main):
        return {name: [id(obj) for obj in program.objects(main, name)]
                for name in program.shared}

    during = finder_adapter.sampler(args.find_seconds, args.duty, result,
                                    ids_of)
    try:
        run(program, Variant(), THREADS, n, during=during)
    except VariantError as exc:
        result["error"] = str(exc)
    if "id" not in result:
        return result, None
    ids = result.get("ids", {})
    names = [name for name, held in ids.items() if result["id"] in held]
    containers = [name for name, held in ids.items()
                  if result.get("group_id", result["id"]) in held]
    if not names:
        return result, None
    parts = finder_adapter.suite_parts(
        result.get("remedy_name", ""), names[0],
        containers[0] if containers else names[0])
    result["suite_remedy"] = remedy_label(parts) if parts else ""
    if not parts:
        return result, None
    variant = remedy_variant(program, parts)
    return result, (None if why_not(program, variant) else variant)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    programs = selected(all_programs(), args.programs)
    skipped = [(p.key, p.missing()) for p in programs if p.missing()]
    programs = [p for p in programs if not p.missing()]
    for key, why in skipped:
        print(f"skipped: {key} ({why})")

    if args.check:
        failed = 0
        for index, program in enumerate(programs, 1):
            problems = check_program(program)
            progress(f"[{index}/{len(programs)}] {program.key}: "
                     + ("ok" if not problems else "; ".join(problems)))
            failed += bool(problems)
        return 1 if failed else 0

    use_finder = not args.no_finder
    why_no_finder = finder_adapter.why_unavailable() if use_finder else ""
    if why_no_finder:
        print(f"finder not run: {why_no_finder}")
        use_finder = False
    env = report.environment()
    print(f"{env['interpreter']} ({env['python'].split()[0]}), "
          f"{args.runs} runs of {args.cpu_seconds} s CPU per variant"
          + (" -- --quick: the figures mean nothing" if args.quick else ""))

    if env["gil_enabled"]:
        print("the GIL is on: a thread waiting for it spends no CPU time, "
              "so the CPU-time scaling reads near 2x whatever the objects; "
              "read the JSON's wall scaling (--check is what a GIL build "
              "is for)")
    rng = random.Random(args.seed)
    summaries = []
    began = time.monotonic()
    for index, program in enumerate(programs, 1):
        elapsed = time.monotonic() - began
        left = (elapsed / (index - 1) * (len(programs) - index + 1)
                if index > 1 else None)
        progress(f"[{index}/{len(programs)}] {program.key}: "
                 f"{elapsed:.0f} s so far"
                 + (f", ~{left:.0f} s left" if left is not None else ""))
        variants, not_run = runnable_variants(program)
        for text in args.remedy:
            parts = parse_remedy(text)
            if all(name in program.shared for _, name in parts):
                variant = remedy_variant(program, parts)
                why = why_not(program, variant)
                if why:
                    not_run[variant.label] = why
                elif variant not in variants:
                    variants.append(variant)
        n = calibrate(program, args.cpu_seconds)
        found, finder_variant = None, None
        if use_finder:
            seconds = args.find_seconds + 3 * finder_adapter.MARGIN
            n_find = max(int(n * seconds / args.cpu_seconds), 1)
            found, finder_variant = find(program, n_find, args)
            if finder_variant is not None and finder_variant not in variants:
                variants.append(finder_variant)
        results = measure(program, variants, n, args.runs, rng,
                          (1, THREADS))
        summary = report.summarize(
            program, variants, results, THREADS, found,
            finder_variant.label if finder_variant else "")
        summary["ops"] = n
        summary["not_run"] = not_run
        summaries.append(summary)

    print()
    print(report.table(summaries))
    if use_finder:
        print(report.totals(summaries))
    print("together: CPU time / (2 x wall time) of the 2-thread runs "
          "(median): the share of the run each thread had a CPU; * below "
          f"{report.SIDE_BY_SIDE:.0%}: other processes held the CPUs, the "
          "threads often did not run at once (so did not contend): rerun "
          "on a quiet machine.  shared/own: CPU-time scaling with 2 "
          "threads (2.00x is perfect); recovers: a remedy's scaling / "
          "the ideal's")
    settings = {"runs": args.runs, "cpu_seconds": args.cpu_seconds,
                "find_seconds": args.find_seconds, "duty": args.duty,
                "threads": THREADS, "quick": args.quick, "seed": args.seed,
                "finder": use_finder, "finder_unavailable": why_no_finder}
    path = report.output_path(args.json, "-quick" if args.quick else "")
    if path:
        report.write_json(path, env, settings, summaries, skipped)
        print(f"JSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
