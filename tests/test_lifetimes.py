"""Leaks and lifetimes: no operation through a handle leaves a reference
behind, memory does not grow over create/use/drop cycles, objects whose
special methods raise are handled as the interpreter handles them, and
cycles and deep structures through handles are collected, printed and
compared without crashing."""

import gc
import math
import operator
import sys
import sysconfig
import threading
import tracemalloc
import weakref

import pytest

from conftest import outcome, refcount
from threadhandle import ThreadHandle, unwrap

N = 10**5


class Everything:
    """Implements every protocol a handle forwards, with results that are
    cheap and allocate nothing lasting (so that counts stay exact)."""

    __slots__ = ("value", "__weakref__")

    def __init__(self, value=3):
        self.value = value

    def method(self, x=0):
        return x

    def __call__(self, *args, **kwargs):
        return 1

    def __add__(self, other):
        return 1

    __sub__ = __mul__ = __truediv__ = __floordiv__ = __mod__ = __add__
    __lshift__ = __rshift__ = __and__ = __or__ = __xor__ = __matmul__ = __add__
    __radd__ = __rsub__ = __rmul__ = __rtruediv__ = __rfloordiv__ = __add__
    __rmod__ = __rlshift__ = __rrshift__ = __rand__ = __ror__ = __add__
    __rxor__ = __rmatmul__ = __divmod__ = __rdivmod__ = __add__

    def __pow__(self, other, modulo=None):
        return 1

    __rpow__ = __pow__

    def __iadd__(self, other):
        return self  # updated in place: the handle stays

    def __isub__(self, other):
        return 1  # a new object: the name is rebound to a new handle

    __imul__ = __iand__ = __ior__ = __ixor__ = __ilshift__ = __iadd__
    __itruediv__ = __ifloordiv__ = __imod__ = __imatmul__ = __isub__
    __irshift__ = __isub__

    def __ipow__(self, other, modulo=None):
        return self

    def __neg__(self):
        return 1

    __pos__ = __abs__ = __invert__ = __neg__

    def __int__(self):
        return 1

    __index__ = __int__

    def __float__(self):
        return 1.0

    def __complex__(self):
        return 1j

    def __bool__(self):
        return True

    def __round__(self, ndigits=None):
        return 1

    __trunc__ = __floor__ = __ceil__ = __round__

    def __eq__(self, other):
        return True

    __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __eq__

    def __hash__(self):
        return 7

    def __len__(self):
        return 2

    def __getitem__(self, key):
        return 1

    def __setitem__(self, key, value):
        pass

    def __delitem__(self, key):
        pass

    def __contains__(self, item):
        return True

    def __iter__(self):
        return iter(())

    def __reversed__(self):
        return iter(())

    def __enter__(self):
        return 1

    def __exit__(self, *exc):
        return False

    def __repr__(self):
        return "E"

    def __str__(self):
        return "E"

    def __format__(self, spec):
        return "E"

    def __bytes__(self):
        return b"E"

    def __fspath__(self):
        return "E"


def with_statement(h, other):
    with h:
        pass


def for_statement(h, other):
    for _ in h:
        pass


def in_place_same(h, o):
    x = h
    x += o  # __iadd__ returns the object itself: x stays the handle
    del x


def in_place_new(h, o):
    x = h
    x -= o  # __isub__ returns another object: x becomes a new handle
    del x


def in_place_every(h, o):
    # Plain statements rather than a helper per operator: making a
    # function per call would contend on the module's globals when
    # pytest-run-parallel runs this in several threads.
    x = h
    x *= o
    x = h
    x &= o
    x = h
    x |= o
    x = h
    x ^= o
    x = h
    x <<= o
    x = h
    x >>= o
    x = h
    x /= o
    x = h
    x //= o
    x = h
    x %= o
    x = h
    x @= o
    x = h
    x **= o
    del x


