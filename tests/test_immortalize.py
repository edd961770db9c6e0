"""threadhandle.immortalize(obj): where it works, the object's reference
count never moves again and it is never freed, and nothing else about it
changes; where it cannot work, nothing is done and it returns False; an
object another thread may hold is refused."""
import gc
import sys
import threading
import weakref

import pytest

import threadhandle
from threadhandle import ThreadHandle, immortalize
from threadhandle import _threadhandle as core

from conftest import FREE_THREADED, run_threads

CAN = core._CAN_IMMORTALIZE
# Whether immortalize makes objects immortal as the tests use them: CPython
# internals on 3.13t-3.15t; the public PyUnstable_SetImmortal (3.15t built
# without them, later versions) refuses any object that is not uniquely
# referenced (a global, a container or a second name refers to it).
MAKES_IMMORTAL = CAN and core._SET_IMMORTAL
needs_immortal = pytest.mark.skipif(
    not MAKES_IMMORTAL, reason="this build cannot make objects immortal")


def is_immortal(obj):
    """What the interpreter says: sys._is_immortal (3.14+); on 3.13t the
    count reads the immortal value (no deferred reference counting
    there)."""
    if hasattr(sys, "_is_immortal"):
        return sys._is_immortal(obj)
    return sys.getrefcount(obj) >= 2**31


class Plain:
    """An instance of an ordinary class; its finalizer appends its id to
    the list given as `finalized`, if any."""

    def __init__(self, **attrs):
        self.__dict__.update(attrs)

    def __del__(self):
        finalized = self.__dict__.get("finalized")
        if finalized is not None:
            finalized.append(id(self))


def fresh_objects():
    """Objects of many kinds, each made now by the calling thread, with an
    equal twin made the same way (for comparing values)."""
    def make():
        return [
            float("2.5"),
            int("7" * 30),
            complex(1.5, -2.0),
            tuple([1, "a", 2.5]),
            frozenset({1, 2, 3}),
            b"bytes" + bytes(3),
            bytearray(b"abc"),
            [1, 2.5, "x"],
            {"k": 1, "j": [2]},
            {1, 2},
            Plain(x=1.5, name="w"),
            range(3, 30, 2),
        ]
    return make(), make()


def test_exported_and_documented():
    assert threadhandle.immortalize is immortalize
    assert "immortalize" in threadhandle.__all__
    doc = " ".join(immortalize.__doc__.split())
    assert "never freed" in doc
    assert "before other threads can reach it" in doc
    assert "does not immortalize the values" in doc


def test_availability_matches_the_interpreter():
    if not FREE_THREADED:
        assert not CAN
    elif sys.version_info >= (3, 15):
        # The public PyUnstable_SetImmortal where the internals are off.
        assert CAN
    else:
        # 3.13t and 3.14t: CPython internals, off when built with
        # THREADHANDLE_NO_INTERNALS=1.
        assert CAN == core._SET_IMMORTAL


@pytest.mark.skipif(not CAN or core._SET_IMMORTAL,
                    reason="not the public PyUnstable_SetImmortal")
def test_the_public_call_refuses_an_object_referenced_elsewhere():
    obj = Plain(x=1)
    held = [obj]
    before = sys.getrefcount(obj)
    with pytest.raises(ValueError, match="uniquely referenced"):
        immortalize(obj)
    assert not is_immortal(obj)
    assert sys.getrefcount(obj) == before
    assert held[0] is obj


@pytest.mark.skipif(CAN, reason="this build makes objects immortal")
def test_where_unavailable_nothing_is_done():
    objects, _ = fresh_objects()
    for obj in objects + ["a str " + str(len(objects))]:
        before = sys.getrefcount(obj)
        assert immortalize(obj) is False
        assert sys.getrefcount(obj) == before
        refs = [obj] * 10
        assert sys.getrefcount(obj) == before + 10
        del refs
    # ... and the object is still freed at its last reference.
    finalized = []
    obj = Plain(x=1, finalized=finalized)
    ident = id(obj)
    ref = weakref.ref(obj)
    assert immortalize(obj) is False
    del obj
    gc.collect()
    assert ref() is None
    assert finalized == [ident]


@needs_immortal
def test_refcount_no_longer_moves():
    objects, _ = fresh_objects()
    for obj in objects:
        assert not is_immortal(obj), obj
        assert immortalize(obj) is True
        assert is_immortal(obj), obj
        before = sys.getrefcount(obj)
        refs = [obj] * 100
        holder = {"a": obj, "b": (obj, obj)}
        assert sys.getrefcount(obj) == before, obj
        del refs, holder
        assert sys.getrefcount(obj) == before, obj


@needs_immortal
def test_survives_del_and_collection():
    finalized = []
    obj = Plain(x=1.0, finalized=finalized)
    ref = weakref.ref(obj)
    assert immortalize(obj)
    del obj
    gc.collect()
    assert ref() is not None
    assert ref().x == 1.0
    assert finalized == []
    # A cycle through an immortal object is never collected (CPython
    # untracks it from the GC); the same cycle, mortal, is.
    for make_immortal in (False, True):
        node = Plain()
        node.me = node
        ref = weakref.ref(node)
        if make_immortal:
            assert immortalize(node)
            assert not gc.is_tracked(node)
        del node
        gc.collect()
        assert (ref() is not None) == make_immortal


