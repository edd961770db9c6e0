"""local_handle(obj): the calling thread's handle of obj, made on first use
and reused afterwards; and when its entries are released."""
import _thread
import contextvars
import ctypes
import gc
import os
import sys
import threading
import time
import weakref

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import threadhandle
from conftest import FREE_THREADED, run_python, run_threads
from threadhandle import (
    ThreadHandle,
    clear_local_handles,
    local_handle,
    release_local_handle,
    unwrap,
)
from threadhandle import local as local_module
from threadhandle._threadhandle import _THREAD_END_HOOK


class Obj:
    """A weak-referenceable object with a value."""

    def __init__(self, value=0):
        self.value = value


def cached_count():
    """How many handles the calling thread has cached."""
    return len(threadhandle._threadhandle._thread_handles())


@pytest.fixture(autouse=True)
def empty_table():
    """Each test starts and ends with an empty handle table on the main
    thread."""
    clear_local_handles()
    yield
    clear_local_handles()


def collected(ref):
    """Whether the object behind weak reference `ref` is gone."""
    gc.collect()
    return ref() is None


def test_exported():
    assert threadhandle.local_handle is local_handle
    assert threadhandle.release_local_handle is release_local_handle
    assert threadhandle.clear_local_handles is clear_local_handles


@pytest.mark.parametrize("value", [
    {"a": 1}, [1, 2, 3], "text", 12345678901234567890, None, Obj(3), len,
])
def test_reused_on_the_same_thread(value):
    handle = local_handle(value)
    assert type(handle) is ThreadHandle
    assert unwrap(handle) is value
    assert local_handle(value) is handle
    assert local_handle(value) is handle


def test_behaves_like_the_object():
    table = {"a": 1, "b": 2}
    handle = local_handle(table)
    assert handle == table
    assert handle["a"] == 1
    assert sorted(handle) == ["a", "b"]
    handle["c"] = 3
    assert table["c"] == 3


def test_handle_of_a_handle_is_the_objects_handle():
    table = {"a": 1}
    handle = local_handle(table)
    assert local_handle(ThreadHandle(table)) is handle
    assert local_handle(handle) is handle
    assert cached_count() == 1


def test_reuse_adds_no_reference():
    table = {"a": 1}
    local_handle(table)
    before = sys.getrefcount(table)
    for _ in range(1000):
        local_handle(table)
    assert sys.getrefcount(table) == before


def test_different_threads_get_different_handles():
    table = {"a": 1}
    count = 4
    handles = [None] * count
    again = [None] * count

    def work(index):
        handles[index] = local_handle(table)
        again[index] = local_handle(table)

    run_threads(work, count)
    # The handles are all alive (held by the lists), so distinct ids mean
    # distinct handles.
    assert len({id(h) for h in handles}) == count
    assert all(a is h for a, h in zip(again, handles))
    assert all(unwrap(h) is table for h in handles)
    main = local_handle(table)
    assert all(main is not h for h in handles)


def test_released_when_the_thread_ends():
    box = [Obj()]
    obj_ref = weakref.ref(box[0])
    handle_refs = []

    def work(index):
        handle_refs.append(weakref.ref(local_handle(box[0])))
        assert local_handle(box[0]) is handle_refs[0]()

    run_threads(work, 1)
    box.clear()
    assert collected(obj_ref)
    assert collected(handle_refs[0])


def test_thread_pool_worker_keeps_its_entries_until_it_ends():
    from concurrent.futures import ThreadPoolExecutor

    def handle_id(obj):
        return id(local_handle(obj))

    obj = Obj()
    obj_ref = weakref.ref(obj)
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(handle_id, obj).result()
        second = pool.submit(handle_id, obj).result()
        assert first == second  # the same worker thread, the same handle
        del obj
        assert not collected(obj_ref)  # the worker's handle table holds it
    assert collected(obj_ref)


def test_release_local_handle():
    obj = Obj()
    obj_ref = weakref.ref(obj)
    handle = local_handle(obj)
    assert release_local_handle(obj) is True
    assert release_local_handle(obj) is False
    assert cached_count() == 0
    new_handle = local_handle(obj)
    assert new_handle is not handle
    assert unwrap(handle) is obj  # a released handle stays valid
    assert release_local_handle(ThreadHandle(obj)) is True  # by its handle
    del obj, handle, new_handle
    assert collected(obj_ref)


def test_release_only_touches_the_calling_thread():
    table = {"a": 1}
    mine = local_handle(table)
    released = []

    def work(index):
        released.append(release_local_handle(table))

    run_threads(work, 1)
    assert released == [False]
    assert local_handle(table) is mine


