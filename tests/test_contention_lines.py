"""The finder names the lines of the threads' code that use each object it
reports (file:line), from the threads' sampled stacks (3.14t+): the line of
the function that reads the object, not the line of a thread that does
something else; through an attribute; for a script run by the CLI; and the
report's JSON keeps them (a report without them still loads).

Each sampling test runs its threads for about a second (again if a loaded
machine left them too little CPU)."""
import json
import textwrap
import threading
import time

import pytest

from threadhandle import contention
from threadhandle.contention import _lines
from threadhandle.contention._report import Entry, Report

from conftest import (
    UNDER_TSAN, check_findings, finder_cli, needs_free_threading_mark,
    samples_the_process_mark)

needs_free_threading = needs_free_threading_mark()
pytestmark = samples_the_process_mark()

SECONDS = 1.0
DUTY = 0.5


def line_of(function, marker):
    """The number of the line of function's source file that holds
    marker (a comment on one line only)."""
    code = function.__code__
    with open(code.co_filename, encoding="utf-8") as file:
        found = [number for number, text in enumerate(file, 1)
                 if marker in text and "line_of(" not in text]
    assert len(found) == 1, found
    return found[0]


def run_threads(*targets, found, **options):
    """Run each target(stop) in a thread of its own while sampling for
    SECONDS, again (at most 3 times) while found(report) does not hold;
    the last report."""
    stop = threading.Event()
    started = threading.Barrier(len(targets) + 1)

    def run(target):
        started.wait()
        target(stop)

    pool = [threading.Thread(target=run, args=(target,))
            for target in targets]
    for thread in pool:
        thread.start()
    try:
        started.wait()
        for _ in range(3):
            report = contention.sample(SECONDS, duty=DUTY, **options)
            if UNDER_TSAN or found(report):
                break
        return report
    finally:
        stop.set()
        for thread in pool:
            thread.join(30)


def entry_at(report, where):
    for entry in report.top(50):
        if entry.where == where:
            return entry
    return None


def skip_without_lines(report):
    """On 3.13t the report says it has no lines, and the test ends."""
    if not _lines.available():
        assert any("3.14" in note for note in report.notes), report.notes
        pytest.skip("no _remote_debugging before 3.14: no lines")


# --------------------------------------------------------------------------
# Two functions in two threads: only the one that reads the object is named
# --------------------------------------------------------------------------

def start_reader_and_other(table):
    """The two threads' work: reader() reads table (a closure cell: each
    read takes a reference), other() works on its own list."""

    def reader(stop):
        while not stop.is_set():
            for _ in range(1000):
                table[5]  # the reading line

    def other(stop):
        mine = list(range(10))
        while not stop.is_set():
            for _ in range(1000):
                mine.reverse()  # the other line

    return reader, other


@needs_free_threading
def test_the_line_that_reads_the_object_is_named_and_no_other():
    table = {i: -i for i in range(50)}
    reader, other = start_reader_and_other(table)

    def named(report):
        entry = entry_of(report, table)
        return entry is not None and entry.lines

    report = run_threads(reader, other, found=named, objects=[table])
    check_findings()
    skip_without_lines(report)
    entry = entry_of(report, table)
    assert entry is not None, str(report)
    reading = line_of(reader, "# the reading line")
    lines = [(line["file"], line["line"]) for line in entry.lines]
    assert lines and lines[0] == (__file__, reading), entry.lines
    assert entry.lines[0]["function"].endswith("reader")
    assert 0 < entry.lines[0]["share"] <= 1
    other_line = line_of(other, "# the other line")
    assert all(line != other_line for _, line in lines), entry.lines
    assert f":{reading} (" in str(report)
    assert "% of samples" in str(report)


def entry_of(report, obj):
    for entry in report.top(50):
        if entry.id == id(obj):
            return entry
    return None


# --------------------------------------------------------------------------
# Reached through an attribute
# --------------------------------------------------------------------------

class Shop:
    def __init__(self):
        self.rate = float("1.5")


SHOP = Shop()


def read_rate(stop):
    while not stop.is_set():
        for _ in range(1000):
            SHOP.rate  # reads the rate


