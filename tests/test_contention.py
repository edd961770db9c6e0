"""threadhandle.contention: the finder names the objects threads contend
on, where they live and what to do; it reports nothing for objects that do
not contend; its CLI keeps the program's behaviour and exit status and
reports bad input in one line.

Each sampling test runs two threads for about a second.  On a GIL build
only the message that there is nothing to find is tested."""
import inspect
import json
import sys
import textwrap
import threading
import time

import pytest

from threadhandle import ThreadHandle
from threadhandle import contention
from threadhandle.contention._report import Facts, remedy

from conftest import (
    FREE_THREADED, GIL, UNDER_TSAN, check_findings, finder_cli,
    needs_free_threading_mark, samples_the_process_mark)

needs_free_threading = needs_free_threading_mark()
# The sampling tests run their own threads and measure the whole process.
pytestmark = samples_the_process_mark()

SECONDS = 1.0
HAS_DEFERRED = FREE_THREADED and sys.version_info >= (3, 14)

HAMMERED = {i: i for i in range(100)}
QUIET = {i: i for i in range(100)}
WRITTEN = [0] * 10
# Sorted by a slow key: list.sort holds the list's lock throughout.
SORTED = [1, 0]
GLOBAL = 0
HANDLED = {i: i for i in range(100)}


class Point:
    def __init__(self):
        self.x = float("1.5")


POINT = Point()
# Objects each thread owns, listed here so that the finder can reach them.
OWN = []
RUNNING = False


# The work of the sampled threads: module-level functions, which every
# thread can call without contending (a nested function is an object like
# any other: two threads calling it contend on it, and the finder says so).

def read_hammered(table=HAMMERED):
    # An argument (counted at each call), not a module global read by
    # name: 3.15 defers those once other threads read them (gh-132657).
    table[5]


def read_point_x():
    POINT.x


def write_list():
    WRITTEN[5] = 1


def slow_key(item):
    start = time.perf_counter()
    while time.perf_counter() - start < 0.05:
        pass
    return item


def write_globals():
    global GLOBAL
    GLOBAL = 1  # this module's dict
    WRITTEN[5] = 1


# In a test session the candidates are many (every object the session
# made): half a core gives the sampler enough sweeps in a second.
DUTY = 0.5


def sample_until(found, seconds=SECONDS, attempts=3, **options):
    """Sample for `seconds` until found(report) holds, at most `attempts`
    times (a shared machine may leave the threads too little CPU in one
    window); the last report."""
    options.setdefault("duty", DUTY)
    for _ in range(attempts):
        report = contention.sample(seconds, **options)
        if UNDER_TSAN or found(report):
            break
    return report


def first_where(report):
    top = report.top(1)
    return top[0].where if top else None


def hammer(work, threads=2, seconds=SECONDS, found=lambda report: True,
           **options):
    """Run work() in a loop in `threads` threads while sampling for
    `seconds` (again while found(report) does not hold); the report."""
    stop = threading.Event()
    started = threading.Barrier(threads + 1)

    def loop():
        started.wait()
        while not stop.is_set():
            for _ in range(1000):
                work()

    pool = [threading.Thread(target=loop) for _ in range(threads)]
    for thread in pool:
        thread.start()
    try:
        started.wait()
        return sample_until(found, seconds, **options)
    finally:
        stop.set()
        for thread in pool:
            thread.join(30)


def by_where(report):
    return {entry.where: entry for entry in report.top(50)}


@needs_free_threading
def test_global_dict_hammered_is_first_and_named():
    report = hammer(read_hammered, found=lambda report: first_where(report)
                    == f"{__name__}.HAMMERED")
    check_findings()
    first = report.top(1)[0]
    assert first.where == f"{__name__}.HAMMERED"
    assert first.kind == "global"
    assert first.type == "dict"
    assert first.refcount_share >= contention.THRESHOLD
    assert first.cause == "refcount"
    if HAS_DEFERRED:
        assert "enable_deferred_refcount" in first.remedy, first.remedy
    else:
        assert "ThreadHandle" in first.remedy
    assert f"{__name__}.QUIET" not in by_where(report)
    # The report's forms agree.
    data = report.to_dict()
    assert data["entries"][0]["where"] == first.where
    assert json.loads(report.to_json())["sweeps"] == report.sweeps > 0
    assert first.where in str(report)


READ_BY_NAME = {i: i for i in range(100)}


def read_by_name():
    READ_BY_NAME[5]