def test_clear_local_handles():
    objs = [Obj(i) for i in range(10)]
    refs = [weakref.ref(o) for o in objs]
    for o in objs:
        local_handle(o)
    assert cached_count() == 10
    clear_local_handles()
    assert cached_count() == 0
    del objs, o
    assert all(collected(r) for r in refs)


def test_growth_is_bounded(monkeypatch):
    monkeypatch.setattr(local_module, "MAX_HANDLES_PER_THREAD", 8)
    refs = []
    for i in range(50):
        obj = Obj(i)
        refs.append(weakref.ref(obj))
        local_handle(obj)
        assert cached_count() <= 8
    del obj
    gc.collect()
    # The oldest entries went first; the 8 newest are still cached.
    assert [r() is not None for r in refs] == [False] * 42 + [True] * 8


def test_default_limit_bounds_growth():
    limit = local_module.MAX_HANDLES_PER_THREAD
    for i in range(limit + 10):
        local_handle(Obj(i))
    assert cached_count() == limit


def test_finalizer_calling_local_handle_during_eviction(monkeypatch):
    monkeypatch.setattr(local_module, "MAX_HANDLES_PER_THREAD", 2)
    survivor = {"kept": True}

    class CallsBack:
        def __del__(self):
            local_handle(survivor)

    local_handle(CallsBack())
    local_handle(Obj(1))
    handle = local_handle(Obj(2))  # evicts CallsBack, whose __del__ runs
    assert cached_count() <= 2
    assert unwrap(handle).value == 2
    assert local_handle(survivor) == survivor


@pytest.mark.thread_unsafe(
    reason="sets the module-wide MAX_HANDLES_PER_THREAD")
def test_a_limit_that_is_not_an_int_is_an_error(monkeypatch):
    kept = Obj()
    local_handle(kept)
    monkeypatch.setattr(local_module, "MAX_HANDLES_PER_THREAD", "many")
    with pytest.raises(TypeError, match="MAX_HANDLES_PER_THREAD"):
        local_handle(Obj())
    assert cached_count() == 1
    assert unwrap(local_handle(kept)) is kept  # cached entries still work


@pytest.mark.thread_unsafe(
    reason="sets the module-wide MAX_HANDLES_PER_THREAD")
@pytest.mark.parametrize("limit", [0, -5])
def test_a_limit_of_zero_caches_nothing(monkeypatch, limit):
    local_handle(Obj())
    monkeypatch.setattr(local_module, "MAX_HANDLES_PER_THREAD", limit)
    obj = Obj()
    first = local_handle(obj)
    assert unwrap(first) is obj
    assert local_handle(obj) is not first
    assert cached_count() == 0


class Limit:
    """An integer-like limit (as numpy's integers are)."""

    def __index__(self):
        return 3


@pytest.mark.thread_unsafe(
    reason="sets the module-wide MAX_HANDLES_PER_THREAD")
@pytest.mark.parametrize("limit, kept", [(Limit(), 3), (10**30, 20),
                                         (True, 1)])
def test_integer_like_and_huge_limits(monkeypatch, limit, kept):
    monkeypatch.setattr(local_module, "MAX_HANDLES_PER_THREAD", limit)
    objs = [Obj(i) for i in range(20)]
    handles = [local_handle(o) for o in objs]
    assert cached_count() == kept
    assert local_handle(objs[-1]) is handles[-1]


@pytest.mark.thread_unsafe(
    reason="sets the module-wide MAX_HANDLES_PER_THREAD")
def test_a_finalizer_clearing_the_table_during_eviction(monkeypatch):
    monkeypatch.setattr(local_module, "MAX_HANDLES_PER_THREAD", 1)

    class ClearsOnDel:
        def __del__(self):
            clear_local_handles()

    local_handle(ClearsOnDel())
    table = Obj()
    first = local_handle(table)  # evicts ClearsOnDel, which clears
    assert local_handle(table) is first
    assert cached_count() == 1


def test_finalizers_run_when_a_thread_ends_leave_nothing_cached():
    # The thread's handle table is freed while CPython clears the thread's
    # state; a handle asked for by a finalizer then must not start a table that
    # nothing would ever free.
    survivor = Obj()
    survivor_ref = weakref.ref(survivor)
    made = []

    class AsksOnDel:
        def __del__(self):
            fresh = Obj()
            made.append(weakref.ref(fresh))
            assert unwrap(local_handle(survivor_ref())) is survivor_ref()
            assert unwrap(local_handle(fresh)) is fresh

    def work(index):
        local_handle(AsksOnDel())

    run_threads(work, 4)
    del survivor
    gc.collect()
    assert len(made) == 4
    assert survivor_ref() is None
    assert all(ref() is None for ref in made)