@needs_free_threading
def test_the_line_of_an_attribute_read_is_named():
    where = f"{__name__}.SHOP.rate"

    def named(report):
        entry = entry_at(report, where)
        return entry is not None and entry.lines

    report = run_threads(read_rate, read_rate, found=named)
    check_findings()
    # Reading the stacks makes FrameInfos from the finder's thread: that
    # traffic on their type is the finder's own, never reported.
    assert not [entry for entry in report.top(50)
                if entry.where.startswith("_remote_debugging")], str(report)
    skip_without_lines(report)
    entry = entry_at(report, where)
    assert entry is not None, str(report)
    assert entry.lines, str(report)
    first = entry.lines[0]
    assert (first["file"], first["line"]) == (
        __file__, line_of(read_rate, "# reads the rate")), entry.lines
    assert first["function"] == "read_rate"


# --------------------------------------------------------------------------
# The CLI: file:line of the script
# --------------------------------------------------------------------------

PROGRAM = textwrap.dedent("""\
    import threading, time
    class State:
        pass
    STATE = State()
    STATE.prices = {i: float(i) for i in range(10)}
    def work(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for _ in range(1000):
                STATE.prices[5]
    threads = [threading.Thread(target=work, args=(%g,)) for _ in range(2)]
    for t in threads: t.start()
    for t in threads: t.join()
    print("done")
    """)
PROGRAM_LINE = 10   # STATE.prices[5]


