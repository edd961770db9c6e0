"""The remedy suite (benchmarks/remedies/) runs every program correctly.

No figure is checked (speed is measured by running the suite, never by a
test).  What is checked: every program runs with two threads in every
variant the suite measures (everything shared, each object alone an own
copy, every object an own copy, each remedy it lists) and returns what the
plain program returns; the declarations the harness reads are consistent;
the issue's categories are all there; the folder runs as a command.
Variants that cannot run on this interpreter (deferral before 3.14t) are
skipped by the suite itself, which says why.
"""
import importlib
import json
import pathlib
import subprocess
import sys
import threading

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"
SUITE = BENCHMARKS / "remedies"
CATEGORIES = {"containers", "instances", "numpy", "bytes", "regex",
              "struct", "operator", "collections", "logging", "functools",
              "decimal", "bisect/heapq", "C-type instances", "joint", "str"}
OPS = 100


def suite_module(name):
    """remedies.<name>, imported from benchmarks/."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module(f"remedies.{name}")
    finally:
        sys.path.remove(str(BENCHMARKS))


program_module = suite_module("program")
runner = suite_module("runner")
remedies = suite_module("remedies")
PROGRAMS = program_module.all_programs()


def test_at_least_30_programs_across_the_issues_categories():
    assert len(PROGRAMS) >= 30
    found = {p.category for p in PROGRAMS if not p.missing()}
    if any(p.missing() for p in PROGRAMS):
        found.add("numpy")   # its programs are skipped without numpy
    assert found == CATEGORIES


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.key)
def test_declarations(program):
    if program.missing():
        pytest.skip(program.missing())
    assert program.title and program.shared and program.remedies
    assert callable(program.declarations["work"])
    for parts in program.remedies:
        for remedy, name in parts:
            assert name in program.shared
            assert (remedy in remedies.GENERIC or callable(
                program.declarations.get(f"remedy_{remedy}"))), remedy


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.key)
def test_every_variant_gives_the_plain_programs_result(program):
    if program.missing():
        pytest.skip(program.missing())
    expected = runner.expected_result(program, OPS)
    ran = []
    for variant in runner.variants_of(program):
        if runner.why_not(program, variant):
            continue
        result = runner.check(program, variant, 2, OPS, expected)
        assert len(result.cpu_ns) == 2
        ran.append(variant.label)
    # Everything shared always runs.
    assert "shared" in ran


def test_a_remedy_is_applied_by_name_to_an_object_by_name():
    # The entry point for the finder's first remedy: a remedy name and
    # the name of the object it applies to.
    program = next(p for p in PROGRAMS if p.key == "c01_dict_global")
    variant = runner.remedy_variant(program, [("handle", "SETTINGS")])
    assert variant.label == "remedy:handle:SETTINGS"
    assert runner.Variant.parse(program, variant.label) == variant
    expected = runner.expected_result(program, OPS)
    runner.check(program, variant, 2, OPS, expected)
    with pytest.raises(ValueError):
        runner.remedy_variant(program, [("handle", "NO_SUCH_OBJECT")])


finder_adapter = suite_module("finder")


@pytest.mark.parametrize("table_name, name, container, parts", [
    ("enable_deferred_refcount", "ORIGIN", "ORIGIN",
     [("deferred", "ORIGIN")]),
    # A joint remedy: every part, on the cause's container.
    ("enable_deferred_refcount+immortalize_values", "heap ints",
     "DEADLINES", [("deferred", "DEADLINES"), ("values", "DEADLINES")]),
    ("enable_deferred_refcount+enable_deferred_refcount_values",
     "routes dict", "ROUTER",
     [("deferred", "ROUTER"), ("deferred_values", "ROUTER")]),
    ("handle+intern_keys", "COUNTS", "COUNTS",
     [("handle", "COUNTS"), ("intern_keys", "COUNTS")]),
    # No tool, or a part the suite cannot apply: nothing.
    ("none_fewer_instances", "Decimal type", "Decimal type", []),
    ("enable_deferred_refcount+lock_split", "X", "X", []),
])
def test_the_finders_remedy_becomes_the_suites_parts(table_name, name,
                                                     container, parts):
    assert finder_adapter.suite_parts(table_name, name, container) == parts


def test_a_joint_remedy_makes_the_values_immortal_not_the_container():
    program = next(p for p in PROGRAMS if p.key == "p01_dataclass_floats")
    variant = runner.remedy_variant(
        program, finder_adapter.suite_parts(
            "enable_deferred_refcount+immortalize_values", "ORIGIN",
            "ORIGIN"))
    assert runner.why_not(program, variant) in ("", remedies.why_unavailable(
        "deferred"))
    from threadhandle import _threadhandle as core
    if not remedies.FREE_THREADED or not core._SET_IMMORTAL:
        pytest.skip("immortalize makes a shared float immortal only on a "
                    "free-threaded build with CPython's _Py_SetImmortal")
    main = program.instance()
    point = main["ORIGIN"]
    point.x = float("1.5")        # a float no other test made immortal
    notes = remedies.apply_main("values", (point,))
    assert not notes
    _is_immortal = core._is_immortal
    assert _is_immortal(point.x) and not _is_immortal(point)


def test_own_copies_are_other_objects_and_shared_ones_the_same():
    program = next(p for p in PROGRAMS if p.key == "p01_dataclass_floats")
    main = program.instance()
    mine = program.instance()
    program.share(mine, main, frozenset(["ORIGIN"]))
    # An own instance holding the shared floats: the ground truth for
    # "the instance alone".
    assert mine["ORIGIN"] is not main["ORIGIN"]
    assert mine["ORIGIN"].x is main["ORIGIN"].x
    shared = program.instance()
    program.share(shared, main, frozenset())
    assert shared["ORIGIN"] is main["ORIGIN"]
    with pytest.raises(program_module.NotOwnable):
        program.share(program.instance(), main,
                      frozenset(["ORIGIN values"]))


def run_suite(*args):
    result = subprocess.run([sys.executable, "-P", str(SUITE), *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def test_the_folder_runs_as_a_command(tmp_path):
    # Its own file: pytest-run-parallel runs a test in threads at once.
    out = tmp_path / f"quick-{threading.get_ident()}.json"
    result = run_suite("--quick", "--no-finder", "--programs", "c01",
                       "--json", str(out))
    assert "c01_dict_global" in result.stdout
    document = json.loads(out.read_text())
    (summary,) = document["programs"]
    assert summary["key"] == "c01_dict_global"
    for label in ("shared", "own:SETTINGS", "remedy:handle:SETTINGS"):
        assert label in summary["variants"]


report = suite_module("report")


def fabricated(program, scalings: dict) -> tuple:
    """Variants and measures whose CPU scaling is `scalings[label]`: 100
    ns/op with one thread, 200 / scaling with two."""
    variants = [runner.Variant.parse(program, label) for label in scalings]
    results = {}
    for variant, scaling in zip(variants, scalings.values()):
        for threads, ns in ((1, 100.0), (2, 200.0 / scaling)):
            measured = runner.Measure([ns], [1_000_000], cpu_shares=[1.0])
            results[(variant.label, threads)] = measured
    return variants, results


@pytest.mark.parametrize("scalings, culprit", [
    # The instance's own copy alone recovers: it is the culprit.
    ({"shared": 1.0, "own:all": 1.9, "own:ORIGIN": 1.8}, ["ORIGIN"]),
    # Only all together recover: a joint cause.
    ({"shared": 1.0, "own:all": 1.9, "own:ORIGIN": 1.1},
     ["ORIGIN", "ORIGIN values"]),
    # Shared scales like the own copies: nothing to fix.
    ({"shared": 1.8, "own:all": 1.9, "own:ORIGIN": 1.9}, []),
])
def test_the_culprit_is_what_an_own_copy_recovers(scalings, culprit):
    program = next(p for p in PROGRAMS if p.key == "p01_dataclass_floats")
    variants, results = fabricated(program, scalings)
    summary = report.summarize(program, variants, results, 2, None, "")
    assert summary["culprit"] == culprit
    assert summary["joint"] == (len(culprit) > 1)


def test_the_finders_first_is_judged_by_the_objects_id():
    program = next(p for p in PROGRAMS if p.key == "p01_dataclass_floats")
    variants, results = fabricated(program, {
        "shared": 1.0, "own:all": 2.0, "own:ORIGIN": 1.0,
        "remedy:deferred:ORIGIN+immortal:ORIGIN values": 1.9})
    ids = {"ORIGIN": [1], "ORIGIN values": [2, 3]}
    found = {"type": "float", "id": 3, "ids": ids}
    summary = report.summarize(
        program, variants, results, 2, found,
        "remedy:deferred:ORIGIN+immortal:ORIGIN values")
    verdict = summary["finder"]
    assert verdict["names"] == ["ORIGIN values"]
    assert verdict["is_culprit"] is True      # one of a joint cause
    assert verdict["recovery"] == pytest.approx(0.95)
    found = {"type": "type", "id": 99, "ids": ids}
    summary = report.summarize(program, variants, results, 2, found, "")
    assert summary["finder"]["is_culprit"] is False
