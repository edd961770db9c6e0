"""Calls, text, context managers, async, buffers, paths, copy, pickle,
weak references and generic aliases through handles, and errors raised by
the object propagating unchanged."""
import array
import asyncio
import collections
import contextlib
import copy
import dataclasses
import enum
import functools
import math
import operator
import os
import pathlib
import pickle
import threading
import types
import weakref

import pytest

from conftest import outcome, same_outcome
from threadhandle import ThreadHandle, unwrap

H = ThreadHandle


# ------------------------------------------------------------------ calls

def function(a, b=2, *args, c=3, **kwargs):
    return (a, b, args, c, kwargs)


class CallableObject:
    def __call__(self, *args, **kwargs):
        return ("called", args, kwargs)


class Point:
    def __init__(self, x, y=0):
        self.x, self.y = x, y

    def moved(self, dx, dy=0):
        return Point(self.x + dx, self.y + dy)


def test_calls_forward_positional_and_keyword_arguments():
    h = H(function)
    assert h(1) == function(1)
    assert h(1, 5, 6, 7, c=8, d=9) == function(1, 5, 6, 7, c=8, d=9)
    assert h(*[1, 2, 3], **{"c": 4, "e": 5}) == function(1, 2, 3, c=4, e=5)
    assert h(a=1, b=2) == function(a=1, b=2)
    many = list(range(300))
    assert h(*many) == function(*many)


def test_calls_of_builtins():
    assert H(math.sqrt)(16) == 4.0
    assert H(len)([1, 2]) == 2
    assert H(sorted)([3, 1], reverse=True) == [3, 1]
    assert H(max)(1, 5, key=lambda x: -x) == 1
    assert H(int)("ff", base=16) == 255
    assert H(dict)(a=1) == {"a": 1}


def test_calls_of_classes_methods_and_callables():
    p = H(Point)(1, y=2)
    assert type(p) is Point and (p.x, p.y) == (1, 2)
    moved = H(p.moved)(3, dy=4)
    assert (moved.x, moved.y) == (4, 6)
    assert H(CallableObject())(1, k=2) == ("called", (1,), {"k": 2})
    assert H(functools.partial(function, 1, c=0))(5) == (1, 5, (), 0, {})
    assert H(str.upper)("a") == "A"
    assert H(lambda: "no arguments")() == "no arguments"
    assert H(H)(5) == 5  # a handle of the class makes handles


Pair = collections.namedtuple("Pair", "x y")


@pytest.mark.parametrize("args, kwargs", [
    ((), {}), ((1, 2), {}), ((), {"x": 1}), ((1,), {"y": 2}), ((1, 2, 3), {}),
])
def test_arguments_are_checked_as_directly(args, kwargs):
    for callable_ in (math.sqrt, Pair, function, Pair(1, 2).index, len, dict,
                      CallableObject()):
        assert same_outcome(outcome(H(callable_), *args, **kwargs),
                            outcome(callable_, *args, **kwargs)), callable_


@pytest.mark.parametrize("obj", [5, "text", None, [1], Point(1)], ids=repr)
def test_calling_a_non_callable_raises_as_directly(obj):
    assert same_outcome(outcome(H(obj)), outcome(obj))
    assert same_outcome(outcome(H(obj), 1, k=2), outcome(obj, 1, k=2))


def test_call_arguments_are_not_unwrapped():
    # Arguments reach the callable as given (only operands are unwrapped).
    received = []
    H(received.append)(H(5))
    assert type(received[0]) is ThreadHandle


# ------------------------------------------------------------------- text

class Formatted:
    def __format__(self, spec):
        return f"<{spec}>"

    def __str__(self):
        return "str of Formatted"

    def __repr__(self):
        return "Formatted()"


@pytest.mark.parametrize("obj", [
    5, -2.5, "text", "", b"bytes", [1, "a"], {"k": (1,)}, None, Formatted(),
    math.inf, Point(1),
], ids=repr)
def test_str_and_repr(obj):
    h = H(obj)
    assert str(h) == str(obj)
    assert f"{h}" == f"{obj}"
    assert "ThreadHandle" in repr(h) and repr(obj) in repr(h)
    assert f"{h!r}" == repr(h) and f"{h!s}" == str(obj)


