"""The benchmark tool (benchmarks/scaling/) runs and reports every case.

No figure is checked: speed is measured by `make bench`, never by a test.
What is checked is that every registered workload and proxy is run (or
says why not), listed by --help and reported through the one cell renderer.
The runs are --quick with few operations.
"""
import importlib
import json
import pathlib
import re
import subprocess
import sys
import textwrap
import threading
import types

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"
# The benchmark is a package; `python -P benchmarks/scaling` runs it.
SCALING = BENCHMARKS / "scaling"
QUICK = ["--quick", "--ops", "200", "--plot", "none"]


def scaling_module(name):
    """scaling.<name>, imported from benchmarks/."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module(f"scaling.{name}")
    finally:
        sys.path.remove(str(BENCHMARKS))


def run_benchmark(*args, env=None):
    result = subprocess.run([sys.executable, "-P", str(SCALING), *args],
                            capture_output=True, text=True, timeout=300,
                            env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def own_folder(tmp_path):
    """A folder of this thread's own under tmp_path (pytest-run-parallel
    runs a test in several threads at once)."""
    folder = tmp_path / f"thread-{threading.get_ident()}"
    folder.mkdir(exist_ok=True)
    return folder


def run_quick(tmp_path, *args, env=None):
    """A quick run: its stdout and its JSON document."""
    out = own_folder(tmp_path) / "quick.json"
    stdout = run_benchmark(*QUICK, "--json", str(out), *args, env=env)
    return stdout, json.loads(out.read_text())


def env_with_sitecustomize(tmp_path, code):
    """os.environ with a sitecustomize.py that runs `code` at start-up."""
    import os
    folder = own_folder(tmp_path)
    (folder / "sitecustomize.py").write_text(textwrap.dedent(code))
    return dict(os.environ, PYTHONPATH=str(folder))


def table_cells(stdout, title_start, columns):
    """{row label: [the cells of the first `columns` columns]} of the table
    whose title starts with `title_start` (cells are 2+ spaces apart)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines)
                 if line.startswith(title_start))
    rows = {}
    for line in lines[start + 3:]:
        if not line.strip() or line.startswith(("*", "CPU share")):
            break
        label, *cells = re.split(r"\s{2,}", line.strip())
        rows[label] = cells[:columns]
    return rows


def test_quick_run_reports_every_workload_with_every_proxy(tmp_path):
    workloads = scaling_module("workloads")
    proxies = scaling_module("proxies")
    stdout, data = run_quick(tmp_path, "--full")
    # (Rows whose module is not installed are left out: tested below.)
    registered = [w for w in workloads.all_workloads(None)
                  if not workloads.missing_requirement(w)]
    assert set(data["workloads"]) == ({w.key for w in registered}
                                      | {workloads.EMPTY_LOOP.key})
    assert list(data["proxies"]) == [p.key for p in proxies.PROXIES]
    summary = {(e["workload"], e["proxy"]): e for e in data["summary"]}
    for workload in registered:
        assert workload.label in stdout
        for proxy in proxies.PROXIES:
            key = f"{workload.key}/{proxy.key}"
            state = data["cells"][key]
            loaded = data["proxies"][proxy.key]
            if workload.proxies is not None and proxy.key not in (
                    workload.proxies):
                assert state == "-", key
                assert key not in data["sources"], key
            elif not loaded["available"]:
                assert loaded["unavailable"].startswith(state), key
                assert key not in data["sources"], key
            elif state == "error":
                assert data["errors"][key], key
            else:
                assert state == "measured", key
                entry = summary[(workload.key, proxy.key)]
                assert isinstance(entry["ns_per_op_over_empty_loop"], float)
                assert isinstance(entry["scaling"]["2"], float)
    # Nothing is shared in an own copy, and a ThreadHandle forwards every
    # operation: both measure every row they run with.
    for proxy_key in ("own", "threadhandle"):
        for workload in registered:
            if workload.proxies is None or proxy_key in workload.proxies:
                assert data["cells"][f"{workload.key}/{proxy_key}"] == (
                    "measured"), (workload.key, proxy_key)