@needs_immortal
def test_nothing_else_changes():
    objects, twins = fresh_objects()
    for obj, twin in zip(objects, twins):
        kind = type(obj)
        attrs = dict(vars(obj)) if hasattr(obj, "__dict__") else None
        hashed = hash(obj) if kind.__hash__ is not None else None
        text = repr(obj)
        assert immortalize(obj)
        assert type(obj) is kind
        assert repr(obj) == text
        if kind is not Plain:
            assert obj == twin
        if hashed is not None:
            assert hash(obj) == hashed
        if attrs is not None:
            assert vars(obj) == attrs
    # Mutable objects stay mutable.
    lst, dct, obj = objects[7], objects[8], objects[10]
    lst.append(4)
    dct["new"] = 5
    obj.y = 2
    assert lst[-1] == 4 and dct["new"] == 5 and obj.y == 2


@needs_immortal
def test_already_immortal_is_left_alone():
    for obj in (None, True, 5, (), "interned"):
        assert is_immortal(obj)
        before = sys.getrefcount(obj)
        assert immortalize(obj) is True
        assert sys.getrefcount(obj) == before
    obj = Plain()
    assert immortalize(obj) is True
    assert immortalize(obj) is True


@needs_immortal
def test_refuses_a_str_that_is_not_immortal():
    text = "made at run time " + str(id(object()))
    assert not is_immortal(text)
    with pytest.raises(TypeError, match="sys.intern"):
        immortalize(text)
    assert not is_immortal(text)
    # An interned string is immortal already on free-threaded builds.
    assert immortalize(sys.intern(text)) is True


@needs_immortal
def test_refuses_an_object_made_by_another_thread():
    made = []
    thread = threading.Thread(target=lambda: made.append(Plain(x=1)))
    thread.start()
    thread.join()
    obj = made[0]
    with pytest.raises(ValueError, match="made by another thread"):
        immortalize(obj)
    assert not is_immortal(obj)
    ref = weakref.ref(obj)
    made.clear()
    del obj
    gc.collect()
    assert ref() is None  # still mortal: freed at its last reference


@needs_immortal
@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="glibc's reuse of an ended thread's id")
@pytest.mark.thread_unsafe(reason="needs threads started one after another")
def test_what_is_checked_is_the_owner_id_in_the_header():
    """Issue 21, item 12, pinned as documented: the owner the header names
    is a thread id, and a thread started after another ended is often
    given its id (on Linux the address of its TLS block, as get_ident()
    is); an object the ended thread made then passes as the caller's,
    while another thread can reach it (through `shared`).  With another
    id it is refused."""
    shared = []
    seen = {}

    def make():
        seen["maker"] = threading.get_ident()
        shared.append(Plain(x=1))

    def take():
        seen["taker"] = threading.get_ident()
        try:
            seen["result"] = immortalize(shared[-1])
        except ValueError as exc:
            seen["result"] = exc

    for _ in range(5):
        for target in (make, take):
            thread = threading.Thread(target=target)
            thread.start()
            thread.join()
        reused = seen["maker"] == seen["taker"]
        if reused:
            assert seen["result"] is True
            assert is_immortal(shared[-1])
        else:
            assert isinstance(seen["result"], ValueError)
            assert "made by another thread" in str(seen["result"])
            assert "ob_tid" in str(seen["result"])


@needs_immortal
def test_refuses_an_object_another_thread_holds():
    obj = Plain(x=1)
    holding = threading.Event()
    release = threading.Event()

    def hold():
        local = obj  # a reference taken by this thread: the shared count
        holding.set()
        release.wait(30)
        del local

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(30)
        with pytest.raises(ValueError, match="other threads hold"):
            immortalize(obj)
        assert not is_immortal(obj)
    finally:
        release.set()
        thread.join()


@needs_immortal
def test_refuses_an_object_with_deferred_reference_counting():
    # Its shared count holds a constant (3.14t: enable_deferred_refcount).
    obj = Plain()
    if not threadhandle.enable_deferred_refcount(obj):
        pytest.skip("no deferred reference counting on this interpreter")
    with pytest.raises(ValueError, match="deferred"):
        immortalize(obj)
    assert not is_immortal(obj)


@needs_immortal
def test_a_weak_reference_is_no_refusal():
    obj = Plain(x=1)
    ref = weakref.ref(obj)
    assert immortalize(obj) is True
    assert ref() is obj


@needs_immortal
def test_a_handle_immortalizes_its_object():
    obj = Plain(x=1)
    handle = ThreadHandle(obj)
    assert immortalize(handle) is True
    assert is_immortal(obj)
    assert not is_immortal(handle)


@needs_immortal
def test_a_container_values_stay_mortal():
    value = Plain(v=1)
    table = {"w": value, "list": [value]}
    assert immortalize(table)
    assert not is_immortal(value)
    before = sys.getrefcount(value)
    refs = [table["w"]] * 10
    assert sys.getrefcount(value) == before + 10
    del refs
    # The immortal dict's references are never dropped: its values live.
    ref = weakref.ref(value)
    del value
    gc.collect()
    assert ref() is not None
    assert table["w"] is ref()


@needs_immortal
def test_threads_share_an_immortal_object():
    shared = {"w": float("1.5"), "table": list(range(100))}
    for value in shared.values():
        assert immortalize(value)
    assert immortalize(shared)
    counts = {name: sys.getrefcount(v) for name, v in shared.items()}

    def read(index):
        total = 0.0
        for _ in range(20_000):
            total += shared["w"] * shared["table"][index]
        assert total == 20_000 * 1.5 * index

    run_threads(read, 4)
    assert {name: sys.getrefcount(v) for name, v in shared.items()} == counts