@pytest.mark.parametrize("obj, spec", [
    (3.14159, ".2f"), (42, ">6"), (42, "x"), (42, "#010b"), (1234567, ","),
    ("text", "^10"), ("text", "*<8"), (0.25, ".1%"), (Formatted(), "spec"),
    (2.5, ""), ("text", "d"), ([1], "x"), (5, "invalid spec"),
], ids=repr)
def test_format_with_specs(obj, spec):
    assert same_outcome(outcome(format, H(obj), spec),
                        outcome(format, obj, spec))
    assert same_outcome(outcome(str.format, "{:" + spec + "}", H(obj)),
                        outcome(str.format, "{:" + spec + "}", obj))


class Spec(str):
    """A format spec of a str subclass (a StrEnum member is one too)."""


class SpecEnum(Spec, enum.Enum):
    WIDE = ">5"


@pytest.mark.parametrize("obj", [12, 2.5, "ab", Formatted(), [1]], ids=repr)
@pytest.mark.parametrize("spec", [Spec(">5"), Spec(""), SpecEnum.WIDE,
                                  5, None, b">5"], ids=repr)
def test_format_takes_what_format_takes(obj, spec):
    """Issue 15, item 4: a str-subclass spec raised TypeError."""
    assert same_outcome(outcome(format, H(obj), spec),
                        outcome(format, obj, spec))
    assert same_outcome(outcome(type(H(obj)).__format__, H(obj), spec),
                        outcome(format, obj, spec))


def test_format_in_f_strings():
    h = H(3.14159)
    width = H(8)
    assert f"{h:.3f}" == "3.142"
    assert f"{h:>{width}.2f}" == "    3.14"


class WithBytes:
    def __bytes__(self):
        return b"from __bytes__"


@pytest.mark.parametrize("obj", [
    b"bytes", bytearray(b"array"), [1, 2, 255], (65, 66), 3, WithBytes(),
    memoryview(b"view"), array.array("B", [1, 2]), "text", [256], None,
], ids=repr)
def test_bytes(obj):
    assert same_outcome(outcome(bytes, H(obj)), outcome(bytes, obj))


# ------------------------------------------------------ context managers

class Manager:
    def __init__(self, suppress=False):
        self.suppress = suppress
        self.log = []

    def __enter__(self):
        self.log.append("enter")
        return "entered"

    def __exit__(self, exc_type, exc, tb):
        self.log.append(("exit", exc_type, exc))
        return self.suppress


def test_with_a_lock():
    lock = threading.Lock()
    with H(lock) as entered:
        assert lock.locked()
        assert entered is True
    assert not lock.locked()
    with H(threading.RLock()):
        pass


def test_with_a_user_context_manager():
    obj = Manager()
    with H(obj) as value:
        assert value == "entered"
    assert obj.log == ["enter", ("exit", None, None)]


def test_exceptions_reach_exit_and_propagate():
    obj = Manager()
    error = ValueError("inside")
    with pytest.raises(ValueError) as info:
        with H(obj):
            raise error
    assert info.value is error
    assert obj.log == ["enter", ("exit", ValueError, error)]


def test_exit_may_suppress():
    obj = Manager(suppress=True)
    with H(obj):
        raise KeyError("suppressed")
    assert obj.log[-1][0:2] == ("exit", KeyError)


def test_with_a_contextmanager_generator():
    log = []

    @contextlib.contextmanager
    def managed(suppress):
        log.append("enter")
        try:
            yield "value"
        except LookupError as exc:
            log.append(("caught", exc))
            if not suppress:
                raise
        finally:
            log.append("exit")

    with H(managed(False)) as value:
        assert value == "value"
    assert log == ["enter", "exit"]
    log.clear()
    with H(managed(True)):
        raise KeyError("k")
    assert log[1][0] == "caught" and log[2] == "exit"
    with pytest.raises(IndexError):
        with H(managed(False)):
            raise IndexError("i")


def test_exit_stack_and_suppress():
    with contextlib.ExitStack() as stack:
        assert stack.enter_context(H(Manager())) == "entered"
    with H(contextlib.suppress(ZeroDivisionError)):
        1 / 0


def test_with_on_an_object_that_is_no_context_manager():
    class OnlyEnter:
        def __enter__(self):
            return self

    for obj in (5, OnlyEnter()):
        with pytest.raises(TypeError):
            with obj:
                pass
        with pytest.raises(TypeError):
            with H(obj):
                pass


# ------------------------------------------------------------------ async

def run(coroutine):
    return asyncio.run(coroutine)


class AsyncManager:
    def __init__(self):
        self.log = []

    async def __aenter__(self):
        self.log.append("aenter")
        return "async entered"

    async def __aexit__(self, exc_type, exc, tb):
        self.log.append(("aexit", exc_type))
        return exc_type is KeyError


