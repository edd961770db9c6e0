"""Making a handle, what it is bound to, and its lifetime: references it
holds on the object, and reference cycles through it."""
import copy
import gc
import operator
import pickle
import sys
import threading
import weakref

import pytest

from conftest import refcount, run_python
from threadhandle import ThreadHandle, unwrap
from threadhandle._threadhandle import _check_forward_slots



class Plain:
    """A user object with an instance __dict__."""

    def __init__(self, value=0):
        self.value = value

    def method(self, x):
        return self.value + x


class Slotted:
    __slots__ = ("value", "__weakref__")

    def __init__(self, value=0):
        self.value = value

    def method(self, x):
        return self.value + x


SAMPLE_OBJECTS = [
    0, 10**30, 2.5, "text", b"bytes", None, True, [1, 2], (1, 2), {"a": 1},
    {1, 2}, Plain(), Slotted(), len, Plain, ThreadHandle, sys,
]


# ------------------------------------------------------------ construction

@pytest.mark.parametrize("args, kwargs, message", [
    ((), {}, "exactly one argument"),
    ((1, 2), {}, "exactly one argument"),
    ((1, 2, 3), {}, "exactly one argument"),
    ((), {"obj": 1}, "keyword"),
    ((1,), {"obj": 1}, "keyword"),
])
def test_takes_exactly_one_positional_argument(args, kwargs, message):
    with pytest.raises(TypeError, match=message):
        ThreadHandle(*args, **kwargs)


@pytest.mark.parametrize("obj", SAMPLE_OBJECTS, ids=repr)
def test_handles_the_object_given(obj):
    h = ThreadHandle(obj)
    assert type(h) is ThreadHandle
    assert unwrap(h) is obj


@pytest.mark.parametrize("obj", SAMPLE_OBJECTS, ids=repr)
def test_unwrap_of_anything_else_is_itself(obj):
    assert unwrap(obj) is obj


@pytest.mark.parametrize("obj", SAMPLE_OBJECTS, ids=repr)
def test_handle_of_a_handle_handles_the_underlying_object(obj):
    inner = ThreadHandle(obj)
    outer = ThreadHandle(inner)
    assert outer is not inner
    assert type(outer) is ThreadHandle
    assert unwrap(outer) is obj
    assert unwrap(ThreadHandle(ThreadHandle(outer))) is obj
    assert repr(outer) == repr(inner)


def test_handles_of_one_object_are_distinct_and_equal():
    obj = [1, 2]
    a, b = ThreadHandle(obj), ThreadHandle(obj)
    assert a is not b
    assert a == b and unwrap(a) is unwrap(b)


def test_class_init_does_not_rebind():
    obj, other = [1], [2]
    h = ThreadHandle(obj)
    ThreadHandle.__init__(h, other)
    assert unwrap(h) is obj
    assert obj == [1] and other == [2]


def test_init_through_the_handle_is_the_objects_init():
    # h.__init__ is an attribute of the object, so it re-initialises the
    # object (as obj.__init__ would) and leaves the binding alone.
    obj = [1, 2]
    h = ThreadHandle(obj)
    h.__init__([9])
    assert unwrap(h) is obj
    assert obj == [9]
    plain = Plain(1)
    h = ThreadHandle(plain)
    h.__init__(5)
    assert unwrap(h) is plain and plain.value == 5


def test_binding_cannot_be_set_from_python():
    obj = [1]
    h = ThreadHandle(obj)
    with pytest.raises((TypeError, AttributeError)):
        object.__setattr__(h, "obj", [2])
    with pytest.raises((TypeError, AttributeError)):
        object.__delattr__(h, "obj")
    assert unwrap(h) is obj


def test_attribute_named_obj_is_the_objects():
    box = Plain()
    box.obj = "mine"
    h = ThreadHandle(box)
    assert h.obj == "mine"
    h.obj = "changed"
    assert box.obj == "changed" and unwrap(h) is box
    with pytest.raises(AttributeError):
        ThreadHandle(5).obj  # noqa: B018 - int has no attribute obj


def test_new_without_argument_raises():
    with pytest.raises(TypeError):
        ThreadHandle.__new__(ThreadHandle)


def test_new_with_argument_makes_a_handle():
    obj = [1]
    h = ThreadHandle.__new__(ThreadHandle, obj)
    assert type(h) is ThreadHandle and unwrap(h) is obj


