"""Deep chains of handles through other objects (a handle of a handle is
the handle of the object, so a chain needs something in between, such as
functools.partial): where the object itself would raise RecursionError,
or would not recurse at all, a handle must not crash the interpreter.
Each case runs in a fresh interpreter, so a crash fails only its test."""
import textwrap

import pytest

from conftest import run_python

PRELUDE = """
import functools
import sys
from threadhandle import ThreadHandle

def chain(depth, link):
    f = print
    for _ in range(depth):
        f = link(f)
    return f

def outcome(func):
    try:
        func()
    except RecursionError:
        return "RecursionError"
    return "returned"
"""


def run(code):
    result = run_python(PRELUDE + textwrap.dedent(code))
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    return result.stdout


def test_a_deep_chain_of_calls_raises_recursion_error():
    out = run("""
        f = chain(200_000, lambda f: ThreadHandle(functools.partial(f)))
        print(outcome(f))
        print(outcome(f))  # the interpreter recovered
    """)
    assert out == "RecursionError\nRecursionError\n"


def test_a_deep_chain_of_plain_callables_also_raises_recursion_error():
    # The same depth without handles, for comparison: bound methods of
    # partials do not flatten.
    out = run("""
        import types
        f = chain(200_000, lambda f: types.MethodType(functools.partial(
            lambda self, f=f: f()), 0))
        print(outcome(f))
    """)
    assert out == "RecursionError\n"


def test_a_chain_of_handles_of_python_functions_raises_recursion_error():
    out = run("""
        def link(f):
            def call():
                return f()
            return ThreadHandle(call)
        f = chain(200_000, link)
        print(outcome(f))
    """)
    assert out == "RecursionError\n"


def test_a_shallow_chain_still_calls_through():
    out = run("""
        f = chain(50, lambda f: ThreadHandle(functools.partial(f)))
        f("called", "through", 50)
    """)
    assert out == "called through 50\n"


@pytest.mark.parametrize("operation", ["repr", "str"])
def test_deep_text_conversions_raise_recursion_error(operation):
    out = run(f"""
        f = chain(200_000, lambda f: ThreadHandle(functools.partial(f)))
        print(outcome(lambda: {operation}(f)))
    """)
    assert out == "RecursionError\n"


def test_dropping_a_deep_chain_does_not_crash():
    out = run("""
        f = chain(1_000_000, lambda f: ThreadHandle(functools.partial(f)))
        del f
        print("dropped")
    """)
    assert out == "dropped\n"


def test_dropping_a_deep_chain_of_handles_alone_does_not_crash():
    # handle -> list -> handle -> ...: lists have a trashcan, but a chain
    # through objects without one must not rely on it.
    out = run("""
        import weakref
        class Box:
            __slots__ = ("item",)
        x = None
        for _ in range(1_000_000):
            box = Box()
            box.item = x
            x = ThreadHandle(box)
        del x, box
        print("dropped")
    """)
    assert out == "dropped\n"


def test_a_deep_chain_through_weak_proxies_is_refused():
    # A weak proxy forwards everything to its referent without a recursion
    # check, as a handle does: a chain of them is refused at some depth
    # instead of crashing the operations on it.
    out = run("""
        import weakref
        class Target:
            a = 1
            def __add__(self, other):
                return "added"
        keep = []
        x = Target()
        try:
            for depth in range(200_000):
                h = ThreadHandle(x)
                keep.append(h)
                x = weakref.proxy(h)
        except RecursionError:
            print("refused at", depth)
        print(h.a, h + 1, bool(h))
    """)
    assert out == "refused at 1001\n1 added True\n"  # 1000 proxies deep


def test_a_proxy_of_a_dead_handle_or_of_an_object_is_accepted():
    out = run("""
        import weakref
        class Target:
            a = 1
        target = Target()
        print(ThreadHandle(weakref.proxy(target)).a)
        h = ThreadHandle(target)
        p = weakref.proxy(h)
        del h
        try:
            ThreadHandle(p).a
        except ReferenceError:
            print("ReferenceError, as for the proxy")
    """)
    assert out == "1\nReferenceError, as for the proxy\n"