class AsyncCounter:
    """An async iterable whose iterator is another object."""

    def __init__(self, n):
        self.n = n

    def __aiter__(self):
        return AsyncCounterIterator(self.n)


class AsyncCounterIterator:
    def __init__(self, n):
        self.i, self.n = 0, n

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self.i >= self.n:
            raise StopAsyncIteration
        self.i += 1
        return self.i


class Awaitable:
    def __await__(self):
        yield from ()
        return "awaited"


async def agen(n):
    for i in range(n):
        await asyncio.sleep(0)
        yield i


def test_async_with():
    obj = AsyncManager()

    async def main():
        async with H(obj) as value:
            assert value == "async entered"
        async with H(obj):
            raise KeyError("suppressed by __aexit__")
        async with H(asyncio.Lock()) as locked:
            assert locked is None

    run(main())
    assert obj.log == ["aenter", ("aexit", None),
                       "aenter", ("aexit", KeyError)]


def test_async_with_exception_propagates():
    obj = AsyncManager()
    error = ValueError("inside")

    async def main():
        async with H(obj):
            raise error

    with pytest.raises(ValueError) as info:
        run(main())
    assert info.value is error


def test_await_a_handle():
    async def coroutine():
        await asyncio.sleep(0)
        return "coroutine result"

    async def main():
        future = asyncio.get_running_loop().create_future()
        future.set_result("future result")
        task = asyncio.ensure_future(coroutine())
        return (await H(coroutine()), await H(future), await H(Awaitable()),
                await H(task))

    assert run(main()) == ("coroutine result", "future result", "awaited",
                           "coroutine result")


async def answer(value):
    await asyncio.sleep(0)
    return value


def test_asyncio_runs_a_handle_of_a_coroutine():
    # The event loop drives a coroutine with PyIter_Send, which uses the
    # handle's am_send.
    assert run(H(answer(1))) == run(answer(1))

    async def main():
        loop = asyncio.get_running_loop()
        return [
            await asyncio.create_task(H(answer(2))),
            await asyncio.ensure_future(H(answer(3))),
            await asyncio.gather(H(answer(4)), H(answer(5))),
            await loop.create_task(H(answer(6))),
        ]

    assert run(main()) == [2, 3, [4, 5], 6]


def test_asyncio_sees_a_failing_coroutine_fail():
    async def fails():
        await asyncio.sleep(0)
        raise KeyError("from the coroutine")

    with pytest.raises(KeyError, match="from the coroutine"):
        run(H(fails()))


class ManualCoroutine(collections.abc.Coroutine):
    """A coroutine written as a class: no am_send and no __next__, so
    asyncio drives it through send()."""

    def __init__(self, steps):
        self.steps = steps

    def send(self, value):
        if self.steps == 0:
            raise StopIteration("manual result")
        self.steps -= 1
        return None  # a bare yield: the task runs again

    def throw(self, *args):
        raise args[-1] if len(args) == 1 else args[1]

    def __await__(self):
        return self


def test_asyncio_runs_a_handle_of_a_coroutine_without_am_send():
    assert run(H(ManualCoroutine(3))) == run(ManualCoroutine(3))


def test_asyncio_awaits_a_handle_of_a_future_as_a_task():
    async def main():
        future = asyncio.get_running_loop().create_future()
        future.set_result("set")
        return await asyncio.gather(H(future))

    assert run(main()) == ["set"]


@types.coroutine
def generator_coroutine():
    yield
    return "generator-based"


@types.coroutine
def echo_twice():
    first = yield "one"
    second = yield "two"
    return (first, second)


def test_await_a_handle_of_a_generator_based_coroutine():
    async def main():
        return await generator_coroutine(), await H(generator_coroutine())

    assert run(main()) == ("generator-based", "generator-based")

    # send() and throw() reach the generator through the awaiting coroutine.
    async def awaits(x):
        return await x

    for make in (echo_twice, lambda: H(echo_twice())):
        c = awaits(make())
        assert c.send(None) == "one"
        assert c.send("a") == "two"
        with pytest.raises(StopIteration) as stop:
            c.send("b")
        assert stop.value.value == ("a", "b")
        c = awaits(make())
        c.send(None)
        with pytest.raises(KeyError):
            c.throw(KeyError("thrown"))


