"""The per-handle cache of bound methods: when it is used, and that a handle
always gives what the object gives, however the class or object changes."""
import gc
import sys
import threading
import weakref

import pytest

from conftest import FREE_THREADED, refcount, run_threads
from threadhandle import ThreadHandle
from threadhandle._threadhandle import _INLINE_VALUES, _attr_cache_names


class Slotted:
    __slots__ = ("value", "__weakref__")

    def __init__(self, value=1):
        self.value = value

    def method(self):
        return ("Slotted.method", self.value)


class SlottedDict(dict):
    __slots__ = ()


def fresh_slotted_class():
    """A class made now, so no earlier test has touched its version tag."""

    class Fresh:
        # No __init__: making an instance looks nothing up on the class.
        __slots__ = ()

        def method(self):
            return "fresh"

    return Fresh


# ------------------------------------------------------------ cache hits

def test_same_bound_method_on_the_owning_thread():
    h = ThreadHandle({"a": 1})
    assert h.get is h.get
    assert "get" in _attr_cache_names(h)
    assert h.get("a") == 1


def test_same_bound_method_for_a_new_user_class():
    h = ThreadHandle(fresh_slotted_class()())
    assert h.method is h.method
    assert _attr_cache_names(h) == ["method"]


def test_first_use_fills_the_cache():
    h = ThreadHandle(fresh_slotted_class()())
    assert h.method() == "fresh"
    assert _attr_cache_names(h) == ["method"]


def test_cached_method_is_bound_to_the_object():
    obj = {"a": 1}
    h = ThreadHandle(obj)
    assert h.get.__self__ is obj
    assert h.get == obj.get


def test_cache_holds_only_plain_methods():
    h = ThreadHandle(Slotted(5))
    assert h.value == 5
    h.method()
    h.__class__  # noqa: B018 - a data descriptor, not cached
    assert _attr_cache_names(h) == ["method"]


def test_empty_before_any_lookup_and_small():
    h = ThreadHandle({"a": 1})
    assert _attr_cache_names(h) == []
    # 64 bytes on 64-bit 3.11 and 3.14t with no cache allocated.
    size_before = sys.getsizeof(h)
    assert size_before < 200
    h.get("a")
    assert sys.getsizeof(h) > size_before


def test_many_methods_evict_and_stay_correct():
    obj = [3, 1, 2]
    h = ThreadHandle(obj)
    names = ["append", "pop", "count", "index", "copy", "sort", "reverse",
             "insert", "extend", "remove", "clear", "__len__"]
    for _ in range(3):
        for name in names:
            assert getattr(h, name) == getattr(obj, name)
            assert getattr(h, name).__self__ is obj
    cached = _attr_cache_names(h)
    assert 0 < len(cached) < len(names) and set(cached) <= set(names)
    h.append(4)
    assert h.count(4) == 1 and h.pop() == 4


LIST_METHODS = ["append", "pop", "count", "index", "copy", "sort",
                "reverse", "insert", "extend", "remove", "clear"]


@pytest.mark.parametrize("first", LIST_METHODS)
def test_any_two_names_are_cached_together(first):
    # The cache is found by the names' addresses; with one entry per
    # address class, two names used in one loop would evict each other at
    # every use whenever they happened to map to the same entry (11 names,
    # 8 entries: some pairs always do).  Two ways per set keep any pair.
    obj = [3, 1, 2]
    for second in LIST_METHODS:
        if second == first:
            continue
        h = ThreadHandle(obj)
        for _ in range(2):
            getattr(h, first)
            getattr(h, second)
        assert sorted(_attr_cache_names(h)) == sorted([first, second]), (
            first, second)


def test_a_renewed_entry_is_not_duplicated():
    # An entry made stale by a change of the class is replaced, in
    # whichever way of its set it sits, never stored a second time.
    class Two:
        __slots__ = ()

        def first(self):
            return 1

        def second(self):
            return 2

    h = ThreadHandle(Two())
    for order in (("first", "second"), ("second", "first")):
        for name in order:
            getattr(h, name)
        Two.extra = order  # a new version tag: both entries are stale
        for name in order:
            getattr(h, name)
        assert sorted(_attr_cache_names(h)) == ["first", "second"]
    assert (h.first(), h.second()) == (1, 2)