# Objects whose finalizers run while their thread ends, from something
# CPython clears with the thread's state: its context (cleared after the
# thread's state dict) or a threading.local (cleared with, or before, the
# state dict, depending on the version).  A handle they ask for must not
# start a handle table: nothing would free it, nor the object it holds.

class AsksForAHandle:
    def __init__(self, target, finalized):
        self.target = target
        self.finalized = finalized

    def __del__(self):
        local_handle(self.target)
        self.finalized.append(1)


def wait_until_finalized_and_freed(refs, finalized, count, seconds=5.0):
    """Wait until `count` finalizers ran and every object behind `refs` is
    freed; how many are still alive when time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        gc.collect()
        if len(finalized) == count and all(ref() is None for ref in refs):
            return 0
        time.sleep(0.02)
    return sum(ref() is not None for ref in refs)


def run_raw_threads(target, count):
    """target() in `count` threads started with _thread, which run in the
    thread's own context (threading.Thread may run them in a copy of the
    starting thread's context, freed later by that thread)."""
    for _ in range(count):
        _thread.start_new_thread(target, ())


CACHE_USE = ["cached before", "cached after", "never cached"]


def cache_use_param(use):
    """3.11 has no flag for a thread state being cleared: a thread that
    never cached a handle cannot tell its teardown from its start, and only
    the thread-end hook (internals.h; not in a build without internals)
    frees a table made then."""
    if (use == "never cached" and sys.version_info < (3, 12)
            and not _THREAD_END_HOOK):
        return pytest.param(use, marks=[
            pytest.mark.xfail(
                strict=True,
                reason="3.11 without internals: no way to tell the thread "
                       "is ending"),
            # The test makes the leak it checks for; LeakSanitizer (make
            # asan) would report it at exit.
            pytest.mark.skipif(
                "detect_leaks=1" in os.environ.get("ASAN_OPTIONS", ""),
                reason="leaks on purpose; LeakSanitizer is on"),
        ])
    return use


@pytest.mark.parametrize("use", [cache_use_param(u) for u in CACHE_USE])
def test_finalizer_in_the_threads_context_caches_nothing(use):
    var = contextvars.ContextVar("finalizing")
    refs, finalized, count = [], [], 10

    def work():
        if use == "cached before":
            local_handle(Obj())
        target = Obj()
        refs.append(weakref.ref(target))
        var.set(AsksForAHandle(target, finalized))
        if use == "cached after":
            local_handle(Obj())

    run_raw_threads(work, count)
    assert wait_until_finalized_and_freed(refs, finalized, count) == 0


@pytest.mark.parametrize("use", [cache_use_param(u) for u in CACHE_USE])
def test_finalizer_in_a_threading_local_caches_nothing(use):
    slot = threading.local()
    refs, finalized, count = [], [], 10

    def work(index):
        if use == "cached before":
            local_handle(Obj())
        target = Obj()
        refs.append(weakref.ref(target))
        slot.value = AsksForAHandle(target, finalized)
        if use == "cached after":
            local_handle(Obj())

    run_threads(work, count)
    assert wait_until_finalized_and_freed(refs, finalized, count) == 0


# Threads still running when the interpreter exits: CPython clears their
# thread states from the main thread, running their finalizers (and, on
# 3.11, the thread-end hook) there.
THREADS_ALIVE_AT_EXIT = """
import _thread, contextvars, threading, time
from threadhandle import local_handle

var = contextvars.ContextVar("finalizing")

class AsksOnDel:
    def __del__(self):
        local_handle(object())

def lingers():
    var.set(AsksOnDel())
    local_handle([])
    time.sleep(60)

def ends():
    var.set(AsksOnDel())

for _ in range(3):
    _thread.start_new_thread(lingers, ())
    threading.Thread(target=lingers, daemon=True).start()
for _ in range(3):
    t = threading.Thread(target=ends)
    t.start()
    t.join()
local_handle({})
print("exiting")
"""


def test_threads_alive_at_exit_with_tables_exit_cleanly():
    result = run_python(THREADS_ALIVE_AT_EXIT)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "exiting\n"
    assert "Exception ignored" not in result.stderr, result.stderr


# Issue 15, item 1: on 3.11 _thread._set_sentinel() (run by `import
# threading`, and after fork() in a child whose thread was started with
# _thread) drops whatever the thread state's on_delete_data holds, which
# was the handle table: a use after free (a crash at exit with
# PYTHONMALLOC=malloc, a lost or foreign table).  Run everywhere: nothing
# of this may change on any version.
TABLE_BEFORE_IMPORT_THREADING = """
import gc
from threadhandle import local_handle
class O:
    pass
o = O()
h = local_handle(o)
import threading
assert local_handle(o) is h, "the table was lost"
assert local_handle(O()) is not h
gc.collect()
t = threading.Thread(target=lambda: local_handle(o))
t.start()
t.join()
assert local_handle(o) is h
print("ok")
"""