@needs_free_threading
def test_no_deferral_advice_for_what_the_interpreter_defers():
    thread = threading.Thread(
        target=lambda: [read_by_name() for _ in range(10_000)])
    thread.start()
    thread.join(30)
    facts = Facts.of(READ_BY_NAME).to_dict()
    advice = remedy(facts, "global", "__main__.READ_BY_NAME", "refcount")
    if sys.version_info >= (3, 15):
        assert facts["deferred"]
        assert advice.name != "enable_deferred_refcount", advice
        assert "enable_deferred_refcount" not in advice.text, advice
        assert "the interpreter did it" in advice.text, advice
    else:
        assert not facts["deferred"]


@needs_free_threading
def test_own_copies_and_handles_are_not_reported():
    global RUNNING
    own_objects = []
    ready = threading.Barrier(3)

    def use_own_and_handled():
        # Each thread's own dict, and its own handle of a shared one, both
        # reachable from the module (the finder looks at them).
        own, handle = {i: i for i in range(100)}, ThreadHandle(HANDLED)
        own_objects.extend((own, handle))
        OWN.extend((own, handle))
        ready.wait()
        while RUNNING:
            for _ in range(1000):
                own[5]
                handle[5]

    RUNNING = True
    pool = [threading.Thread(target=use_own_and_handled) for _ in range(2)]
    for thread in pool:
        thread.start()
    try:
        ready.wait()
        report = contention.sample(SECONDS, duty=DUTY)
    finally:
        RUNNING = False
        for thread in pool:
            thread.join(30)
        OWN.clear()
    check_findings()
    watched = {id(obj) for obj in own_objects} | {id(HANDLED)}
    assert len(watched) == 5
    assert not [entry for entry in report.top(50) if entry.id in watched]


@needs_free_threading
def test_float_attribute_of_a_shared_instance_is_a_value():
    report = hammer(read_point_x, found=lambda report: (
        f"{__name__}.POINT.x" in by_where(report)))
    check_findings()
    value = by_where(report).get(f"{__name__}.POINT.x")
    assert value is not None, str(report)
    assert value.type == "float" and value.kind == "attr"
    assert "immortalize" in value.remedy
    if value.group:
        # Listed with POINT: one remedy for both (tests/test_remedies.py).
        assert value.group == f"{__name__}.POINT"
        assert value.remedy_name.endswith("immortalize_values")
    else:
        assert "value read from a shared object" in value.remedy
        assert value.remedy_name == "immortalize"


@needs_free_threading
def test_list_written_by_two_threads_at_once_is_lock_contention():
    # Only a thread parked waiting for a lock shows in its lock word, and a
    # waiter first spins (40 sched_yield()s, tens of milliseconds on a busy
    # machine), unseen.  So each write holds the lock 0.1 s: two threads
    # sorting by a slow key were seen waiting in 18-40% of the sweeps
    # (4 one-second runs on a busy 2-core machine).  Two threads doing
    # WRITTEN[5] = 1 were seen waiting in 6 of 10 runs, a slow sort with
    # 0.4 ms per write in 2 of 4, and the lock held 10-24% of the time
    # with one writer as with two.  Only the list is watched: many sweeps.
    stop = threading.Event()

    def sort():
        while not stop.is_set():
            SORTED.sort(key=slow_key)

    def found(report):
        entry = by_where(report).get(f"{__name__}.SORTED")
        return entry is not None and entry.cause == "lock"

    sorters = [threading.Thread(target=sort) for _ in range(2)]
    for thread in sorters:
        thread.start()
    try:
        report = sample_until(found, objects=[SORTED])
    finally:
        stop.set()
        for thread in sorters:
            thread.join(30)
    check_findings()
    entry = by_where(report).get(f"{__name__}.SORTED")
    assert entry is not None, str(report)
    assert entry.lock_share >= contention.THRESHOLD
    assert entry.cause == "lock"
    assert entry.remedy_name == "lock_split"
    assert "no handle or other tool helps" in entry.remedy


@needs_free_threading
def test_one_writer_is_not_lock_contention():
    # One thread writes a list and this module's globals (holding their
    # locks 13-20% of the time), another idles: nobody waits for a lock.
    namespace = globals()
    idle = threading.Event()
    idler = threading.Thread(target=idle.wait)
    idler.start()
    try:
        report = hammer(write_globals, threads=1,
                        objects=[WRITTEN, namespace])
    finally:
        idle.set()
        idler.join(30)
    check_findings()
    assert report.sweeps >= 100, str(report)
    for entry in report.entries:
        assert entry.lock_held == 0, str(report)
        assert entry.cause == "refcount"
    assert "threads wait for its lock" not in str(report)