def test_names_built_at_run_time_are_served():
    h = ThreadHandle({"a": 1})
    name = "".join(["g", "e", "t"])
    assert getattr(h, name)("a") == 1
    assert h.get("a") == 1


# ---------------------------------------------------------------- threads

def test_handle_used_only_from_another_thread():
    obj = {"a": 1}
    h = ThreadHandle(obj)
    seen = {}

    def use(_):
        seen["same"] = h.get is h.get
        seen["value"] = h.get("a")

    run_threads(use, 1)
    assert seen["value"] == 1
    if FREE_THREADED:
        # Only the thread that made a handle uses its cache.
        assert seen["same"] is False
        assert _attr_cache_names(h) == []
    else:
        # With a GIL, every thread uses it.
        assert seen["same"] is True
        assert _attr_cache_names(h) == ["get"]


def test_handle_made_in_another_thread_caches_there():
    made = {}

    def make(_):
        h = ThreadHandle({"a": 1})
        made["same"] = h.get is h.get
        made["handle"] = h

    run_threads(make, 1)
    assert made["same"] is True
    assert _attr_cache_names(made["handle"]) == ["get"]
    assert made["handle"].get("a") == 1


# ------------------------------------------------------------ invalidation

def test_method_replaced_on_a_slots_class():
    class Cls:
        __slots__ = ()

        def f(self):
            return "old"

    obj = Cls()
    h = ThreadHandle(obj)
    assert h.f() == h.f() == "old"
    Cls.f = lambda self: "new"
    assert h.f() == obj.f() == "new"
    del Cls.f
    with pytest.raises(AttributeError) as through_handle:
        h.f
    with pytest.raises(AttributeError) as direct:
        obj.f
    assert str(through_handle.value) == str(direct.value)


@pytest.mark.thread_unsafe(
    reason="patches a module-level class the threads share")
def test_method_replaced_on_a_dict_subclass_with_empty_slots():
    obj = SlottedDict(a=1)
    h = ThreadHandle(obj)
    assert h.get("a") == h.get("a") == 1
    assert "get" in _attr_cache_names(h)
    try:
        SlottedDict.get = lambda self, key, default=None: ("patched", key)
        assert h.get("a") == obj.get("a") == ("patched", "a")
    finally:
        del SlottedDict.get
    assert h.get("a") == obj.get("a") == 1


def test_method_replaced_on_a_base_class():
    class Base:
        __slots__ = ()

        def f(self):
            return "base"

    class Derived(Base):
        __slots__ = ()

    obj = Derived()
    h = ThreadHandle(obj)
    assert h.f() == h.f() == "base"
    Base.f = lambda self: "patched base"
    assert h.f() == "patched base"
    Derived.f = lambda self: "derived"
    assert h.f() == obj.f() == "derived"
    del Derived.f
    assert h.f() == obj.f() == "patched base"


def test_function_code_replaced():
    class Cls:
        __slots__ = ()

        def f(self):
            return "old"

    h = ThreadHandle(Cls())
    assert h.f() == h.f() == "old"
    Cls.f.__code__ = (lambda self: "new code").__code__
    assert h.f() == "new code"


def test_instance_attribute_shadows_and_is_deleted():
    class WithDict:
        def f(self):
            return "class"

    obj = WithDict()
    h = ThreadHandle(obj)
    assert h.f() == h.f() == "class"
    # Instances with a __dict__ are cached only where their inline values
    # can be checked for a shadowing name (tests/test_instance_cache.py).
    assert _attr_cache_names(h) == (["f"] if _INLINE_VALUES else [])
    obj.f = lambda: "instance"
    assert h.f() == obj.f() == "instance"
    h.f = lambda: "set through the handle"
    assert obj.f() == h.f() == "set through the handle"
    del obj.f
    assert h.f() == obj.f() == "class"


def test_class_assignment_between_slots_classes():
    class A:
        __slots__ = ("value",)

        def f(self):
            return "A"

    class B:
        __slots__ = ("value",)

        def f(self):
            return "B"

        def only_b(self):
            return "only B"

    obj = A()
    h = ThreadHandle(obj)
    assert h.f() == h.f() == "A"
    obj.__class__ = B
    assert h.f() == h.f() == obj.f() == "B"
    assert h.only_b() == "only B"
    h.__class__ = A
    assert type(obj) is A
    assert h.f() == obj.f() == "A"
    with pytest.raises(AttributeError):
        h.only_b