TABLE_IN_A_FORKED_CHILD = """
import _thread, os, threading, time
from threadhandle import local_handle
class O:
    pass
o = O()
status = []
def run():
    h = local_handle(o)
    pid = os.fork()
    if pid == 0:
        try:
            ok = local_handle(o) is h and local_handle(O()) is not h
        except BaseException:
            os._exit(4)
        os._exit(0 if ok else 3)
    status.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
_thread.start_new_thread(run, ())
deadline = time.monotonic() + 60
while not status and time.monotonic() < deadline:
    time.sleep(0.01)
print(status)
"""


@pytest.mark.parametrize("code, expected", [
    (TABLE_BEFORE_IMPORT_THREADING, "ok\n"),
    pytest.param(TABLE_IN_A_FORKED_CHILD, "[0]\n", marks=pytest.mark.skipif(
        not hasattr(os, "fork"), reason="needs fork()")),
], ids=["import threading", "fork"])
def test_the_table_survives_threading_resetting_the_thread_state(code,
                                                                 expected):
    # The system allocator, where the build has one to choose (free-threaded
    # builds have only mimalloc): a use after free crashes instead of
    # passing.
    env = dict(os.environ)
    if not FREE_THREADED:
        env["PYTHONMALLOC"] = "malloc"
    result = run_python(code, env=env)
    assert (result.returncode, result.stdout) == (0, expected), result.stderr


def test_a_cleared_table_caches_again_on_a_live_thread():
    table = Obj()
    first = local_handle(table)
    clear_local_handles()
    second = local_handle(table)
    assert second is not first
    assert local_handle(table) is second
    assert cached_count() == 1

    def work(index):
        local_handle(Obj())
        clear_local_handles()
        h = local_handle(table)
        assert local_handle(table) is h
        assert cached_count() == 1

    run_threads(work, 4)


def test_finalizers_run_by_clear_see_an_empty_table():
    seen = []

    class Records:
        def __del__(self):
            seen.append(cached_count())

    local_handle(Records())
    local_handle(Obj())
    clear_local_handles()
    assert seen == [0]


def test_a_foreign_thread_state_entry_is_an_error_not_a_crash():
    # The handle table lives in the thread's state dict; ctypes can reach
    # it.  (A restype of py_object would take the borrowed result as a new
    # reference; cast() increfs it.)
    get_dict = ctypes.pythonapi.PyThreadState_GetDict
    get_dict.restype = ctypes.c_void_p
    state = ctypes.cast(get_dict(), ctypes.py_object).value
    key = "threadhandle.local_handles"
    saved = state.pop(key, None)
    state[key] = ["not", "a", "dict"]
    try:
        for call in (lambda: local_handle(Obj()),
                     lambda: release_local_handle(Obj()),
                     clear_local_handles):
            with pytest.raises(RuntimeError, match="not its handle table"):
                call()
    finally:
        del state[key]
        if saved is not None:
            state[key] = saved


# A model of one thread's handle table: an insertion-ordered dict of object
# index to the handle it returned, oldest dropped first past the limit.
operations = st.lists(
    st.tuples(st.sampled_from(["get", "release", "clear"]),
              st.integers(0, 5)),
    max_size=60,
)


@pytest.mark.thread_unsafe(
    reason="sets the module-wide MAX_HANDLES_PER_THREAD")
@settings(max_examples=100, deadline=None)
@given(operations, st.integers(1, 4))
def test_handle_table_matches_a_model(ops, limit):
    old_limit = local_module.MAX_HANDLES_PER_THREAD
    local_module.MAX_HANDLES_PER_THREAD = limit
    try:
        clear_local_handles()
        objects = [Obj(i) for i in range(6)]
        model = {}
        for op, index in ops:
            obj = objects[index]
            if op == "get":
                handle = local_handle(obj)
                assert unwrap(handle) is obj
                if index in model:
                    assert handle is model[index]
                else:
                    assert all(handle is not h for h in model.values())
                    if len(model) >= limit:
                        del model[next(iter(model))]
                    model[index] = handle
            elif op == "release":
                assert release_local_handle(obj) is (index in model)
                model.pop(index, None)
            else:
                clear_local_handles()
                model.clear()
            assert cached_count() == len(model) <= limit
    finally:
        local_module.MAX_HANDLES_PER_THREAD = old_limit
        clear_local_handles()