def start_readers(table, stop):
    """Two threads that read table[5] until stop is set, through a closure
    cell (reading a cell takes a reference)."""
    def reader():
        while not stop.is_set():
            for _ in range(1000):
                table[5]

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for thread in readers:
        thread.start()
    return readers


def assert_first_named(report, kind, prefix):
    """The report's first entry was reached as `kind`, its place starts with
    `prefix`; the entry."""
    check_findings()
    top = report.top(1)
    assert top, str(report)
    assert top[0].kind == kind, str(report)
    assert top[0].where.startswith(prefix), top[0].where
    return top[0]


@needs_free_threading
def test_a_frame_local_is_named():
    # table is a local of this frame, which calls the finder.
    table = {i: -i for i in range(50)}
    stop = threading.Event()
    readers = start_readers(table, stop)
    try:
        report = sample_until(lambda report: report.top())
    finally:
        stop.set()
        for thread in readers:
            thread.join(30)
    first = assert_first_named(
        report, "local", "test_a_frame_local_is_named() test_contention.py:")
    assert " table " in first.where


@needs_free_threading
def test_a_closure_cell_of_another_threads_target_is_named():
    stop = threading.Event()

    def owner():
        # The locals of another thread's frames are not read (that would
        # race with the thread); its target's closure cells are.
        for thread in start_readers({i: -i for i in range(50)}, stop):
            thread.join()

    owning = threading.Thread(target=owner)
    owning.start()
    try:
        time.sleep(0.1)
        report = sample_until(lambda report: report.top())
    finally:
        stop.set()
        owning.join(30)
    assert_first_named(
        report, "cell",
        "closure cell table of start_readers.<locals>.reader() (thread ")


@needs_free_threading
def test_the_cap_cuts_and_says_so():
    report = hammer(read_hammered, seconds=0.5, cap=50)
    assert report.candidates == 50
    assert any("cap" in note for note in report.notes)
    assert "note: the cap cut" in str(report)


@needs_free_threading
def test_named_objects_only():
    report = hammer(read_hammered, objects=[QUIET, HAMMERED],
                    found=lambda report: report.top())
    assert report.candidates == 2
    check_findings()
    assert [entry.where for entry in report.top()] == [
        f"{__name__}.HAMMERED"]


RARE = {i: i for i in range(100)}


def hold_rare(rare=RARE):
    for _ in range(1000):
        read_hammered()


def hold_rare_half_the_time():
    # Holds a reference to RARE half the time, in turns of 1000 reads of
    # HAMMERED, whose count moves at every read: RARE's count is taken
    # and dropped ~10^4 times a second, HAMMERED's ~10^7.
    hold_rare()
    for _ in range(1000):
        read_hammered()


def estimates(report):
    """{where: estimate} of the entries listed."""
    return {entry.where: entry.estimate for entry in report.top(50)}


@needs_free_threading
def test_the_estimate_ranks_dense_traffic_above_rare_traffic():
    # Both counts change in most sweeps (their shares of sweeps are alike:
    # a sweep sees a count that changed, not how often), but HAMMERED's
    # changes some hundred times as often: its estimated cost must lead,
    # by far, and RARE's be small.
    hammered, rare = f"{__name__}.HAMMERED", f"{__name__}.RARE"

    def found(report):
        known = estimates(report)
        return (known.get(hammered) and rare in known
                and first_where(report) == hammered)

    # A burst sees changes only while a thread of the program runs on
    # another core: on a busy machine some windows see none (then retried).
    report = hammer(hold_rare_half_the_time, found=found,
                    objects=[RARE, HAMMERED], attempts=5)
    check_findings()
    known = estimates(report)
    assert known.get(hammered) is not None and rare in known, str(report)
    assert first_where(report) == hammered, str(report)
    assert known[hammered] > 10 * (known[rare] or 0.0), str(report)
    entries = by_where(report)
    assert entries[rare].small and not entries[hammered].small, str(report)
    assert entries[hammered].change_rate > 10 * entries[rare].change_rate
    assert report.threads > 0
    text = str(report)
    assert text.index(hammered) < text.index("below the line") < text.index(
        rare), text
    assert "threads' time" in text or "thread's time" in text