def test_getattr_hook_is_not_cached():
    class WithGetattr(Slotted):
        __slots__ = ()

        def __getattr__(self, name):
            return ("__getattr__", name)

    obj = WithGetattr()
    h = ThreadHandle(obj)
    assert h.method() == h.method() == ("Slotted.method", 1)
    assert h.missing == ("__getattr__", "missing")
    assert _attr_cache_names(h) == []
    WithGetattr.method = lambda self: "replaced"
    assert h.method() == "replaced"


def test_getattribute_hook_is_not_cached():
    class WithGetattribute(Slotted):
        __slots__ = ()
        reads = []

        def __getattribute__(self, name):
            WithGetattribute.reads.append(name)
            return object.__getattribute__(self, name)

    h = ThreadHandle(WithGetattribute())
    h.method()
    h.method()
    assert WithGetattribute.reads.count("method") == 2
    assert _attr_cache_names(h) == []


def test_getattr_hook_added_to_the_class_later():
    class Cls:
        __slots__ = ()

        def f(self):
            return "f"

    obj = Cls()
    h = ThreadHandle(obj)
    assert h.f() == h.f() == "f"
    Cls.__getattribute__ = lambda self, name: (lambda: "hooked")
    assert h.f() == obj.f() == "hooked"
    del Cls.__getattribute__
    assert h.f() == "f"


def test_property_is_not_cached():
    class Counter:
        __slots__ = ("count",)

        def __init__(self):
            self.count = 0

        @property
        def next_value(self):
            self.count += 1
            return self.count

    h = ThreadHandle(Counter())
    assert [h.next_value for _ in range(3)] == [1, 2, 3]
    assert _attr_cache_names(h) == []


def test_classmethod_and_staticmethod():
    class Cls:
        __slots__ = ()

        @classmethod
        def cm(cls):
            return ("classmethod", cls)

        @staticmethod
        def sm(x):
            return ("staticmethod", x)

    class Other(Cls):
        __slots__ = ()

    obj = Cls()
    h = ThreadHandle(obj)
    assert h.cm() == h.cm() == ("classmethod", Cls)
    assert h.sm(1) == h.sm(1) == ("staticmethod", 1)
    Cls.cm = classmethod(lambda cls: ("new classmethod", cls))
    Cls.sm = staticmethod(lambda x: ("new staticmethod", x))
    assert h.cm() == obj.cm() == ("new classmethod", Cls)
    assert h.sm(2) == obj.sm(2) == ("new staticmethod", 2)
    obj.__class__ = Other
    assert h.cm() == ("new classmethod", Other)


def test_custom_descriptor_is_not_cached():
    class Fresh:
        """A non-data descriptor giving a new value each time."""

        def __init__(self):
            self.calls = 0

        def __get__(self, instance, owner=None):
            self.calls += 1
            return lambda: self.calls

    class Cls:
        __slots__ = ()
        f = Fresh()

    h = ThreadHandle(Cls())
    assert [h.f() for _ in range(3)] == [1, 2, 3]
    assert h.f is not h.f
    assert _attr_cache_names(h) == []


def test_builtin_function_as_class_attribute():
    class Cls:
        __slots__ = ()
        length = len  # not a descriptor: not bound

    h = ThreadHandle(Cls())
    assert h.length([1, 2]) == 2


def test_method_names_on_different_types_do_not_mix():
    a, b = ThreadHandle([1, 2]), ThreadHandle((1, 2))
    assert a.count(1) == b.count(1) == 1
    assert a.index(2) == b.index(2) == 1
    assert a.count.__self__ is not b.count.__self__


# ------------------------------------------------------- references

def test_cached_methods_do_not_leak():
    obj = Slotted()
    baseline = refcount(obj)
    h = ThreadHandle(obj)
    for _ in range(1000):
        h.method()
    assert _attr_cache_names(h) == ["method"]
    del h
    assert refcount(obj) == baseline


