"""ThreadHandle and the interpreter: the GIL stays off on free-threaded
builds, the class has the slot wrappers a C class would have, and misuse of
them raises instead of crashing (checked in a fresh interpreter, so a crash
fails one test instead of the whole run)."""
import os
import sys
import textwrap

import pytest

from conftest import FREE_THREADED, run_python
import threadhandle
from threadhandle import ThreadHandle, unwrap

SLOT_WRAPPERS = [
    "__getattribute__", "__setattr__", "__delattr__", "__call__", "__repr__",
    "__str__", "__hash__", "__lt__", "__le__", "__eq__", "__ne__", "__gt__",
    "__ge__", "__iter__", "__next__", "__len__", "__getitem__",
    "__setitem__", "__delitem__", "__contains__", "__add__", "__radd__",
    "__sub__", "__rsub__", "__mul__", "__rmul__", "__mod__", "__rmod__",
    "__divmod__", "__rdivmod__", "__pow__", "__rpow__", "__neg__", "__pos__",
    "__abs__", "__bool__", "__invert__", "__lshift__", "__rlshift__",
    "__rshift__", "__rrshift__", "__and__", "__rand__", "__xor__",
    "__rxor__", "__or__", "__ror__", "__int__", "__float__", "__iadd__",
    "__isub__", "__imul__", "__imod__", "__ipow__", "__ilshift__",
    "__irshift__", "__iand__", "__ixor__", "__ior__", "__floordiv__",
    "__rfloordiv__", "__truediv__", "__rtruediv__", "__ifloordiv__",
    "__itruediv__", "__index__", "__matmul__", "__rmatmul__", "__imatmul__",
    "__await__", "__aiter__", "__anext__",
]

SPECIAL_METHODS = [
    "__enter__", "__exit__", "__aenter__", "__aexit__", "__round__",
    "__trunc__", "__floor__", "__ceil__", "__complex__", "__bytes__",
    "__format__", "__fspath__", "__reversed__", "__length_hint__",
    "__dir__", "__copy__", "__deepcopy__", "__reduce_ex__", "__reduce__",
    "__class_getitem__", "__sizeof__",
]


def clean_environment():
    """The environment without settings that force the GIL either way."""
    env = dict(os.environ)
    env.pop("PYTHON_GIL", None)
    return env


@pytest.mark.skipif(not FREE_THREADED, reason="free-threaded builds only")
def test_import_keeps_the_gil_disabled():
    code = textwrap.dedent("""
        import sys, warnings
        warnings.simplefilter("error")
        assert not sys._is_gil_enabled(), "GIL on before the import"
        import threadhandle
        h = threadhandle.ThreadHandle({"a": 1})
        assert h.get("a") == 1
        print(sys._is_gil_enabled())
    """)
    result = run_python(code, env=clean_environment())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    assert "GIL" not in result.stderr


@pytest.mark.skipif(not FREE_THREADED or sys.version_info < (3, 14),
                    reason="deferred reference counting: free-threaded 3.14+")
@pytest.mark.parametrize("name", ["local_handle", "release_local_handle",
                                  "clear_local_handles", "unwrap"])
def test_module_functions_use_deferred_reference_counting(name):
    # Loading them from a global then costs no shared incref, so threads
    # calling local_handle() in a loop do not contend on the function.  A
    # deferred object reports its deferred bias in its reference count.
    assert sys.getrefcount(getattr(threadhandle, name)) > 2**40


def test_import_prints_nothing():
    code = "import threadhandle; print(threadhandle.ThreadHandle(1) + 1)"
    result = run_python(code, env=clean_environment())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2" and result.stderr == ""


@pytest.mark.parametrize("name", SLOT_WRAPPERS)
def test_slot_wrappers_exist_on_the_class(name):
    wrapper = ThreadHandle.__dict__.get(name)
    assert wrapper is not None, name
    assert callable(wrapper)
    assert getattr(ThreadHandle, name) is wrapper


@pytest.mark.parametrize("name", SPECIAL_METHODS)
def test_special_methods_exist_on_the_class(name):
    assert name in ThreadHandle.__dict__, name


def test_slot_wrappers_called_with_a_handle_forward():
    h = ThreadHandle([1, 2, 3])
    assert ThreadHandle.__getitem__(h, 1) == 2
    assert ThreadHandle.__len__(h) == 3
    assert ThreadHandle.__contains__(h, 3) is True
    assert list(ThreadHandle.__iter__(h)) == [1, 2, 3]
    ThreadHandle.__setitem__(h, 0, 9)
    ThreadHandle.__delitem__(h, 2)
    assert unwrap(h) == [9, 2]
    assert ThreadHandle.__add__(ThreadHandle(1), 2) == 3
    assert ThreadHandle.__radd__(ThreadHandle(1), 2) == 3
    assert ThreadHandle.__rsub__(ThreadHandle(1), 7) == 6
    assert ThreadHandle.__pow__(ThreadHandle(2), 5, 7) == 4
    assert ThreadHandle.__neg__(ThreadHandle(2)) == -2
    assert ThreadHandle.__index__(ThreadHandle(5)) == 5
    assert ThreadHandle.__bool__(ThreadHandle([])) is False
    assert ThreadHandle.__hash__(ThreadHandle("x")) == hash("x")
    assert ThreadHandle.__eq__(ThreadHandle(1), 1) is True
    assert ThreadHandle.__lt__(ThreadHandle(1), 2) is True
    assert ThreadHandle.__call__(ThreadHandle(len), [1]) == 1
    assert ThreadHandle.__str__(ThreadHandle(5)) == "5"
    assert ThreadHandle.__getattribute__(ThreadHandle([]), "append")
    it = ThreadHandle(iter([1, 2]))
    assert ThreadHandle.__next__(it) == 1
    assert ThreadHandle.__iter__(it) is it
    assert ThreadHandle.__round__(ThreadHandle(2.5)) == 2
    assert ThreadHandle.__format__(ThreadHandle(2.5), ".2f") == "2.50"