def test_ratios_read_threadhandle_against_its_own_copy(tmp_path):
    stdout, data = run_quick(tmp_path, "--workloads", "getitem,method",
                             "--proxies", "own,local,threadhandle")
    header = ["TH/own copy", "TH/local", "TH scaling/own copy scaling"]
    rows = table_cells(stdout, "ratios:", len(header))
    summary = {(e["workload"], e["proxy"]): e for e in data["summary"]}
    loop = summary[("empty", "local")]["ns_per_op_over_empty_loop"]
    for workload in ("getitem", "method"):
        ratios = data["ratios"][workload]
        th, own = (summary[(workload, proxy)]
                   for proxy in ("threadhandle", "own"))
        assert ratios["threadhandle_over_own_copy"] == pytest.approx(
            (th["ns_per_op_over_empty_loop"] + loop)
            / (own["ns_per_op_over_empty_loop"] + loop))
        assert ratios["threadhandle_scaling_over_own_copy"] == pytest.approx(
            th["scaling"]["2"] / own["scaling"]["2"])
        label = data["workloads"][workload]["label"]
        assert rows[label] == [
            f"{ratios[name]:.2f}" for name in (
                "threadhandle_over_own_copy", "threadhandle_over_local",
                "threadhandle_scaling_over_own_copy")]


def test_help_lists_every_workload_and_proxy_key():
    workloads = scaling_module("workloads")
    proxies = scaling_module("proxies")
    stdout = run_benchmark("--help")
    for option in ("--full", "--threads", "--batches", "--callgrind",
                   "--quick", "--workloads", "--proxies"):
        assert option in stdout
    for item in workloads.all_workloads(None) + list(proxies.PROXIES):
        line = f"  {item.key} "
        assert any(text.startswith(line) and text.endswith(item.description)
                   for text in stdout.splitlines()), item.key
    assert "How to read the table:" in stdout


@pytest.mark.thread_unsafe(reason="replaces scaling.report.cell")
def test_every_table_cell_comes_from_the_one_renderer(monkeypatch):
    report = scaling_module("report")
    workloads = scaling_module("workloads").all_workloads(None)
    proxies = list(scaling_module("proxies").PROXIES)
    asked = []

    def renderer(workload, proxy, cases, render):
        asked.append((workload.key, proxy.key))
        return "CELL"

    monkeypatch.setattr(report, "cell", renderer)
    tables = (report.timing_tables(workloads, proxies, {}, {}, [1, 2],
                                   {1: 1.0, 2: 1.0})
              + "\n\n" + report.callgrind_table(workloads, proxies, {}, {}))
    rows = ["empty loop", *(w.label for w in workloads)]
    # The ns/op, CPU efficiency and callgrind tables: every cell of every
    # row (the empty loop's included) is the renderer's.
    assert len(asked) == 3 * len(rows) * len(proxies)
    for title in ("single-thread ns/op", "CPU efficiency",
                  "instructions/op"):
        cells = table_cells(tables, title, len(proxies))
        assert list(cells) == rows
        assert all(row == ["CELL"] * len(proxies) for row in cells.values())


def test_a_cell_says_why_it_has_no_number():
    report = scaling_module("report")
    proxies = scaling_module("proxies")
    workload = scaling_module("workloads").all_workloads(None)[0]
    proxy = proxies.PROXIES[0]
    unavailable = types.SimpleNamespace(**{**vars(proxy), "unavailable":
                                           "not installed (no module)"})
    case = types.SimpleNamespace(key=(workload.key, proxy.key), error="",
                                 notes=[])
    cases = {case.key: case}

    def number(key):
        return "1.0 ns"

    assert report.cell(workload, proxy, cases, number) == "1.0 ns"
    assert report.cell(workload, unavailable, cases, number) == (
        "not installed")
    assert report.cell(workload, proxy, {}, number) == "?"
    case.notes = ["a note"]
    assert report.cell(workload, proxy, cases, number) == "1.0 ns *"
    case.error = "TypeError: no"
    assert report.cell(workload, proxy, cases, number) == "error"


def test_deferred_column_records_what_enable_deferred_refcount_did(tmp_path):
    # A stand-in that takes effect on dicts only.
    env = env_with_sitecustomize(tmp_path, """\
        import threadhandle
        threadhandle.enable_deferred_refcount = lambda obj, /: (
            type(obj) is dict)
        """)
    stdout, data = run_quick(tmp_path, "--workloads", "getitem,number,call",
                             "--proxies", "global,deferred,own", env=env)
    assert data["deferred_refcount"] == {"getitem": {"d": True},
                                         "number": {"f": False},
                                         "call": {"f": False}}
    assert data["notes"]["number/deferred"] == [
        "deferred refcount not applied to f: float is not GC-tracked"
        if data["environment"]["free_threaded_build"]
        and sys.version_info >= (3, 14)
        else "deferred refcount not applied to f: the interpreter has no "
             "deferred reference counting"]
    # math.sqrt is the same object in every column: left alone, and no
    # own copy either.
    assert "same object in every column" in data["notes"]["call/deferred"][0]
    assert "same object in every thread" in data["notes"]["call/own"][0]
    cells = table_cells(stdout, "single-thread ns/op", 3)
    assert cells["d[5]"][1].endswith("x")
    assert cells["f * 2.0"][1].endswith(" *")
    assert "* global, deferred / f * 2.0: deferred refcount not applied" in (
        stdout)


