"""The finder never runs the program's code while it gathers candidates and
names where they live: no property, __getattr__, __getattribute__,
__class__, __repr__ or metaclass of the program's is called, a dead
weakref.proxy does not stop it, a LazyLoader module stays unloaded, a
threading.local subclass's __init__ runs only where the program uses it;
its report is JSON whatever the program's classes say; a failed start
leaves no thread behind.

The sampling tests run two threads for about a second."""
import importlib.util
import json
import os
import stat
import sys
import textwrap
import threading
import types
import weakref

import pytest

from threadhandle import contention
from threadhandle.contention import _peek

from conftest import (
    GIL, UNDER_TSAN, check_findings, finder_cli, needs_free_threading_mark,
    samples_the_process_mark)

needs_free_threading = needs_free_threading_mark()
pytestmark = samples_the_process_mark()

SECONDS = 1.0
DUTY = 0.5


@pytest.fixture
def program_module(tmp_path):
    """A module of the program's (its file in tmp_path), in sys.modules
    while the test runs."""
    name = f"finder_program_{os.getpid()}"
    module = types.ModuleType(name)
    module.__file__ = str(tmp_path / f"{name}.py")
    sys.modules[name] = module
    try:
        yield module
    finally:
        del sys.modules[name]


# --------------------------------------------------------------------------
# Gathering the candidates
# --------------------------------------------------------------------------

class Gone:
    pass


@needs_free_threading
def test_a_dead_weakref_proxy_global_does_not_stop_the_finder(
        program_module):
    program_module.PROXY = weakref.proxy(Gone())
    with pytest.raises(ReferenceError):
        program_module.PROXY.anything
    report = contention.sample(0.2, duty=DUTY)
    assert report.candidates > 0


@needs_free_threading
def test_a_lazy_module_the_program_never_used_stays_unloaded(tmp_path):
    name = f"finder_lazy_{os.getpid()}"
    loaded = tmp_path / "loaded"
    path = tmp_path / f"{name}.py"
    path.write_text(f"open({str(loaded)!r}, 'w').close()\n")
    spec = importlib.util.spec_from_file_location(name, path)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        assert not loaded.exists()
        contention.sample(0.2, duty=DUTY)
        assert not loaded.exists(), "the finder loaded a lazy module"
    finally:
        del sys.modules[name]


CALLS = []
ARMED = False


def record(what, detail=None):
    if ARMED:
        CALLS.append((what, detail))


def calls(what):
    return [call for call in CALLS if call[0] == what]


class RecordingTarget:
    """A thread's target: any attribute read on it is recorded."""

    def __init__(self, stop):
        self.stop = stop

    def __call__(self):
        object.__getattribute__(self, "stop").wait(30)

    def __getattribute__(self, name):
        record("target", name)
        return object.__getattribute__(self, name)


class RecordingThread(threading.Thread):
    """A Thread subclass whose ident property records its readers."""

    @property
    def ident(self):
        record("thread ident")
        return self._ident


@needs_free_threading
def test_a_threads_target_and_the_thread_are_read_raw():
    global ARMED
    stop = threading.Event()
    thread = RecordingThread(target=RecordingTarget(stop))
    thread.start()
    CALLS.clear()
    ARMED = True
    try:
        contention.sample(0.2, duty=DUTY)
    finally:
        ARMED = False
        stop.set()
        thread.join(30)
    assert calls("target") == []
    assert calls("thread ident") == []


# --------------------------------------------------------------------------
# Naming where a contended object lives: the walk passes objects of every
# kind (a module of the program's, defined before the contended object so
# that the walk reads them first).
# --------------------------------------------------------------------------

class RecordingLocal(threading.local):
    def __init__(self):
        INITS.append(threading.get_ident())


INITS = []


class SlotsWithGetattr:
    __slots__ = ("value",)

    def __getattr__(self, name):
        record("__getattr__", name)
        raise AttributeError(name)


class WithGetattribute:
    def __init__(self):
        self.value = 1

    def __getattribute__(self, name):
        record("__getattribute__", name)
        return object.__getattribute__(self, name)


class WithClassProperty:
    @property
    def __class__(self):
        record("__class__")
        return type(self)


class WithDictProperty:
    @property
    def __dict__(self):
        record("__dict__ property")
        return {}


class ReprKey:
    def __repr__(self):
        record("key __repr__")
        return "ReprKey()"