def made_report(estimates_by_where, threads=2.0):
    """A report with one dict entry per (where, estimate), as the finder
    would rank them (no sampling)."""
    entries = [
        contention.Entry(
            type="dict", repr="{}", where=where, kind="global", sweeps=1000,
            refcount_changes=500, lock_held=0, remedy="do this",
            change_rate=0.0 if estimate is None else estimate * 1e7,
            burst_seconds=0.0 if estimate is None else 0.01,
            estimate=estimate)
        for where, estimate in estimates_by_where]
    return contention.Report(entries=entries, seconds=1.0, sweeps=1000,
                             candidates=len(entries), notes=[],
                             threads=threads)


def test_small_estimates_are_listed_below_the_line():
    report = made_report([("m.BIG", 0.35), ("m.SMALL", 0.004),
                          ("m.UNKNOWN", None)])
    text = report.format()
    line = text.index("below the line")
    assert text.index("m.BIG") < line < text.index("m.SMALL") < text.index(
        "m.UNKNOWN"), text
    assert "~35% of the 2 threads' time" in text, text
    assert [entry.small for entry in report.top()] == [False, True, True]
    # Nothing below the line: no line.
    assert "below the line" not in made_report([("m.BIG", 0.35)]).format()


def test_an_estimate_is_at_most_all_of_the_threads_time():
    from threadhandle.contention import _cost
    # 10 M changes a second on 2 threads: the rough constant would say
    # more than the threads have.
    assert _cost.estimate(10e6, 0.0, 2.0) == 1.0
    assert _cost.estimate(1e6, 0.0, 2.0) < 1.0


def test_the_estimate_survives_json(tmp_path):
    report = made_report([("m.BIG", 0.35), ("m.UNKNOWN", None)], threads=1.9)
    path = tmp_path / "report.json"
    report.write_json(str(path))
    data = json.loads(path.read_text())
    assert [entry["estimate"] for entry in data["entries"]] == [0.35, None]
    assert data["threads"] == 1.9
    loaded = contention.Report.load(str(path))
    assert loaded.threads == 1.9
    assert [(entry.where, entry.estimate, entry.change_rate,
             entry.burst_seconds) for entry in loaded.entries] == [
        (entry.where, entry.estimate, entry.change_rate, entry.burst_seconds)
        for entry in report.entries]
    assert loaded.format() == report.format()
    # --compare reads the estimates: 0.35 -> 0.1 is "halved".
    after = made_report([("m.BIG", 0.1)])
    assert after.compare(loaded) == [(("dict", "m.BIG"), "halved"),
                                     (("dict", "m.UNKNOWN"), "gone")]


def test_bad_options():
    with pytest.raises(ValueError):
        contention.Finder(cap=0)
    with pytest.raises(ValueError):
        contention.Finder(duty=1.5)
    with pytest.raises(ValueError):
        contention.sample(0)


def test_each_option_is_defined_once():
    # The API (Finder, sample) and the command line read each default from
    # _options; sample() names its arguments.
    from threadhandle.contention import _options
    from threadhandle.contention.__main__ import parse_args
    args = parse_args(["script.py"])
    finder = inspect.signature(contention.Finder).parameters
    sample = inspect.signature(contention.sample).parameters
    assert not [parameter for parameter in sample.values()
                if parameter.kind is inspect.Parameter.VAR_KEYWORD]
    for option in _options.OPTIONS:
        assert getattr(args, option.name) == option.default
        assert finder[option.name].default == option.default
        assert sample[option.name].default == option.default
        assert sample[option.name].kind is inspect.Parameter.KEYWORD_ONLY
    with pytest.raises(ValueError, match="rate must be > 0 and <= 1,000,000"):
        contention.Finder(rate=2e6)
    with pytest.raises(TypeError):
        contention.sample(0.1, duration=1)


@needs_free_threading
def test_the_sampler_hands_back_named_records():
    from threadhandle._threadhandle import _Sampler
    sampler = _Sampler(1.0, 1e6)
    sampler.start()
    try:
        sampler.swap((HAMMERED, QUIET))
        sampler.resume()
        deadline = time.monotonic() + 30
        while sampler.stats().sweeps < 3 and time.monotonic() < deadline:
            HAMMERED[5]
            time.sleep(0.001)
        stats = sampler.stats()
        counts = sampler.swap(None)
    finally:
        sampler.stop()
    assert stats.sweeps == stats[0] >= 3
    assert stats.busy_seconds > 0 and stats.candidates == 2
    assert counts.sweeps == counts[0] >= 1
    for name in ("changes", "locked", "burst_changes", "burst_seconds"):
        assert len(getattr(counts, name)) == 2, name
    assert sampler.swap(None) is None


