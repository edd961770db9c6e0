"""numpy with handles: numpy's functions (np.dot, np.sum, ...) answer for
a handle exactly as for its object (ThreadHandle.__array_function__); the
conversions numpy does itself (np.asarray(h), ufunc operands) are the
known differences (docs/forwarding.md), pinned here."""
import os

import pytest

from threadhandle import ThreadHandle, unwrap

from conftest import outcome, same_outcome

if "detect_leaks=1" in os.environ.get("ASAN_OPTIONS", ""):
    # make asan, GIL build: `import numpy` alone leaves allocations of
    # numpy's (init_string_ufuncs) that LeakSanitizer reports at exit.
    # The 3.14t leg of make asan runs these tests (without leak checks).
    pytest.skip("numpy's import leaks by LeakSanitizer's measure",
                allow_module_level=True)

np = pytest.importorskip("numpy")


def same(a, b):
    """Two numpy results are the same: type, dtype, shape and values (or
    the same exception)."""
    if a[0] != b[0] or a[0] == "raises":
        return same_outcome(a, b)
    x, y = a[1], b[1]
    if type(x) is not type(y):
        return False
    if isinstance(x, (np.ndarray, np.generic)):
        return (x.dtype == y.dtype and np.shape(x) == np.shape(y)
                and np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"))
    if isinstance(x, tuple):
        return len(x) == len(y) and all(
            same(("value", p), ("value", q)) for p, q in zip(x, y))
    return x == y


def objects():
    """Objects numpy is handed: arrays, a masked array, lists, tuples,
    Python and numpy scalars, a dict, a str."""
    return [
        np.arange(6.0).reshape(2, 3),
        np.arange(4, dtype=np.int32),
        np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0]),
        [1, 2, 3],
        [[1.5, 2.5], [3.5, 4.5]],
        (1, 2),
        2.5,
        7,
        np.float32(1.5),
        {"a": 1},
        "abc",
    ]


FUNCTIONS = [
    ("np.sum", lambda x: np.sum(x)),
    ("np.mean axis", lambda x: np.mean(x, axis=0)),
    ("np.shape", np.shape),
    ("np.ndim", np.ndim),
    ("np.dot self", lambda x: np.dot(x, x)),
    ("np.concatenate", lambda x: np.concatenate([x, x])),
    ("np.stack", lambda x: np.stack((x, x))),
    ("np.result_type", np.result_type),
    ("np.linalg.norm", np.linalg.norm),
    ("np.transpose", np.transpose),
    ("np.ravel", np.ravel),
    ("np.where", lambda x: np.where(np.ones(np.shape(x), bool), x, x)),
]


@pytest.mark.parametrize("name,func", FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_functions_answer_as_for_the_object(name, func):
    for obj in objects():
        plain = outcome(func, obj)
        handled = outcome(func, ThreadHandle(obj))
        assert same(plain, handled), (name, obj, plain, handled)


def test_dot_with_handles_anywhere():
    w = np.arange(64.0).reshape(8, 8)
    x = np.arange(8.0)
    expected = np.dot(w, x)
    for args in [(ThreadHandle(w), x), (w, ThreadHandle(x)),
                 (ThreadHandle(w), ThreadHandle(x))]:
        result = np.dot(*args)
        assert type(result) is np.ndarray
        assert np.array_equal(result, expected)
    assert np.dot(ThreadHandle([1, 2]), [3, 4]) == 11


def test_keywords_and_out():
    a = np.arange(6.0).reshape(2, 3)
    out = np.empty(3)
    result = np.sum(a, axis=0, out=ThreadHandle(out))
    assert result is out
    assert np.array_equal(out, [3.0, 5.0, 7.0])
    total = np.sum(ThreadHandle(a), axis=ThreadHandle(1))
    assert total.tolist() == [3.0, 12.0]


def test_nested_lists_of_handles():
    a = np.arange(4.0).reshape(2, 2)
    h = ThreadHandle(a)
    assert np.array_equal(np.block([[h, a], [a, h]]),
                          np.block([[a, a], [a, a]]))
    assert np.array_equal(np.concatenate((h, [h][0])), np.concatenate((a, a)))


def test_subclass_result_kept():
    masked = np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0])
    result = np.concatenate([ThreadHandle(masked), masked])
    plain = np.concatenate([masked, masked])
    assert type(result) is type(plain) is np.ma.MaskedArray
    assert np.array_equal(result.mask, plain.mask)
    assert np.array_equal(result.data, plain.data)


class Sub(np.ndarray):
    pass


class Overrides:
    """An object with its own __array_function__: it is called with the
    objects, not the handles."""

    def __array_function__(self, func, types, args, kwargs):
        return (func.__name__, tuple(type(a).__name__ for a in args),
                tuple(t.__name__ for t in types))


def test_an_override_of_the_object_sees_the_objects():
    a = np.ones(2)
    o = Overrides()
    assert np.dot(ThreadHandle(o), a) == np.dot(o, a)
    assert np.dot(a, ThreadHandle(o)) == np.dot(a, o)
    assert np.dot(ThreadHandle(o), ThreadHandle(a)) == np.dot(o, a)