class RecordingMeta(type):
    def __getattribute__(cls, name):
        record("metaclass", name)
        return super().__getattribute__(name)

    def __instancecheck__(cls, obj):
        record("metaclass", "__instancecheck__")
        return super().__instancecheck__(obj)


class Watched(metaclass=RecordingMeta):
    pass


class Contended:
    """The contended object's class: its __module__ is not a str."""
    __module__ = 123

    def __repr__(self):
        record("contended __repr__")
        return "Contended()"


def hammer_until_named(module, target_id, attempts=3):
    """Two threads read module.HOLDER[0] (id target_id) while the finder
    samples (refreshing, so that its own thread names the leaders too); the
    last report, once the object is in it.  No frame of this thread holds
    the object: the finder reads this thread's frame locals, and would
    name it by a local."""
    global ARMED
    stop = threading.Event()
    started = threading.Barrier(3)

    def work():
        started.wait()
        while not stop.is_set():
            for _ in range(1000):
                module.HOLDER[0]

    pool = [threading.Thread(target=work) for _ in range(2)]
    for thread in pool:
        thread.start()
    CALLS.clear()
    ARMED = True
    try:
        started.wait()
        for _ in range(attempts):
            report = contention.sample(SECONDS, duty=DUTY, refresh=0.3)
            if UNDER_TSAN or [entry for entry in report.entries
                              if entry.id == target_id]:
                break
    finally:
        ARMED = False
        stop.set()
        for thread in pool:
            thread.join(30)
    return report


@pytest.fixture(scope="module")
def walked(tmp_path_factory):
    """(report, contended object) after the finder walked every kind of
    object above, in this order, before the contended one."""
    if GIL:
        pytest.skip("reference-count contention exists only without a GIL")
    name = f"finder_zoo_{os.getpid()}"
    module = types.ModuleType(name)
    module.__file__ = str(tmp_path_factory.mktemp("zoo") / f"{name}.py")
    module.LOCAL = RecordingLocal()
    module.SLOTS = SlotsWithGetattr()
    module.GETATTRIBUTE = WithGetattribute()
    module.CLASS_PROPERTY = WithClassProperty()
    module.DICT_PROPERTY = WithDictProperty()
    module.KEYED = {ReprKey(): 1}
    module.WATCHED = Watched
    module.HOLDER = [Contended()]
    sys.modules[name] = module
    try:
        yield (hammer_until_named(module, id(module.HOLDER[0])),
               module.HOLDER[0])
    finally:
        del sys.modules[name]


def test_a_threading_local_subclass_init_runs_only_where_the_program_does(
        walked):
    check_findings()
    assert INITS == [threading.main_thread().ident]


@pytest.mark.parametrize("what", [
    "__getattr__", "__getattribute__", "__class__", "__dict__ property",
    "key __repr__", "metaclass", "contended __repr__"])
def test_no_method_of_the_programs_is_called(walked, what):
    check_findings()
    assert calls(what) == []


def test_the_contended_object_is_named(walked):
    report, target = walked
    check_findings()
    entry, = [entry for entry in report.entries if entry.id == id(target)]
    assert entry.where == f"finder_zoo_{os.getpid()}.HOLDER[0]"
    assert entry.repr.startswith("<123.Contended object at 0x")


def test_the_report_is_json_whatever_the_class_says(walked):
    report, target = walked
    check_findings()
    data = json.loads(report.to_json())
    entry, = [entry for entry in data["entries"] if entry["id"] == id(target)]
    facts = entry["facts"]
    assert facts["type_name"] == "Contended"
    assert facts["type_module"] == "123"
    assert all(type(value) in (str, bool, int) for value in facts.values())


# --------------------------------------------------------------------------
# The report's facts, its file, and a failed start
# --------------------------------------------------------------------------

class PlainClass:
    pass


def test_facts_tell_a_class_statements_type_from_a_c_type():
    import collections
    import decimal
    import re
    from threadhandle.contention._report import Facts

    plain = types.ModuleType("__main__")     # no __file__, as under -c
    exec("class Made: pass", plain.__dict__)
    for kind in (PlainClass, plain.Made, Watched,
                 collections.namedtuple("Pair", "a b")):
        assert not Facts.of(kind).is_c_type, kind
    for kind in (collections.deque, decimal.Decimal, re.Match, dict):
        facts = Facts.of(kind)
        assert facts.is_c_type, kind
        assert facts.c_module == {"Match": "re", "dict": "builtins"}.get(
            kind.__name__, kind.__module__)