def test_a_plain_generator_is_not_awaitable_through_a_handle_either():
    def plain():
        yield

    async def await_it(x):
        return await x

    for obj in (plain(), H(plain())):
        with pytest.raises(TypeError):
            run(await_it(obj))


def test_await_a_non_awaitable():
    async def await_it(x):
        await x

    for obj in (5, [1]):
        with pytest.raises(TypeError):
            run(await_it(obj))
        with pytest.raises(TypeError):
            run(await_it(H(obj)))


def test_async_for():
    async def collect(iterable):
        return [x async for x in iterable]

    assert run(collect(H(agen(3)))) == [0, 1, 2]
    assert run(collect(H(AsyncCounter(3)))) == [1, 2, 3]
    assert run(collect(H(AsyncCounterIterator(2)))) == [1, 2]


def test_anext():
    async def main():
        h = H(agen(2))
        first = await anext(h)
        second = await h.__anext__()
        default = await anext(h, "end")
        return first, second, default

    assert run(main()) == (0, 1, "end")


def test_async_protocol_errors():
    async def async_for(x):
        async for _ in x:
            pass

    for obj in (5, [1]):
        with pytest.raises(TypeError):
            run(async_for(H(obj)))
        assert same_outcome(outcome(anext, H(obj)), outcome(anext, obj))


# ----------------------------------------------------------------- buffer

@pytest.mark.parametrize("obj", [
    b"bytes", bytearray(b"array"), array.array("i", [1, -2, 3]),
    memoryview(b"view"), array.array("d", [1.5]),
], ids=repr)
def test_memoryview_of_a_handle(obj):
    with memoryview(H(obj)) as view, memoryview(obj) as direct:
        assert view.tobytes() == direct.tobytes()
        assert (view.format, view.itemsize, view.shape, view.readonly) == \
            (direct.format, direct.itemsize, direct.shape, direct.readonly)
        assert view.tolist() == direct.tolist()


def test_writes_through_a_memoryview_of_a_bytearray_handle():
    obj = bytearray(b"abc")
    h = H(obj)
    with memoryview(h) as view:
        view[0] = ord("X")
        view[1:] = b"YZ"
        # Exported: resizing fails, as it does directly.
        with pytest.raises(BufferError):
            h.append(1)
    assert obj == bytearray(b"XYZ")
    h.append(ord("!"))
    assert obj == bytearray(b"XYZ!")


def test_buffer_consumers():
    h = H(b"abc")
    assert b"".join([h, H(bytearray(b"d"))]) == b"abcd"
    assert bytearray(h) == bytearray(b"abc")
    assert str(H(b"text"), "ascii") == "text"
    assert int.from_bytes(H(b"\x01\x00"), "big") == 256
    assert array.array("B", H(b"\x01\x02")).tolist() == [1, 2]
    assert H(b"ab") + b"c" == b"abc" and b"c" + H(b"ab") == b"cab"


def test_memoryview_of_an_object_without_a_buffer():
    with pytest.raises(TypeError):
        memoryview(H(5))


# ------------------------------------------------------------------ paths

class PathLike:
    def __fspath__(self):
        return "/from/fspath"


@pytest.mark.parametrize("obj", [
    "/tmp/x", b"/tmp/y", pathlib.Path("/tmp/z"), pathlib.PurePosixPath("a/b"),
    PathLike(), 5, None,
], ids=repr)
def test_fspath(obj):
    assert same_outcome(outcome(os.fspath, H(obj)), outcome(os.fspath, obj))