# numpy's functions that take like= (NEP 35: numpy calls the like object's
# __array_function__ with the public function, `like` taken out).
LIKE_FUNCTIONS = [
    ("np.asarray", lambda like: np.asarray([1, 2], like=like)),
    ("np.array", lambda like: np.array([[1, 2]], like=like)),
    ("np.asanyarray", lambda like: np.asanyarray([1.5], like=like)),
    ("np.ascontiguousarray",
     lambda like: np.ascontiguousarray([1, 2], like=like)),
    ("np.zeros", lambda like: np.zeros(2, like=like)),
    ("np.ones", lambda like: np.ones((2, 2), dtype=int, like=like)),
    ("np.empty", lambda like: np.empty(0, like=like)),
    ("np.full", lambda like: np.full(2, 7, like=like)),
    ("np.arange", lambda like: np.arange(3, like=like)),
    ("np.identity", lambda like: np.identity(2, like=like)),
    ("np.eye", lambda like: np.eye(2, k=1, like=like)),
    ("np.frombuffer", lambda like: np.frombuffer(b"\0" * 8, like=like)),
    ("np.fromiter", lambda like: np.fromiter(range(3), float, like=like)),
    ("np.fromfunction",
     lambda like: np.fromfunction(lambda i: i * 2, (3,), like=like)),
    ("np.require", lambda like: np.require([1, 2], like=like)),
    ("np.loadtxt", lambda like: np.loadtxt(["1 2"], like=like)),
]


@pytest.mark.parametrize("name,func", LIKE_FUNCTIONS,
                         ids=[f[0] for f in LIKE_FUNCTIONS])
def test_like_a_handle_is_like_its_object(name, func):
    # Issue 21, item 11: AttributeError ('_implementation') before.
    for obj in [np.arange(3.0), np.arange(2, dtype=np.int32).view(Sub),
                np.ma.masked_array([1.0, 2.0], mask=[0, 1]), Overrides()]:
        plain = outcome(func, obj)
        handled = outcome(func, ThreadHandle(obj))
        assert plain[0] == "value", (name, obj, plain)
        assert same(plain, handled), (name, obj, plain, handled)


def test_like_a_handle_with_handles_among_the_arguments():
    a = np.arange(3.0)
    h = ThreadHandle(a)
    assert np.asarray(h, like=h) is np.asarray(a, like=a) is a
    assert np.array_equal(np.array([h, h], like=h), np.array([a, a]))


def test_attribute_access_is_the_objects():
    # numpy looks __array_function__ up on type(h); through the handle the
    # name is the object's (or AttributeError, as for the object).
    a = np.ones(2)
    assert ThreadHandle(a).__array_function__ == a.__array_function__
    assert not hasattr(ThreadHandle([1]), "__array_function__")


def test_methods_and_operators_with_the_handle_first():
    w = np.arange(64.0).reshape(8, 8)
    x = np.arange(8.0)
    h = ThreadHandle(w)
    assert np.array_equal(h @ x, w @ x)
    assert h.sum() == w.sum()
    assert np.array_equal(h + 1, w + 1)
    assert memoryview(h).tobytes() == memoryview(w).tobytes()


# --- known differences (docs/forwarding.md): conversions numpy does itself.

def test_known_difference_asarray_of_a_handle_of_an_array():
    # numpy tries the buffer protocol first, which every handle has: the
    # result is a new array over the same memory, not the array itself.
    a = np.arange(6.0).reshape(2, 3)
    converted = np.asarray(ThreadHandle(a))
    assert converted is not a
    assert np.shares_memory(converted, a)
    assert converted.dtype == a.dtype and converted.shape == a.shape
    assert np.asarray(unwrap(ThreadHandle(a))) is a
    # A subclass comes out as a plain ndarray (the mask is lost).
    masked = np.ma.masked_array([1.0, 2.0], mask=[0, 1])
    assert type(np.asanyarray(ThreadHandle(masked))) is np.ndarray


def test_known_difference_asarray_of_a_handle_of_a_list():
    # numpy looks __array__ up on the instance (the object's: a list has
    # none) and checks PySequence_Check (a handle has no sq_item): the
    # handle becomes a 0-d object array holding the handle.
    converted = np.asarray(ThreadHandle([1, 2, 3]))
    assert converted.dtype == object and converted.shape == ()
    assert np.asarray(unwrap(ThreadHandle([1, 2, 3]))).shape == (3,)
    # A handle of bytes goes through the buffer (uint8), bytes are a scalar.
    assert np.asarray(ThreadHandle(b"xy")).dtype == np.uint8
    assert np.asarray(b"xy").dtype == np.dtype("S2")


def test_known_difference_ufunc_of_a_handle_of_a_list():
    # Ufuncs convert their operands as np.asarray does.
    with pytest.raises(TypeError):
        np.add(ThreadHandle([1, 2]), 1)
    assert np.add([1, 2], 1).tolist() == [2, 3]
    with pytest.raises(TypeError):
        np.sin(ThreadHandle(0.5))
    assert type(np.add(ThreadHandle(3.5), 1)) is float
    assert type(np.add(3.5, 1)) is np.float64
    # A handle of an array converts through its buffer: right values.
    a = np.arange(3.0)
    assert np.array_equal(np.add(ThreadHandle(a), 1), a + 1)
    assert np.array_equal(np.ones(3) @ ThreadHandle(np.eye(3)), np.ones(3))