OPERATIONS = {
    "getattr (slot)": lambda h, o: h.value,
    "getattr (method)": lambda h, o: h.method,
    "method call": lambda h, o: h.method(o),
    "method call, keyword": lambda h, o: h.method(x=o),
    "call": lambda h, o: h(o),
    "call, keyword": lambda h, o: h(o, k=o),
    "setattr": lambda h, o: setattr(h, "value", 3),
    "binary": lambda h, o: (
        h + o,
        h - o,
        h * o,
        h / o,
        h // o,
        h % o,
        h @ o,
        h << o,
        h >> o,
        h & o,
        h | o,
        h ^ o,
        divmod(h, o),
    ),
    "reflected": lambda h, o: (
        o + h,
        o - h,
        o * h,
        o / h,
        o // h,
        o % h,
        o @ h,
        o << h,
        o >> h,
        o & h,
        o | h,
        o ^ h,
        divmod(o, h),
    ),
    "handle op handle": lambda h, o: (h + h, h * h, h == h, h < h),
    "power": lambda h, o: (h**o, o**h, pow(h, o, o), pow(o, h, o)),
    "unary": lambda h, o: (-h, +h, abs(h), ~h),
    "conversions": lambda h, o: (
        int(h),
        float(h),
        complex(h),
        operator.index(h),
        bool(h),
        bytes(h),
    ),
    "rounding": lambda h, o: (
        round(h),
        round(h, 2),
        math.trunc(h),
        math.floor(h),
        math.ceil(h),
    ),
    "comparison": lambda h, o: (
        h == o,
        h != o,
        h < o,
        h <= o,
        h > o,
        h >= o,
        o == h,
        o < h,
    ),
    "getitem": lambda h, o: h[o],
    "setitem": lambda h, o: h.__setitem__(o, o),
    "delitem": lambda h, o: h.__delitem__(o),
    "contains": lambda h, o: o in h,
    "len": lambda h, o: len(h),
    "iter": lambda h, o: iter(h),
    "for": for_statement,
    "reversed": lambda h, o: reversed(h),
    "with": with_statement,
    "hash": lambda h, o: hash(h),
    "str": lambda h, o: str(h),
    "repr": lambda h, o: repr(h),
    "format": lambda h, o: (format(h), format(h, "x"), f"{h}"),
    "fspath": lambda h, o: __import__("os").fspath(h),
    "isinstance": lambda h, o: (isinstance(h, Everything), h.__class__),
    "in-place (same object)": in_place_same,
    "in-place (new object)": in_place_new,
    "in-place, every operator": in_place_every,
}


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_refcounts_unchanged_after_many_operations(name):
    """10**5 times the operation through a handle: afterwards the object,
    the handle and the other operand have the references they had."""
    operation = OPERATIONS[name]
    obj = Everything()
    handle = ThreadHandle(obj)
    other = Everything(5)
    # Warm up: the handle's attribute cache may keep a bound method (one
    # reference to obj), made on the first lookup.
    # No gc.collect(): these operations make no cycles, and without it
    # pytest-run-parallel runs this test in several threads at once.
    for _ in range(3):
        operation(handle, other)
    before = [sys.getrefcount(x) for x in (obj, handle, other)]
    for _ in range(N):
        operation(handle, other)
    after = [sys.getrefcount(x) for x in (obj, handle, other)]
    assert (
        after == before
    ), f"{name}: refcounts (object, handle, operand) {before} -> {after}"