def test_write_json_writes_whole_or_not_at_all(tmp_path, monkeypatch):
    path = tmp_path / "report.json"
    report = contention.Report(entries=[], seconds=1.0, sweeps=10,
                               candidates=2, notes=["a note"])
    report.write_json(str(path))
    assert json.loads(path.read_text())["sweeps"] == 10

    def fail(*args, **kwargs):
        raise TypeError("not JSON")

    path.write_text("the previous report\n")
    monkeypatch.setattr(contention.Report, "to_json", fail)
    with pytest.raises(TypeError):
        report.write_json(str(path))
    assert path.read_text() == "the previous report\n"
    assert os.listdir(tmp_path) == ["report.json"]


class _Plain:
    def __init__(self):
        self.x = 1.5


class _Slotted:
    __slots__ = ("y",)

    def __init__(self):
        self.y = 2.5


def test_an_instance_s_attributes_are_read():
    # Read through the type's plain __dict__ descriptor (on 3.15 one
    # shared by every class, owned by object) and its slots' members.
    assert _peek.instance_attributes(_Plain(), _peek.Layouts()) == [
        ("x", 1.5)]
    assert _peek.instance_attributes(_Slotted(), _peek.Layouts()) == [
        ("y", 2.5)]
    thread = threading.Thread(target=print, args=("an argument",))
    found = dict(_peek.instance_attributes(thread, _peek.Layouts()))
    assert found["_target"] is print
    assert found["_args"] == ("an argument",)


def test_write_json_writes_through_a_link_and_a_pipe(tmp_path):
    # -o report.json where report.json is a link, or -o /dev/stderr: the
    # link (or device) stays; what it points to gets the report.
    report = contention.Report(entries=[], seconds=1.0, sweeps=10,
                               candidates=2, notes=[])
    target = tmp_path / "target.json"
    target.write_text("old\n")
    link = tmp_path / "report.json"
    link.symlink_to(target)
    report.write_json(str(link))
    assert link.is_symlink()
    assert json.loads(target.read_text())["sweeps"] == 10
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    read = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        report.write_json(str(fifo))
        assert json.loads(os.read(read, 1 << 16))["sweeps"] == 10
    finally:
        os.close(read)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def _threads_of_this_process():
    return len(os.listdir("/proc/self/task"))


@needs_free_threading
@pytest.mark.skipif(not os.path.isdir("/proc/self/task"),
                    reason="counts the process's threads in /proc")
def test_a_failed_start_leaves_no_thread(monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("gathering failed")

    monkeypatch.setattr(contention, "gather", fail)
    before = _threads_of_this_process()
    finder = contention.Finder(duty=DUTY)
    for _ in range(2):          # and it can be started again
        with pytest.raises(RuntimeError, match="gathering failed"):
            finder.start()
        assert _threads_of_this_process() == before
    with pytest.raises(RuntimeError, match="not started"):
        finder.stop()


# --------------------------------------------------------------------------
# The CLI
# --------------------------------------------------------------------------

ODD_PROGRAM = textwrap.dedent("""\
    import threading, time
    class Odd:
        __module__ = b"not a str"
    TABLE = [Odd()]
    def work():
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            for _ in range(1000):
                TABLE[0]
    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads: t.start()
    for t in threads: t.join()
    print("done")
    """)


cli = finder_cli


@needs_free_threading
def test_cli_writes_json_for_a_class_whose_module_is_not_a_str(tmp_path):
    (tmp_path / "odd.py").write_text(ODD_PROGRAM)
    # Again while the Odd instance is not in the report (a shared machine
    # may leave the threads too little CPU in one run).
    for _ in range(3):
        result = cli("--warmup", "0", "-q", "-o", "report.json", "odd.py",
                     cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr, result.stderr
        assert result.stdout.startswith("done\n")
        data = json.loads((tmp_path / "report.json").read_text())
        odd = [entry for entry in data["entries"] if entry["type"] == "Odd"]
        if odd or UNDER_TSAN:
            break
    check_findings()
    assert odd, result.stdout
    assert odd[0]["facts"]["type_module"] == "b'not a str'"