def test_new_of_another_class_raises():
    with pytest.raises(TypeError):
        ThreadHandle.__new__(Plain, 1)


def test_cannot_be_subclassed():
    with pytest.raises(TypeError):
        class Sub(ThreadHandle):
            pass


def test_cannot_be_subclassed_with_type():
    with pytest.raises(TypeError):
        type("Sub", (ThreadHandle,), {})


def test_handle_of_the_class_makes_handles():
    maker = ThreadHandle(ThreadHandle)
    h = maker([1])
    assert type(h) is ThreadHandle and unwrap(h) == [1]


# -------------------------------------------------------- reference counts

class CallCounter:
    def __init__(self):
        self.calls = 0

    def __call__(self, x, y=0):
        self.calls += 1
        return x + y


def _swallow(exc_type, func):
    try:
        func()
    except exc_type:
        pass


def _inplace_add_int(h):
    g = h
    g += 1


def _inplace_add_list(h):
    g = h
    g += ()  # extends by nothing, returns the same handle


def _setitem(h):
    h[0] = 1


def _setattr(h):
    h.value = 3


def _with(h):
    with h:
        pass


# (id, object factory, operation on a handle of it).
REFCOUNT_OPERATIONS = [
    ("method call", lambda: {"a": 1}, lambda h: h.get("a")),
    ("method lookup", lambda: {"a": 1}, lambda h: h.keys),
    ("attribute get", lambda: Plain(3), lambda h: h.value),
    ("attribute set", lambda: Plain(3), _setattr),
    ("slotted method", lambda: Slotted(3), lambda h: h.method(1)),
    ("missing attribute", lambda: Slotted(3),
     lambda h: _swallow(AttributeError, lambda: h.missing)),
    ("call", CallCounter, lambda h: h(1, y=2)),
    ("binary op", lambda: 10**30, lambda h: h + 1),
    ("reflected op", lambda: 10**30, lambda h: 1 - h),
    ("in-place op (new)", lambda: 10**30, _inplace_add_int),
    ("in-place op (same)", lambda: [1, 2], _inplace_add_list),
    ("ternary pow", lambda: 10**30, lambda h: pow(h, 3, 7)),
    ("unary", lambda: 10**30, lambda h: -h),
    ("int", lambda: 2.5, int),
    ("index", lambda: 10**30, operator.index),
    ("bool", lambda: [1], bool),
    ("comparison", lambda: [1], lambda h: h == [1]),
    ("hash", lambda: "text", hash),
    ("getitem", lambda: [1, 2], lambda h: h[0]),
    ("setitem", lambda: [1, 2], _setitem),
    ("slice", lambda: [1, 2, 3], lambda h: h[1:]),
    ("missing key", lambda: {},
     lambda h: _swallow(KeyError, lambda: h["missing"])),
    ("len", lambda: [1, 2], len),
    ("contains", lambda: [1, 2], lambda h: 2 in h),
    ("iter", lambda: [1, 2], lambda h: list(h)),
    ("next", lambda: iter(range(10**9)), next),
    ("reversed", lambda: [1, 2], lambda h: list(reversed(h))),
    ("str", lambda: [1], str),
    ("repr", lambda: [1], repr),
    ("format", lambda: 2.5, lambda h: format(h, ".1f")),
    ("with", threading.Lock, _with),
    ("buffer", lambda: bytearray(b"ab"), lambda h: memoryview(h)[0]),
    ("bytes", lambda: bytearray(b"ab"), bytes),
    ("copy", lambda: [1], copy.copy),
    ("pickle", lambda: [1], lambda h: pickle.dumps(h)),
    ("dir", lambda: Slotted(1), dir),
    ("weakref", lambda: Slotted(1), weakref.ref),
]


@pytest.mark.parametrize(
    "make, operation",
    [pytest.param(make, op, id=name)
     for name, make, op in REFCOUNT_OPERATIONS])
def test_operations_do_not_leak_references(make, operation):
    obj = make()
    before_handle = refcount(obj)
    h = ThreadHandle(obj)
    operation(h)  # fills the attribute cache, if this operation uses it
    baseline = refcount(obj)
    for _ in range(10**4):
        operation(h)
    assert refcount(obj) == baseline
    del h
    assert refcount(obj) == before_handle