def find_with_lines(tmp_path, script: str, where: str) -> tuple:
    """Run the finder's command line on script (in tmp_path) until the
    entry at `where` has lines (or lines cannot be read here), at most 3
    times: (the last run's result, its entries at `where`)."""
    for _ in range(3):
        result = finder_cli("--warmup", "0", "-q", "-o", "report.json",
                            script, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        data = json.loads((tmp_path / "report.json").read_text())
        entries = [entry for entry in data["entries"]
                   if entry["where"] == where]
        if entries and (entries[0]["lines"] or not _lines.available()):
            break
    check_findings()
    assert entries, result.stderr
    return result, entries


@needs_free_threading
def test_cli_names_the_scripts_line(tmp_path):
    (tmp_path / "prices.py").write_text(PROGRAM % 1.5)
    assert PROGRAM.splitlines()[PROGRAM_LINE - 1].strip() == "STATE.prices[5]"
    result, entries = find_with_lines(tmp_path, "prices.py",
                                      "__main__.STATE.prices")
    assert result.stdout == "done\n"
    assert "at: _remote_debugging" not in result.stderr
    if not _lines.available():
        assert "3.14" in result.stderr
        pytest.skip("no _remote_debugging before 3.14: no lines")
    first = entries[0]["lines"][0]
    assert first["line"] == PROGRAM_LINE, entries[0]["lines"]
    assert first["function"] == "work"
    assert first["file"] == str(tmp_path / "prices.py")
    # The text: the path relative to the folder the program ran in.
    assert f"line: prices.py:{PROGRAM_LINE} (work), " in result.stderr


# --------------------------------------------------------------------------
# The JSON keeps the lines; reports without them still load
# --------------------------------------------------------------------------

def an_entry(**fields):
    values = dict(type="dict", repr="{}", where="__main__.TABLE",
                  kind="global", sweeps=1000, refcount_changes=400,
                  lock_held=0, remedy="do something")
    values.update(fields)
    return Entry(**values)


def test_json_round_trip_keeps_the_lines(tmp_path):
    lines = [{"file": str(tmp_path / "prog.py"), "line": 14,
              "function": "total", "samples": 40, "share": 0.8},
             {"file": str(tmp_path / "prog.py"), "line": 20,
              "function": "main", "samples": 10, "share": 0.2}]
    report = Report(entries=[an_entry(lines=lines)], seconds=1.0,
                    sweeps=1000, candidates=10, notes=[])
    path = tmp_path / "report.json"
    report.write_json(str(path))
    loaded = Report.load(str(path))
    assert loaded.entries[0].lines == lines
    assert json.loads(path.read_text())["entries"][0]["lines"] == lines
    text = loaded.format()
    assert "prog.py:14 (total), 80% of samples" in text
    assert text.index("prog.py:14") < text.index("prog.py:20")


def test_a_report_without_lines_loads_and_compares(tmp_path):
    before = Report(entries=[an_entry()], seconds=1.0, sweeps=1000,
                    candidates=10, notes=[]).to_dict()
    for entry in before["entries"]:
        del entry["lines"]     # a report written before lines existed
    path = tmp_path / "before.json"
    path.write_text(json.dumps(before))
    loaded = Report.load(str(path))
    assert loaded.entries[0].lines == []
    assert not any(row.lstrip().startswith("line:")
                   for row in loaded.format().splitlines())
    after = Report(entries=[an_entry(refcount_changes=100, lines=[
        {"file": "/p.py", "line": 3, "function": "f", "samples": 5,
         "share": 1.0}])], seconds=1.0, sweeps=1000, candidates=10,
        notes=[])
    assert after.compare(loaded) == [(("dict", "__main__.TABLE"), "halved")]


@pytest.mark.parametrize("where, kind, name", [
    ("__main__.PRICES", "global", "PRICES"),
    ("__main__.POINT.x", "attr", "x"),
    ("__main__.PRICES['apple']", "item", "PRICES"),
    ("pkg.mod.TABLE[3]['a.b']", "item", "TABLE"),
    ("a key of __main__.COUNTS", "key", "COUNTS"),
    ("closure cell table of f.<locals>.reader() (thread Thread-1)", "cell",
     "table"),
    ("argument table of f() (thread Thread-1)", "argument", "table"),
    ("argument 0 of f() (thread Thread-1)", "argument", ""),
    ("test() test_x.py:12 table (thread MainThread)", "local", "table"),
    ("in the cache of the _struct module (its C state)", "cache", ""),
    ("not reached by name (held by C code?)", "unknown", ""),
])
def test_the_name_read_from_a_place(where, kind, name):
    assert _lines.object_name(where, kind) == name


def test_names_by_line_reads_the_bytecode(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("def f():\n    x = A.b\n    return 'A'\n")
    names = _lines.names_by_line(str(source))
    assert {"A", "b"} <= names[2]
    assert "A" not in names.get(3, ())   # a str constant is no load
    assert _lines.names_by_line(str(tmp_path / "missing.py")) == {}


def test_the_names_an_entrys_lines_use(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("def f():\n    n = memoryview(A).nbytes\n"
                      "    return A[0]\n")
    lines = _lines.Lines()
    on = [{"file": str(source), "line": 2}]
    assert {"memoryview", "A", "nbytes"} <= lines.names_on(on)
    assert "memoryview" not in lines.names_on([{"file": str(source),
                                                "line": 3}])
    assert lines.names_on([]) == frozenset()


VIEWED = """\
import threading
PAYLOAD = bytearray(range(256)) * 16

def work():
    total = 0
    for i in range(%d):
        total += memoryview(PAYLOAD)[i & 255]
    return total

threads = [threading.Thread(target=work) for _ in range(2)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


@needs_free_threading
def test_a_bytearray_viewed_at_each_use_gets_a_view_per_thread(tmp_path):
    """The remedy depends on the lines: a bytearray handed to memoryview
    at each use is told to take the view once per thread (each export
    writes its export count, whatever its reference count does)."""
    (tmp_path / "viewed.py").write_text(VIEWED % 400_000)
    _, entries = find_with_lines(tmp_path, "viewed.py", "__main__.PAYLOAD")
    if not _lines.available():
        # No lines before 3.14: the bytearray's own row.
        assert entries[0]["remedy_name"] != "view_per_thread"
        pytest.skip("no _remote_debugging before 3.14: no lines")
    assert entries[0]["remedy_name"] == "view_per_thread"
    assert "take the view once per thread" in entries[0]["remedy"]


@needs_free_threading
@pytest.mark.skipif(not _lines.available(), reason="3.14+ only")
def test_reading_stacks_keeps_the_programs_frames_only():
    stacks = _lines.Stacks()
    stacks.start()
    assert stacks.note == ""
    stop = threading.Event()

    def spin(stop):
        while not stop.is_set():
            time.sleep(0.001)  # the spinning line

    thread = threading.Thread(target=spin, args=(stop,))
    thread.start()
    try:
        for _ in range(20):
            stacks._next = 0.0
            stacks.take()
    finally:
        stop.set()
        thread.join(30)
    assert stacks.reads == 20
    frames = {frame for stack in stacks.counts for frame in stack}
    files = {frame[0] for frame in frames}
    assert files == {__file__}, files    # no threading.py, no pytest's
    assert (__file__, line_of(spin, "# the spinning line"),
            "test_reading_stacks_keeps_the_programs_frames_only.<locals>"
            ".spin") in frames, frames