@pytest.mark.skipif(not GIL, reason="a GIL build")
def test_gil_build_says_there_is_nothing_to_find():
    with pytest.raises(contention.ContentionUnavailable,
                       match="no reference-count contention to find"):
        contention.sample(0.1)


# --------------------------------------------------------------------------
# The CLI
# --------------------------------------------------------------------------

PROGRAM = textwrap.dedent("""\
    import sys, threading, time
    TABLE = {i: i for i in range(100)}
    def read(table=TABLE):
        table[5]
    def work():
        end = time.monotonic() + %g
        while time.monotonic() < end:
            for _ in range(1000):
                read()
    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads: t.start()
    for t in threads: t.join()
    print("ran as", __name__, sys.argv[1:])
    sys.exit(int(sys.argv[1]))
    """)


cli = finder_cli


def assert_clean_error(result, words):
    assert result.returncode == 2, result
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3, result.stderr


def test_cli_no_such_script(tmp_path):
    assert_clean_error(cli("missing.py", cwd=tmp_path),
                       "cannot open script 'missing.py'")


def test_cli_no_such_module(tmp_path):
    assert_clean_error(cli("-m", "no_such_module_xyz", cwd=tmp_path),
                       "no module 'no_such_module_xyz'")


def test_cli_syntax_error(tmp_path):
    # As python reports it: exit status 1, no traceback.
    (tmp_path / "bad.py").write_text("def (:\n")
    result = cli("bad.py", cwd=tmp_path)
    assert result.returncode == 1
    assert "SyntaxError: invalid syntax" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("options", [["--duty", "0"], ["--duty", "2"],
                                     ["--cap", "x"], ["--top", "-1"], [],
                                     # abbreviations would blur where the
                                     # program's arguments start
                                     ["--dur", "5"], ["--out", "r.json"]])
def test_cli_bad_options(tmp_path, options):
    (tmp_path / "ok.py").write_text("pass\n")
    script = ["ok.py"] if options else []
    result = cli(*options, *script, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "error" in result.stderr


@pytest.mark.skipif(not GIL, reason="a GIL build")
def test_cli_gil_message(tmp_path):
    # The program runs, without sampling, after the message.
    (tmp_path / "ok.py").write_text("print('ran')\n")
    result = cli("ok.py", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == "ran\n"
    assert "no reference-count contention to find" in result.stderr
    assert "Traceback" not in result.stderr


@needs_free_threading
def test_cli_runs_the_program_and_keeps_its_status(tmp_path):
    (tmp_path / "prog.py").write_text(PROGRAM % 1.5)
    for _ in range(3):
        result = cli("--warmup", "0", "-q", "-o", "report.json", "prog.py",
                     "3", cwd=tmp_path)
        assert result.returncode == 3, result.stderr
        # The report goes to stderr: stdout is the program's.
        assert result.stdout == "ran as __main__ ['3']\n"
        assert result.stderr.startswith("threadhandle.contention on")
        assert result.stderr.endswith("threadhandle.contention: end of the "
                                      "report\n")
        data = json.loads((tmp_path / "report.json").read_text())
        # A loaded machine can leave the program's threads too little CPU
        # to be seen in 1.5 s: sample again.
        if data["entries"]:
            break
    check_findings()
    assert data["entries"][0]["where"] == "__main__.TABLE", result.stderr


@needs_free_threading
def test_cli_module_and_progress(tmp_path):
    (tmp_path / "progmod.py").write_text(PROGRAM % 1.5)
    for _ in range(3):
        result = cli("--warmup", "0", "-m", "progmod", "0", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "ran as __main__ ['0']" in result.stdout
        assert "sweeps/s" in result.stderr and "candidates" in result.stderr
        if "__main__.TABLE" in result.stderr:   # else sample again (load)
            break
    check_findings()
    assert "__main__.TABLE" in result.stderr


@needs_free_threading
def test_cli_program_that_raises(tmp_path):
    (tmp_path / "boom.py").write_text(
        "def f():\n    raise KeyError('x')\nf()\n")
    result = cli("--warmup", "0", "boom.py", cwd=tmp_path)
    assert result.returncode == 1
    assert "KeyError: 'x'" in result.stderr
    assert 'boom.py", line 2, in f' in result.stderr
    traceback = result.stderr.split("threadhandle.contention")[0]
    assert traceback.startswith("Traceback") and "KeyError" in traceback


@needs_free_threading
def test_cli_program_ends_before_the_warmup(tmp_path):
    (tmp_path / "quick.py").write_text("print('done')\n")
    result = cli("--warmup", "30", "quick.py", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == "done\n"
    assert "ended before sampling began" in result.stderr