def test_immortal_column_notes_what_was_not_made_immortal(tmp_path):
    # A stand-in that refuses floats and makes anything else immortal.
    env = env_with_sitecustomize(tmp_path, """\
        import threadhandle
        def immortalize(obj, /):
            if type(obj) is float:
                raise ValueError("refused")
            return True
        threadhandle.immortalize = immortalize
        """)
    stdout, data = run_quick(tmp_path, "--workloads",
                             "getitem,number,call,model_attr",
                             "--proxies", "global,immortal", env=env)
    notes = data["notes"]
    assert "getitem/immortal" not in notes
    assert notes["number/immortal"] == ["f not made immortal: refused"]
    # The instance is made immortal, its float attribute is refused.
    assert notes["model_attr/immortal"] == [
        "a value of m not made immortal: refused"]
    assert "same object in every column" in notes["call/immortal"][0]
    assert "* global, immortal / f * 2.0: f not made immortal" in stdout


def test_rows_without_their_module_are_left_out_with_a_note(tmp_path):
    env = env_with_sitecustomize(tmp_path, """\
        import sys
        sys.modules["numpy"] = None  # import numpy raises ImportError
        """)
    stdout, data = run_quick(tmp_path, "--workloads", "number,np_dot,np_sum",
                             "--proxies", "own", env=env)
    assert "left out: np.dot(w, x) (numpy is not installed)" in stdout
    assert "left out: a.sum() (numpy is not installed)" in stdout
    assert set(data["workloads"]) == {"empty", "number"}


def test_deferred_column_without_the_function_is_not_available(tmp_path):
    env = env_with_sitecustomize(tmp_path, """\
        import threadhandle
        vars(threadhandle).pop("enable_deferred_refcount", None)
        """)
    stdout, data = run_quick(tmp_path, "--workloads", "getitem",
                             "--proxies", "global,deferred", env=env)
    assert data["cells"]["getitem/deferred"] == "not available"
    assert table_cells(stdout, "single-thread ns/op", 2)["d[5]"][1] == (
        "not available")


def test_quick_run_has_the_slot_floor_column():
    stdout = run_benchmark(*QUICK, "--workloads", "number,attr", "--proxies",
                           "own,threadhandle,floor", "--json", "none")
    assert "slot floor: built from floor_proxy.c" in stdout
    assert "floor/own copy" in stdout


@pytest.mark.thread_unsafe(reason="replaces sysconfig.get_config_var")
def test_a_floor_proxy_that_does_not_build_gets_a_reason(monkeypatch,
                                                         tmp_path):
    proxies = scaling_module("proxies")
    real = proxies.sysconfig.get_config_var

    def broken_compiler(name):
        return "no-such-compiler -shared" if name == "LDSHARED" else real(name)

    monkeypatch.setattr(proxies, "BUILD_DIR", tmp_path)
    monkeypatch.setattr(proxies.sysconfig, "get_config_var", broken_compiler)
    wrapper, _, unavailable = proxies.build_floor_proxy()
    assert wrapper is None
    assert unavailable.startswith("not built (")
    assert "no-such-compiler" in unavailable
    assert list(tmp_path.iterdir()) == []


def test_floor_proxy_builds_are_kept_per_interpreter_and_settings():
    """A ThreadSanitizer interpreter has the same suffix as a plain one:
    neither may load the other's build."""
    proxies = scaling_module("proxies")
    plain = proxies.floor_build_path(".so", "cc -shared", "-fPIC")
    assert plain != proxies.floor_build_path(
        ".so", "clang -shared -fsanitize=thread", "-fPIC")
    assert plain != proxies.floor_build_path(".so", "cc -shared", "-fPIE")
    assert plain == proxies.floor_build_path(".so", "cc -shared", "-fPIC")


@pytest.mark.thread_unsafe(reason="replaces the benchmark's build folder")
def test_a_floor_proxy_that_does_not_load_gets_a_reason(monkeypatch,
                                                        tmp_path):
    proxies = scaling_module("proxies")
    monkeypatch.setattr(proxies, "BUILD_DIR", tmp_path)
    get = proxies.sysconfig.get_config_var
    target = proxies.floor_build_path(
        get("EXT_SUFFIX"), get("LDSHARED"), get("CCSHARED") or "")
    target.write_bytes(b"not a shared object")  # newer than the source
    wrapper, _, unavailable = proxies.build_floor_proxy()
    assert wrapper is None
    assert unavailable.startswith("import failed (ImportError"), unavailable