def test_cached_methods_of_a_changed_class_do_not_leak():
    class A:
        __slots__ = ()

        def f(self):
            return "A"

    class B:
        __slots__ = ()

        def f(self):
            return "B"

    obj = A()
    baseline = refcount(obj)
    h = ThreadHandle(obj)
    for i in range(100):
        obj.__class__ = B if i % 2 else A
        A.f = lambda self: "A"  # a new version tag each time
        h.f()
    del h
    assert refcount(obj) == baseline


def test_cycle_through_the_cache_is_collected():
    obj = Slotted()
    obj.value = ThreadHandle(obj)
    obj.value.method()
    assert _attr_cache_names(obj.value) == ["method"]
    ref = weakref.ref(obj)
    del obj
    gc.collect()
    assert ref() is None


def test_cache_is_reported_to_the_collector():
    obj = Slotted()
    h = ThreadHandle(obj)
    h.method()
    referents = gc.get_referents(h)
    assert any(getattr(r, "__self__", None) is obj for r in referents)


def test_class_of_a_cached_method_can_be_collected_after_the_handle():
    def make():
        class Temporary:
            __slots__ = ("__weakref__",)

            def f(self):
                return "t"

        return Temporary

    # The same without a handle first: 3.13t, once another thread has run,
    # does not collect such a class at all (CPython's behaviour, not ours).
    cls = make()
    cls_ref = weakref.ref(cls)
    cls().f()
    del cls
    gc.collect()
    if cls_ref() is not None:
        pytest.skip("this interpreter keeps the class alive even without "
                    "a handle")

    cls = make()
    cls_ref = weakref.ref(cls)
    h = ThreadHandle(cls())
    h.f()
    del cls, h
    gc.collect()
    assert cls_ref() is None


# --------------------------------------------------- concurrent changes

def test_method_replaced_while_threads_call_it():
    class Cls:
        __slots__ = ()

        def f(self):
            return 0

    obj = Cls()
    stop = threading.Event()
    results = []

    def call(index):
        if index == 0:
            for version in range(1, 200):
                Cls.f = lambda self, v=version: v
            stop.set()
            return
        h = ThreadHandle(obj)
        seen = []
        while not stop.is_set():
            seen.append(h.f())
        seen.append(h.f())
        results.append(seen)

    run_threads(call, 5)
    for seen in results:
        assert seen[-1] == 199
        assert all(0 <= v <= 199 for v in seen)


# ------------------------------------------ a metaclass that lies in __mro__

class Impostor:
    """What the lying metaclass claims its classes inherit from."""

    def x(self):
        return "Impostor.x"

    def __enter__(self):
        return "Impostor.__enter__"

    def __exit__(self, *exc):
        return False


class LyingMeta(type):
    """type.__mro__ answers from this property, which names the wrong
    classes (and is user code): the real MRO is the class's own."""

    reads = 0

    @property
    def __mro__(cls):
        LyingMeta.reads += 1
        return (Impostor, object)


class Counting(metaclass=LyingMeta):
    # Slots and generic attribute lookup: the attribute cache applies.
    __slots__ = ("n",)

    def __init__(self):
        self.n = 2

    @property
    def x(self):
        self.n += 1
        return self.n

    def method(self):
        return "Counting.method"

    def __enter__(self):
        return "Counting.__enter__"

    def __exit__(self, *exc):
        return False


def test_a_property_is_not_cached_when_the_metaclass_lies_about_the_mro():
    obj, h = Counting(), ThreadHandle(Counting())
    assert [h.x for _ in range(3)] == [obj.x for _ in range(3)] == [3, 4, 5]
    assert h.method() == obj.method() == "Counting.method"
    assert "x" not in _attr_cache_names(h)


def test_with_uses_the_real_mro_when_the_metaclass_lies():
    with Counting() as expected, ThreadHandle(Counting()) as got:
        assert got == expected == "Counting.__enter__"


@pytest.mark.thread_unsafe(reason="counts reads of a class-level counter")
def test_the_mro_is_read_without_running_user_code():
    before = LyingMeta.reads
    h = ThreadHandle(Counting())
    for _ in range(3):
        h.x  # noqa: B018
        h.method()
    with h:
        pass
    assert LyingMeta.reads == before