def test_refcounts_of_results_and_builtin_objects():
    """Handles of builtin objects: the object and the results."""
    items = [1, 2, 3]
    cases = [
        (
            items,
            lambda h: (
                h[0],
                len(h),
                2 in h,
                h + [],
                h * 1,
                list(h),
                h.count(1),
                h == items,
                hash(tuple(h)),
            ),
        ),
        (
            {"a": items},
            lambda h: (
                h["a"],
                h.get("a"),
                "a" in h,
                list(h),
                h.keys(),
                h | {},
                h == {},
            ),
        ),
        (items, lambda h: [x for x in h]),
    ]
    for obj, operation in cases:
        handle = ThreadHandle(obj)
        operation(handle)
        before = sys.getrefcount(obj), sys.getrefcount(items)
        for _ in range(N // 10):
            operation(handle)
        assert (sys.getrefcount(obj), sys.getrefcount(items)) == before


def test_handle_creation_leaves_no_reference():
    obj = Everything()
    before = refcount(obj)
    for _ in range(N):
        ThreadHandle(obj).method(1)
        ThreadHandle(ThreadHandle(obj))
    assert refcount(obj) == before


def traced_memory_after(cycles, make):
    """Memory traced after `cycles` create/use/drop cycles and a collection."""
    for i in range(cycles):
        make(i)
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def create_use_drop(i):
    obj = Everything(i)
    h = ThreadHandle(obj)
    h.method(1)
    getattr(h, "method")(2)
    h.method  # noqa: B018 - fills the attribute cache
    h + 1, 1 + h, h == h, hash(h), str(h), len(h), h[0], 1 in h
    h += 1
    with h:
        pass
    cycle = [ThreadHandle(obj)]
    cycle.append(ThreadHandle(cycle))
    ref = weakref.ref(ThreadHandle(obj))
    del ref
    ThreadHandle([i]).append(i)
    ThreadHandle({i: i}).get(i)


def test_memory_does_not_grow_over_create_use_drop_cycles():
    """After a warm-up, 10000 more cycles grow traced memory by less than
    a byte per cycle (a handle's attribute cache alone is over 100 bytes)."""
    cycles = 10000
    tracemalloc.start()
    try:
        traced_memory_after(
            1000, create_use_drop
        )  # warm up: caches, free lists
        baseline = traced_memory_after(cycles, create_use_drop)
        final = traced_memory_after(cycles, create_use_drop)
    finally:
        tracemalloc.stop()
    assert (
        final - baseline < cycles
    ), f"grew {final - baseline} bytes in {cycles} cycles"


# ------------------------------- a handle never changes its object's life


class Finalized:
    """An instance with a __dict__, a Python method, attributes and an
    operator: everything the attribute cache may cache."""

    def __init__(self, events):
        self.events = events
        self.w = 2.0

    def predict(self, x):
        return x + self.w

    def __add__(self, other):
        return other

    def __del__(self):
        self.events.append("finalized")


class SlotsFinalized:
    """The same without a __dict__ (its methods are cached on every build)."""

    __slots__ = ("events", "w", "__weakref__")

    __init__ = Finalized.__init__
    predict = Finalized.predict
    __add__ = Finalized.__add__
    __del__ = Finalized.__del__


@pytest.mark.thread_unsafe(reason="gc.disable() is process-wide")
@pytest.mark.parametrize("cls", [Finalized, SlotsFinalized])
@pytest.mark.parametrize("cache", ["cached", "uncached"])
def test_object_used_through_handles_dies_with_its_last_reference(cls, cache):
    """Issue 15, item 3: handles caching a Python method turned on deferred
    reference counting, so the object waited for the garbage collector
    (files stayed open, memory grew).  With the collector off, the object
    must die, finalizer and weakref callback run, at its last reference;
    and sys.getrefcount reads as it did before any handle."""
    events = []
    obj = cls(events)
    ref = weakref.ref(obj, lambda _: events.append("weakref callback"))
    before = refcount(obj)
    gc.disable()
    try:
        for _ in range(3):
            h = ThreadHandle(obj)
            if cache == "uncached":
                # Another thread's handle: never uses the attribute cache.
                holder = []
                thread = threading.Thread(
                    # obj is deleted below, after the thread ended.
                    target=lambda: holder.append(ThreadHandle(obj)))  # noqa: F821
                thread.start()
                thread.join()
                h = holder.pop()
            assert h.predict(1.0) == h.predict(1.0) == 3.0
            assert h.w == 2.0
            assert h + 5 == 5
            h.w = 2.0
            del h
        assert refcount(obj) == before
        del obj
        assert ref() is None
        assert sorted(events) == ["finalized", "weakref callback"]
    finally:
        gc.enable()


# -------------------------------------------- objects whose methods raise


class DelRaises:
    def __del__(self):
        raise ZeroDivisionError("from __del__")


class EqRaises:
    def __eq__(self, other):
        raise ArithmeticError("from __eq__")

    def __hash__(self):
        return 1


class HashRaises:
    def __hash__(self):
        raise LookupError("from __hash__")


class ReprRaises:
    def __repr__(self):
        raise RuntimeError("from __repr__")


def test_del_raising_when_the_last_handle_goes(monkeypatch):
    """The object's __del__ runs when its last reference, a handle, goes;
    the exception is reported as unraisable, as for the object alone."""
    reported = []
    monkeypatch.setattr(
        sys, "unraisablehook", lambda u: reported.append(u.exc_type)
    )
    handle = ThreadHandle(DelRaises())
    del handle
    gc.collect()
    assert reported == [ZeroDivisionError]
    # Also when the handle dies in a collected cycle.
    cycle = [ThreadHandle(DelRaises())]
    cycle.append(ThreadHandle(cycle))
    del cycle
    gc.collect()
    assert reported == [ZeroDivisionError, ZeroDivisionError]


def test_eq_raising():
    obj = EqRaises()
    handle = ThreadHandle(obj)
    for compare in (
        lambda x: x == 1,
        lambda x: x != obj,
        lambda x: 1 == x,
        lambda x: x in [1],
        lambda x: [x] == [1],
        lambda x: {x: 1}[EqRaises()],
    ):
        with pytest.raises(ArithmeticError):
            compare(handle)
        with pytest.raises(ArithmeticError):
            compare(obj)
    # Identity comes first in containers, for the handle as for the object.
    assert handle in [handle] and obj in [obj]
    assert {handle: 1}[handle] == 1


def test_hash_raising():
    handle = ThreadHandle(HashRaises())
    for use in (hash, lambda x: {x}, lambda x: {x: 1}, lambda x: x in {1}):
        with pytest.raises(LookupError):
            use(handle)


def test_repr_raising():
    handle = ThreadHandle(ReprRaises())
    for use in (
        repr,
        str,
        lambda x: f"{x}",
        lambda x: repr([x]),
        lambda x: format(x),
    ):
        with pytest.raises(RuntimeError):
            use(handle)


# ------------------------------------------------- cycles and deep nesting


def test_list_containing_a_handle_of_itself():
    items = []
    items.append(ThreadHandle(items))
    assert repr(items) == "[ThreadHandle([...])]"
    assert str(items[0]) == "[ThreadHandle([...])]"
    assert items == items and items[0] == items
    assert len(items[0]) == 1 and items[0][0] is items[0]
    ref = weakref.ref(items[0])
    del items
    gc.collect()
    assert ref() is None


def test_mutual_cycle_through_handles_is_collected():
    a, b = [], {}
    a.append(ThreadHandle(b))
    b["a"] = ThreadHandle(a)
    assert repr(a) == "[ThreadHandle({'a': ThreadHandle([...])})]"
    refs = [weakref.ref(a[0]), weakref.ref(b["a"])]
    del a, b
    gc.collect()
    assert [r() for r in refs] == [None, None]


class Node:
    """No instance __dict__: its bound methods are cached in handles."""

    __slots__ = ("handle", "__weakref__")

    def touch(self):
        return self


def test_cycle_through_the_method_cache_is_collected():
    """node -> handle -> cached bound method -> node: only the attribute cache
    closes the cycle, so the collector must see the cache."""
    node = Node()
    node.handle = ThreadHandle(node)
    node.handle.touch()  # caches the bound method node.touch
    node.handle.touch()
    ref = weakref.ref(node)
    del node
    gc.collect()
    assert ref() is None


def test_handle_survives_collection_of_everything_else():
    handle = ThreadHandle([1, 2])
    cycle = [handle]
    cycle.append(cycle)
    del cycle
    gc.collect()
    assert handle == [1, 2] and handle.count(1) == 1


def nested(depth, wrap):
    x = []
    for _ in range(depth):
        x = [wrap(x)]
    return x


# Under ThreadSanitizer the 10**5 nesting crashed the interpreter once in
# three runs of the threaded set (2026-12-02), in the plain or the handled
# recursion, not traced further: CPython's C-stack check relies on the main
# thread's stack being able to grow to its limit, and TSan's instrumented
# frames and its own mappings make that depth a gamble.  Every other job
# runs it.
UNDER_TSAN = "--with-thread-sanitizer" in (
    sysconfig.get_config_var("CONFIG_ARGS") or "")


@pytest.mark.parametrize("depth", [50, 200, 5000, pytest.param(
    10**5, marks=pytest.mark.skipif(
        UNDER_TSAN, reason="C stack depth under ThreadSanitizer"))])
def test_deeply_nested_handles(depth):
    """repr, str, == and copying of nested lists of handles: the same answer
    as for the plain nesting, or RecursionError where the plain nesting
    raises it too or where the handles' extra frames exceed the limit
    (each handle level adds a frame)."""
    plain = nested(depth, lambda x: x)
    handled = nested(depth, ThreadHandle)
    other = nested(depth, ThreadHandle)
    text = "[ThreadHandle(" * depth + "[]" + ")]" * depth
    recursion = ("raises", RecursionError)
    for name, plain_op, handled_op, answer in [
        ("repr", lambda: repr(plain), lambda: repr(handled), text),
        ("str", lambda: str(plain), lambda: str(handled), text),
        (
            "==",
            lambda: plain == nested(depth, lambda x: x),
            lambda: handled == other,
            True,
        ),
        ("== plain", lambda: plain == plain, lambda: handled == plain, True),
    ]:
        expected, got = outcome(plain_op), outcome(handled_op)
        if expected[:2] == recursion:
            assert got[:2] == recursion, (name, got)
        elif depth <= 200:
            assert got == ("value", answer), name
        else:
            assert got == ("value", answer) or got[:2] == recursion, (
                name, got[:2])
    if depth <= 200:
        assert repr(handled) == text
        assert handled == plain and handled == other
    # Dropping a deep nesting of handles must not overflow the C stack
    # (CPython's trashcan covers lists; the handle's dealloc goes through it).
    plain = handled = other = None
    gc.collect()


@pytest.mark.parametrize("depth", [100, 10**5])
def test_deep_chain_of_objects_holding_handles_is_freed(depth):
    """A long chain obj -> handle -> obj -> ... freed from its head: each
    handle's dealloc releases the next object, recursively in C."""
    head = None
    for _ in range(depth):
        node = Node()
        node.handle = ThreadHandle(head) if head is not None else None
        head = node
    ref = weakref.ref(head)
    del head, node
    gc.collect()
    assert ref() is None


def test_repr_of_handle_in_deep_dict():
    d = {}
    current = d
    first = None
    for _ in range(100):
        nxt = {}
        current["k"] = ThreadHandle(nxt)
        if first is None:
            first = nxt
        current = nxt
    text = repr(d)
    assert text.count("ThreadHandle(") == 100
    assert unwrap(d["k"]) is first