def test_await_slot_wrapper():
    async def coroutine():
        return "done"

    coro = coroutine()
    awaiting = ThreadHandle.__await__(ThreadHandle(coro))
    with pytest.raises(StopIteration) as info:
        next(awaiting)
    assert info.value.value == "done"


# --------------------------------------------------------- never crash

NEVER_CRASH = {
    "7 - h": "h = ThreadHandle(5); assert 7 - h == 2",
    "pow(2, h, h)": "h = ThreadHandle(5); assert pow(2, h, h) == 2",
    "h ** h": "h = ThreadHandle(5); assert h ** h == 3125",
    "pow(h, 2, h)": "h = ThreadHandle(5); assert pow(h, 2, h) == 0",
    "pow(2, 3, h)": "h = ThreadHandle(5); assert pow(2, 3, h) == 3",
    "__add__(1, 2)": "expect_type_error(ThreadHandle.__add__, 1, 2)",
    "__getitem__(None, 0)":
        "expect_type_error(ThreadHandle.__getitem__, None, 0)",
    "handle of a handle": """
        h = ThreadHandle(ThreadHandle(ThreadHandle([1])))
        assert h[0] == 1 and len(h) == 1 and h + [2] == [1, 2]
        """,
    "every slot wrapper with a wrong self": """
        for name, wrapper in list(vars(ThreadHandle).items()):
            if type(wrapper).__name__ != "wrapper_descriptor":
                continue
            for self in (None, 1, "s", [1], object()):
                for args in ((), (1,), (1, 2), (None, None, None)):
                    expect_type_error(wrapper, self, *args)
        """,
    "every slot wrapper with a handle and odd arguments": """
        for name in dir(ThreadHandle):
            wrapper = getattr(ThreadHandle, name)
            if not callable(wrapper) or name in ("__class__", "__new__"):
                continue
            for obj in (None, 1, [1], {}, iter([])):
                for args in ((), (None,), (ThreadHandle(1),), (1, 2),
                             (None, None, None)):
                    try:
                        wrapper(ThreadHandle(obj), *args)
                    except Exception:
                        pass
        """,
    "operators with None and handles of None": """
        import operator
        n = ThreadHandle(None)
        for op in (operator.add, operator.sub, operator.mul, operator.mod,
                   operator.pow, operator.lt, operator.matmul, divmod,
                   operator.getitem, operator.contains, operator.iadd):
            for a, b in ((n, None), (None, n), (n, n), (n, 1), (1, n)):
                try:
                    op(a, b)
                except TypeError:
                    pass
        for f in (len, iter, next, hash, bool, str, repr, abs, int, float,
                  operator.index, operator.neg, reversed, round, bytes,
                  memoryview, dir, callable):
            try:
                f(n)
            except TypeError:
                pass
        """,
    "handle of a deleted list iterator": """
        it = iter([1, 2])
        h = ThreadHandle(it)
        del it
        assert list(h) == [1, 2] and list(h) == []
        """,
    "mutating a list while iterating it through a handle": """
        obj = [1, 2, 3]
        h = ThreadHandle(obj)
        for x in h:
            if len(obj) < 100:
                h.append(x)
        assert len(obj) == 100
        """,
    "recursive repr": """
        obj = []
        obj.append(ThreadHandle(obj))
        assert "ThreadHandle" in repr(obj) and "[...]" in repr(obj)
        """,
}

PRELUDE = """
from threadhandle import ThreadHandle

def expect_type_error(func, *args):
    try:
        func(*args)
    except TypeError:
        return
    raise AssertionError("no TypeError")
"""


@pytest.mark.parametrize("code", NEVER_CRASH.values(), ids=NEVER_CRASH.keys())
def test_never_crashes(code):
    result = run_python(PRELUDE + textwrap.dedent(code) + "\nprint('ok')\n")
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("name", SPECIAL_METHODS + ["__new__"])
def test_methods_reject_other_objects(name):
    # The methods written in _threadhandle.pyx, called through the class
    # with something that is not a handle as self.
    code = f"""
        method = getattr(ThreadHandle, {name!r})
        for self in (None, 1, "s", [1], object()):
            if {name!r} == "__class_getitem__":
                method(self)  # a classmethod: self is the item
                continue
            for args in ((), (None,), (1, 2), (None, None, None)):
                expect_type_error(method, self, *args)
        """
    result = run_python(PRELUDE + textwrap.dedent(code) + "\nprint('ok')\n")
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert result.stdout.strip() == "ok"


def test_slot_wrappers_reject_other_objects_in_process():
    for name in ("__add__", "__getitem__", "__len__", "__call__", "__iter__",
                 "__next__", "__await__", "__hash__", "__neg__", "__bool__"):
        wrapper = getattr(ThreadHandle, name)
        with pytest.raises(TypeError):
            wrapper(None) if name not in ("__add__", "__getitem__") \
                else wrapper(None, 0)