def test_many_handles_do_not_leak_references():
    obj = {"a": 1}
    baseline = sys.getrefcount(obj)
    for _ in range(10**4):
        h = ThreadHandle(ThreadHandle(obj))
        h.get("a")
    del h
    assert sys.getrefcount(obj) == baseline


def test_handle_holds_the_object_alive():
    obj = Slotted(1)
    ref = weakref.ref(obj)
    h = ThreadHandle(obj)
    del obj
    gc.collect()
    assert ref() is not None and h.value == 1
    del h
    gc.collect()
    assert ref() is None


# ------------------------------------------------------------ cycles

class ListWithWeakref(list):
    pass


class DictWithWeakref(dict):
    pass


def _attribute_cycle():
    obj = Plain()
    obj.h = ThreadHandle(obj)
    obj.h.method(1)
    return obj


def _slot_cycle():
    obj = Slotted()
    obj.value = ThreadHandle(obj)
    obj.value.method  # noqa: B018 - fills the attribute cache
    return obj


def _list_cycle():
    obj = ListWithWeakref()
    obj.append(ThreadHandle(obj))
    obj[0].append(1)
    return obj


def _dict_cycle():
    obj = DictWithWeakref()
    obj["self"] = ThreadHandle(obj)
    obj["self"].get("self")
    return obj


def _handle_of_handle_cycle():
    obj = Plain()
    obj.h = ThreadHandle(ThreadHandle(obj))
    return obj


def _bound_method_cycle():
    obj = Plain()
    obj.h = ThreadHandle(obj.method)
    obj.h(1)
    return obj


@pytest.mark.parametrize("make_cycle", [
    _attribute_cycle, _slot_cycle, _list_cycle, _dict_cycle,
    _handle_of_handle_cycle, _bound_method_cycle,
])
def test_cycle_through_a_handle_is_collected(make_cycle):
    gc.collect()
    ref = weakref.ref(make_cycle())
    gc.collect()
    assert ref() is None


def test_handle_is_tracked_by_the_collector():
    assert gc.is_tracked(ThreadHandle([]))
    obj = []
    h = ThreadHandle(obj)
    assert any(referent is obj for referent in gc.get_referents(h))


def test_every_forwarded_slot_is_installed():
    # th_forward_slots (forward.c) is the one list of forwarded slots; the
    # import checks each entry against ThreadHandle, and so does this.
    _check_forward_slots(ThreadHandle)


@pytest.mark.parametrize("cls", [object, int, dict, type("Plain", (), {})])
def test_a_type_without_the_forwarded_slots_fails_the_check(cls):
    with pytest.raises(RuntimeError,
                       match="lacks entry 0 of th_forward_slots"):
        _check_forward_slots(cls)


# The type that install.c builds the slot tables with has the handle's
# layout but no object: an instance of it would crash on every operation.
HELPER_TYPE_IS_UNUSABLE = """
import gc, operator
import threadhandle

def helper():
    return [c for c in object.__subclasses__() if c.__name__ == "_slot_source"]

def refused(func, *args):
    try:
        func(*args)
    except TypeError:
        return
    raise AssertionError(f"{func} did not raise TypeError")

def check(S):
    refused(S)
    refused(object.__new__, S)
    refused(S.__new__, S)
    refused(type, "Sub", (S,), {})

for S in helper():
    check(S)
del S
gc.collect()
assert helper() == [], "the helper type is still reachable"
print("ok")
"""


def test_the_slot_source_type_cannot_be_instantiated_or_reached():
    result = run_python(HELPER_TYPE_IS_UNUSABLE)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"


ON_A_HELPER_INSTANCE = [
    "x.foo", "x + 1", "x[0]", "hash(x)", "iter(x)", "bool(x)",
    "memoryview(x)", "len(x)",
]


@pytest.mark.parametrize("operation", ON_A_HELPER_INSTANCE)
def test_no_helper_instance_can_be_made_to_crash(operation):
    # Each operation the issue crashed with, on whatever the import leaves
    # reachable: it must be refused before any instance exists.
    code = f"""
import threadhandle
for S in [c for c in object.__subclasses__() if c.__name__ == "_slot_source"]:
    try:
        x = S()
    except TypeError:
        continue
    try:
        {operation}
    except Exception as exc:
        print(type(exc).__name__)
print("done")
"""
    result = run_python(code)
    assert result.returncode == 0, (result.returncode, result.stderr)
    assert result.stdout == "done\n"