@pytest.mark.parametrize("args, name", [
    ([], "headline"),
    (["--full"], "scaling"),
    (["--full", "--ops", "1000", "--batches", "3", "--callgrind"],
     "scaling"),
    (["--full", "--threads", "2"], "scaling"),
    (["--runs", "3"], "headline"),
    (["--quick"], "headline-quick"),
    (["--quick", "--full"], "scaling-quick"),
    (["--quick", "--workloads", "getitem"], "scaling-quick"),
    (["--workloads", "getitem"], "scaling-partial"),
    (["--proxies", "own,threadhandle"], "scaling-partial"),
    (["--full", "--threads", "1,2,4"], "scaling-partial"),
    (["--threads", "1,2,4"], "headline-partial"),
    (["--full", "--callgrind", "--batches", "0"], "scaling-partial"),
])
def test_only_a_whole_run_writes_the_default_files(args, name):
    # The default JSON and plot are docs/benchmark.md's; a partial run
    # that replaced them would leave the docs showing a subset.
    main = scaling_module("__main__")
    args = main.parse_args(args)
    prefix, variant = main.output_prefix(args), main.output_variant(args)
    report = scaling_module("report")
    path = report.output_path(None, ".png", variant, prefix)
    assert path.parent == report.RESULTS_DIR
    run, _, suffix = name.partition("-")
    assert path.name == (f"{run}-{report.interpreter_tag()}"
                         f"{'-' + suffix if suffix else ''}.png")
    assert report.output_path("none", ".png", variant, prefix) is None