def test_path_consumers(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("written")
    h = H(target)
    assert pathlib.Path(h) == target
    assert os.path.join(H(str(tmp_path)), "file.txt") == str(target)
    assert h.read_text() == "written"


# ------------------------------------------------------------------- copy

class Node:
    def __init__(self, value, children=()):
        self.value = value
        self.children = list(children)

    def __eq__(self, other):
        return (type(other) is Node and self.value == other.value
                and self.children == other.children)


COPYABLE = [
    [1, [2, 3]], {"a": [1]}, {1, 2}, Node(1, [Node(2)]), (1, [2]), "text",
    10**30, bytearray(b"ab"), types.SimpleNamespace(a=[1]),
]


@pytest.mark.parametrize("copier", [copy.copy, copy.deepcopy],
                         ids=["copy", "deepcopy"])
@pytest.mark.parametrize("obj", COPYABLE, ids=repr)
def test_copy_and_deepcopy_are_copies_of_the_object(copier, obj):
    result = copier(H(obj))
    expected = copier(obj)
    assert type(result) is type(expected) is not ThreadHandle
    assert result == expected
    assert (result is obj) == (expected is obj)


def test_copies_are_independent():
    obj = [1, [2]]
    shallow = copy.copy(H(obj))
    deep = copy.deepcopy(H(obj))
    obj.append(3)
    obj[1].append(4)
    assert shallow == [1, [2, 4]] and deep == [1, [2]]


def test_deepcopy_keeps_sharing_between_handle_and_object():
    shared = [1]
    h = H(shared)
    result = copy.deepcopy([shared, h, h])
    assert result == [[1], [1], [1]]
    assert result[0] is result[1] is result[2] and result[0] is not shared


@pytest.mark.parametrize("copier", [copy.copy, copy.deepcopy],
                         ids=["copy", "deepcopy"])
def test_copy_errors_are_the_objects(copier):
    lock = threading.Lock()
    assert same_outcome(outcome(copier, H(lock)), outcome(copier, lock))


@dataclasses.dataclass
class Pixel:
    x: int
    y: int


@pytest.mark.skipif(not hasattr(copy, "replace"), reason="Python 3.13+")
def test_copy_replace():
    result = copy.replace(H(Pixel(1, 2)), y=5)
    assert type(result) is Pixel and result == Pixel(1, 5)


def _atomic_objects():
    return [len, Pixel, "text", 10**30, None, math.pi, ValueError]


def test_deepcopy_of_an_atomic_object_is_the_object():
    # copy.deepcopy(obj) is obj for these; the same through a handle.
    for obj in _atomic_objects():
        assert copy.deepcopy(obj) is obj
        assert same_outcome(outcome(copy.deepcopy, H(obj)), ("value", obj)), \
            obj
        assert copy.deepcopy(H(obj)) is obj


def test_deepcopy_uses_the_objects_deepcopy_once_per_object():
    class Counted:
        copies = 0

        def __deepcopy__(self, memo):
            Counted.copies += 1
            return Counted()

    obj = Counted()
    h = H(obj)
    result = copy.deepcopy([obj, h, h])
    assert result[0] is result[1] is result[2]
    assert Counted.copies == 1


# ----------------------------------------------------------------- pickle

PICKLABLE = [
    [1, 2], {"a": (1, 2)}, {1, 2}, "text", 10**30, 2.5, None, (1, "a"),
    Point(1, 2), bytearray(b"ab"), types.SimpleNamespace(k="v"),
]


def _state(obj):
    return vars(obj) if isinstance(obj, Point) else obj


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_loads_as_the_object(protocol):
    wrong = {}
    for obj in PICKLABLE:
        result = outcome(lambda: pickle.loads(pickle.dumps(H(obj), protocol)))
        if result[0] != "value" or type(result[1]) is not type(obj) \
                or _state(result[1]) != _state(obj):
            wrong[repr(obj)] = result
    assert wrong == {}


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_of_a_structure_with_handles(protocol):
    h = H([1])
    loaded = pickle.loads(pickle.dumps({"a": h, "b": h, "c": [H(2)]},
                                       protocol))
    assert loaded == {"a": [1], "b": [1], "c": [2]}
    assert loaded["a"] is loaded["b"]
    assert type(loaded["c"][0]) is int


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_keeps_sharing_between_handle_and_object(protocol):
    shared = [1]
    loaded = pickle.loads(pickle.dumps([shared, H(shared)], protocol))
    assert loaded == [[1], [1]] and loaded[0] is loaded[1]


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_of_objects_pickled_by_reference(protocol):
    # Functions and classes pickle as references to themselves.
    for obj in (len, Pixel, ValueError, math.sqrt):
        assert pickle.loads(pickle.dumps(obj, protocol)) is obj
        assert same_outcome(
            outcome(lambda: pickle.loads(pickle.dumps(H(obj), protocol))),
            ("value", obj)), obj


def test_pickle_errors_are_the_objects():
    lock = threading.Lock()
    assert same_outcome(outcome(pickle.dumps, H(lock)),
                        outcome(pickle.dumps, lock))


# ------------------------------------------------------------ weakref

def test_weakref_to_a_handle():
    obj = [1]
    h = H(obj)
    ref = weakref.ref(h)
    assert ref() is h
    del h
    assert ref() is None
    assert obj == [1]


def test_weakref_callback_and_proxy():
    called = []
    h = H({"a": 1})
    ref = weakref.ref(h, called.append)
    proxy = weakref.proxy(h)
    assert proxy["a"] == 1
    del h
    assert called == [ref]
    with pytest.raises(ReferenceError):
        proxy["a"]


def test_weak_containers_of_handles():
    handles = weakref.WeakSet()
    h = H("text")
    handles.add(h)
    assert len(handles) == 1
    del h
    assert len(handles) == 0


# ----------------------------------------------------------- generic alias

def test_class_getitem():
    alias = ThreadHandle[int]
    assert isinstance(alias, types.GenericAlias)
    assert alias.__origin__ is ThreadHandle and alias.__args__ == (int,)
    assert ThreadHandle[int] == ThreadHandle[int]
    h = alias(5)
    assert type(h) is ThreadHandle and unwrap(h) == 5


def test_calling_the_alias_leaves_the_object_alone():
    # types.GenericAlias sets __orig_class__ on what it made, and on a
    # handle that attribute would land on the handled object.
    obj = types.SimpleNamespace(a=1)
    h = ThreadHandle[types.SimpleNamespace](obj)
    assert unwrap(h) is obj
    assert vars(obj) == {"a": 1}


def test_annotations_use_the_alias():
    def f(h: ThreadHandle[list]) -> ThreadHandle[dict]:
        return h

    assert f.__annotations__["h"] == ThreadHandle[list]


# ----------------------------------------------- errors propagate unchanged

class Boom(Exception):
    pass


class Faulty:
    """Every special method raises the same exception object."""

    error = Boom("from the object")

    def _raise(self, *args, **kwargs):
        raise Faulty.error

    method = __add__ = __radd__ = __iadd__ = __sub__ = __mul__ = _raise
    __pow__ = __neg__ = __abs__ = __int__ = __float__ = __index__ = _raise
    __lt__ = __eq__ = __hash__ = __bool__ = __call__ = _raise
    __getitem__ = __setitem__ = __delitem__ = __len__ = __contains__ = _raise
    __iter__ = __reversed__ = __enter__ = __exit__ = _raise
    __str__ = __format__ = __bytes__ = __round__ = __fspath__ = _raise
    __length_hint__ = __copy__ = __deepcopy__ = __reduce_ex__ = _raise

    @property
    def prop(self):
        raise Faulty.error


def _with(h):
    with h:
        pass


def _inplace(h):
    h += 1


def _setitem(h):
    h[0] = 1


def _delitem(h):
    del h[0]


FAULTY_OPERATIONS = {
    "method": lambda h: h.method(1),
    "property": lambda h: h.prop,
    "add": lambda h: h + 1,
    "radd": lambda h: 1 + h,
    "iadd": _inplace,
    "sub": lambda h: h - 1,
    "pow3": lambda h: pow(h, 2, 3),
    "neg": operator.neg,
    "abs": abs,
    "int": int,
    "float": float,
    "index": operator.index,
    "lt": lambda h: h < 1,
    "gt (reflected)": lambda h: 1 > h,
    "eq": lambda h: h == 1,
    "hash": hash,
    "bool": bool,
    "call": lambda h: h(1, k=2),
    "getitem": lambda h: h[0],
    "setitem": _setitem,
    "delitem": _delitem,
    "len": len,
    "contains": lambda h: 1 in h,
    "iter": iter,
    "reversed": reversed,
    "with": _with,
    "str": str,
    "format": lambda h: format(h, "x"),
    "bytes": bytes,
    "round": round,
    "fspath": os.fspath,
    "length_hint": operator.length_hint,
    "copy": copy.copy,
    "deepcopy": copy.deepcopy,
    "pickle": pickle.dumps,
}


@pytest.mark.parametrize("operation", FAULTY_OPERATIONS.values(),
                         ids=FAULTY_OPERATIONS.keys())
def test_errors_from_the_object_propagate_unchanged(operation):
    with pytest.raises(Boom) as direct:
        operation(Faulty())
    assert direct.value is Faulty.error
    with pytest.raises(Boom) as through_handle:
        operation(H(Faulty()))
    assert through_handle.value is Faulty.error


def test_builtin_errors_keep_their_arguments():
    with pytest.raises(KeyError) as info:
        H({})[("a", 1)]
    assert info.value.args == (("a", 1),)
    with pytest.raises(ZeroDivisionError) as info:
        H(1) / 0
    assert str(info.value) == "division by zero"
    with pytest.raises(IndexError) as info:
        H([]).pop()
    assert str(info.value) == "pop from empty list"


def test_system_exiting_exceptions_propagate():
    class Stopper:
        def __len__(self):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        len(H(Stopper()))