def test_find_contention_with_a_partial_run(tmp_path):
    """--find-contention runs the finder on the selected cases only and
    prints its table (a verdict needs timing: with --batches 0 the cells
    only name what the finder found); on a GIL build it says why not."""
    import sysconfig
    out = own_folder(tmp_path) / "find.json"
    result = subprocess.run(
        [sys.executable, "-P", str(SCALING), *QUICK, "--json", str(out),
         "--batches", "0", "--workloads", "getitem,setitem",
         "--proxies", "global,own", "--find-contention",
         "--find-seconds", "0.5"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    free_threaded = (sysconfig.get_config_var("Py_GIL_DISABLED")
                     and not sys._is_gil_enabled())
    if not free_threaded:
        assert "--find-contention: skipped" in result.stderr
        assert "no reference-count contention" in result.stderr
        return
    table = result.stdout.split("Contention finder on ground truth")[1]
    rows = {line.split()[0]: line for line in table.splitlines()
            if line.startswith(("d[5]", "l[5]"))}
    assert set(rows) == {"d[5]", "l[5]"}
    assert "not judged (no timing): 4" in table
    # Own copies share nothing: the finder names nothing there.
    assert all(line.rstrip().endswith("nothing") for line in rows.values())


class CountingDict(dict):
    """What a recording wrapper hands a thread: counts the reads of d[5]."""
    reads = 0

    def __getitem__(self, key):
        self.reads += 1
        return super().__getitem__(key)


@pytest.mark.parametrize("row", ["argument", "closure", "service_attr"])
def test_reach_rows_go_through_the_wrapper_of_the_dict(row):
    """In a wrapper column each of the rows that reach d other than as a
    module global reads d[5] through the thread's wrapper of the shared
    dict (service.table: not a wrapper of the service), once per op."""
    runner = scaling_module("runner")
    proxies = scaling_module("proxies")
    workload = {w.key: w for w in scaling_module("workloads")
                .all_workloads(None)}[row]
    given, made = [], []

    def wrapper(obj):
        given.append(obj)
        made.append(CountingDict(obj))
        return made[-1]

    proxy = proxies.Proxy("recording", "recording", "", "wrap",
                          wrapper=wrapper)
    case = runner.build_case(workload, proxy)
    runner.run_once(case, 1, 7)
    table = (case.shared["service"].table if row == "service_attr"
             else case.shared["d"])
    assert given == [table]
    assert made[0].reads == 7


@pytest.mark.parametrize("row", ["argument", "closure", "service_attr"])
def test_reach_rows_read_the_shared_dict_in_the_plain_columns(row):
    """The plain global and plain local columns read the shared dict (no
    copy); the own copy a dict of the thread's own."""
    runner = scaling_module("runner")
    proxies = {p.key: p for p in scaling_module("proxies").PROXIES}
    workload = {w.key: w for w in scaling_module("workloads")
                .all_workloads(None)}[row]
    for column in ("global", "local", "own"):
        case = runner.build_case(workload, proxies[column])
        if row == "service_attr":
            service = case.shared["service"]
            service.table = CountingDict(service.table)
            table = service.table
        else:
            table = case.shared["d"] = CountingDict(case.shared["d"])
            if column == "global":
                case.worker.__globals__["d"] = table
        runner.run_once(case, 1, 5)
        assert table.reads == (0 if column == "own" else 5), column


def test_headline_runs_its_rows_with_their_columns_and_verdicts(tmp_path):
    """Without --full: the headline rows, each with its own columns (the
    others read "-"), and a verdict per row, printed and in the JSON."""
    headline = scaling_module("headline")
    stdout, data = run_quick(tmp_path)
    assert data["settings"]["headline"] is True
    assert list(data["workloads"]) == ["empty", *headline.HEADLINE]
    # Only the columns some headline row has are loaded and shown.
    assert sorted(data["proxies"]) == headline.headline_proxy_keys()
    for workload, columns in headline.HEADLINE.items():
        for proxy in data["proxies"]:
            state = data["cells"][f"{workload}/{proxy}"]
            assert state == ("measured" if proxy in columns else "-"), (
                workload, proxy)
    assert list(data["verdicts"]) == list(headline.HEADLINE)
    verdicts = [line for line in
                stdout.split("verdict, 2 threads")[1].splitlines()[1:]
                if not line.startswith("  the threads ran")]
    for workload, line in zip(headline.HEADLINE, verdicts):
        label = data["workloads"][workload]["label"]
        assert line.split() == [*label.split(),
                                *data["verdicts"][workload].split()]
        assert "plain global" in line and "ThreadHandle" in line


def summary_of(scalings, costs):
    """A summary as runner.summarize() makes it, for the (workload, proxy)
    keys of `scalings` (with 2 threads) and `costs` (ns/op)."""
    return {key: {"ns_per_op": costs[key], "scaling": {2: scaling},
                  "cpu_efficiency": {}}
            for key, scaling in scalings.items()}


def test_a_verdict_reads_each_column_against_the_own_copy():
    headline = scaling_module("headline")
    proxies = scaling_module("proxies")
    workload = {w.key: w for w in scaling_module("workloads")
                .all_workloads(None)}["service_attr"]
    scalings = {("empty", "local"): 2.0, ("service_attr", "global"): 0.6,
                ("service_attr", "own"): 1.8,
                ("service_attr", "threadhandle"): 1.71}
    # The empty loop's 10 ns are added to every side of the costs.
    costs = {("empty", "local"): 10.0, ("service_attr", "global"): 60.0,
             ("service_attr", "own"): 40.0,
             ("service_attr", "threadhandle"): 45.0}
    text = headline.verdict(workload, proxies.PROXIES,
                            summary_of(scalings, costs), 2)
    assert text == ("plain global 33% of the own copy's scaling: contends; "
                    "ThreadHandle recovers 95% at 1.10x the cost")
    scalings[("service_attr", "global")] = 1.7
    scalings[("service_attr", "deferred")] = 1.8
    costs[("service_attr", "deferred")] = 40.0
    text = headline.verdict(workload, proxies.PROXIES,
                            summary_of(scalings, costs), 2)
    assert text == ("plain global 94% of the own copy's scaling: does not "
                    "contend here; ThreadHandle reaches 95% at 1.10x the "
                    "cost; global, deferred reaches 100% at 1.00x the cost")
    del scalings[("service_attr", "own")]
    assert headline.verdict(
        workload, proxies.PROXIES, summary_of(scalings, costs), 2) == (
        "no verdict: the own copy was not measured")
    assert headline.verdicts([workload], proxies.PROXIES,
                             summary_of(scalings, costs), 1) == {}


def test_verdicts_on_a_busy_machine_say_so():
    headline = scaling_module("headline")
    workload = scaling_module("workloads").all_workloads(None)[0]
    found = {workload.key: "plain global 50% of the own copy's scaling"}
    busy = headline.verdict_lines([workload], found, 2, cpu_share=0.49)
    assert "the threads ran 49% of the time" in busy
    quiet = headline.verdict_lines([workload], found, 2, cpu_share=0.95)
    assert "the threads ran" not in quiet
    assert quiet.splitlines()[1].split() == [
        workload.label, *found[workload.key].split()]


def test_progress_estimates_the_time_left():
    runner = scaling_module("runner")
    assert runner.time_left(12.4, 0, 10) == "12 s so far"
    assert runner.time_left(30.0, 3, 10) == "30 s so far, about 70 s left"
    assert runner.time_left(50.0, 10, 10) == "50 s so far, about 0 s left"
