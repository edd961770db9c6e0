"""Containers and iteration through handles: len, h[k], h[k] = v, del h[k],
`in`, iter, next, reversed, operator.length_hint and unpacking."""
import collections
import operator

import pytest

from conftest import outcome, same_outcome
from threadhandle import ThreadHandle, unwrap

H = ThreadHandle


class Sized:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


class Recorder:
    """A container that records the keys it is given."""

    def __init__(self):
        self.log = []

    def __getitem__(self, key):
        self.log.append(("get", key))
        return ("item", key)

    def __setitem__(self, key, value):
        self.log.append(("set", key, value))

    def __delitem__(self, key):
        self.log.append(("del", key))

    def __contains__(self, item):
        self.log.append(("contains", item))
        return item == "yes"


class OldSequence:
    """Only __getitem__: iteration and `in` use the old protocol."""

    def __getitem__(self, index):
        if index >= 3:
            raise IndexError(index)
        return index * 10


class OnlyIter:
    def __iter__(self):
        return iter([1, 2, 3])


class Countdown:
    """Its own iterator."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return self

    def __next__(self):
        if self.n <= 0:
            raise StopIteration
        self.n -= 1
        return self.n


class Reversible:
    def __reversed__(self):
        return iter("reversed")


class Hinted:
    def __init__(self, hint):
        self.hint = hint

    def __length_hint__(self):
        return self.hint


# -------------------------------------------------------------------- len

@pytest.mark.parametrize("obj", [
    [], [1, 2, 3], (1,), "text", "", b"ab", bytearray(3), {"a": 1}, {1, 2},
    frozenset(), range(5), collections.deque([1]), Sized(4), Sized(0),
    {"a": 1}.keys(), 5, None, Countdown(3), Sized(-1), Sized(2**70),
    Sized(2.5),
], ids=repr)
def test_len_matches_the_object(obj):
    assert same_outcome(outcome(len, H(obj)), outcome(len, obj))


# ------------------------------------------------------- items and slices

LIST_KEYS = [0, 2, -1, -3, 5, -6, slice(1, 3), slice(None, None, -1),
             slice(-2, None), slice(0, 5, 2), slice(10, 20), "a", 1.0, None]


@pytest.mark.parametrize("key", LIST_KEYS, ids=repr)
def test_getitem_of_sequences(key):
    for obj in ([10, 20, 30, 40], (10, 20, 30, 40), "abcd", b"abcd",
                range(4)):
        assert same_outcome(outcome(operator.getitem, H(obj), key),
                            outcome(operator.getitem, obj, key)), obj


@pytest.mark.parametrize("key", LIST_KEYS, ids=repr)
def test_setitem_of_a_list(key):
    direct, handled = [10, 20, 30, 40], [10, 20, 30, 40]
    value = [7, 8] if isinstance(key, slice) else 7
    assert same_outcome(outcome(operator.setitem, H(handled), key, value),
                        outcome(operator.setitem, direct, key, value))
    assert handled == direct


@pytest.mark.parametrize("key", LIST_KEYS, ids=repr)
def test_delitem_of_a_list(key):
    direct, handled = [10, 20, 30, 40], [10, 20, 30, 40]
    assert same_outcome(outcome(operator.delitem, H(handled), key),
                        outcome(operator.delitem, direct, key))
    assert handled == direct


def test_slice_assignment_of_a_different_length():
    obj = [1, 2, 3, 4]
    h = H(obj)
    h[1:3] = "abc"
    assert obj == [1, "a", "b", "c", 4]
    h[::2] = [0, 0, 0]
    assert obj == [0, "a", 0, "c", 0]
    del h[::2]
    assert obj == ["a", "c"]


def test_dict_items():
    obj = {"a": 1, 2: "two", (1, 2): None}
    h = H(obj)
    assert h["a"] == 1 and h[2] == "two" and h[(1, 2)] is None
    h["new"] = 5
    del h["a"]
    assert obj == {2: "two", (1, 2): None, "new": 5}
    for op, args in ((operator.getitem, ("missing",)),
                     (operator.delitem, ("missing",)),
                     (operator.getitem, ([],)),
                     (operator.setitem, ([], 1))):
        assert same_outcome(outcome(op, h, *args), outcome(op, obj, *args))
    with pytest.raises(KeyError) as info:
        h[("k", 1)]
    assert info.value.args == (("k", 1),)


def test_dict_subclass_missing():
    counts = collections.Counter("hello")
    h = H(counts)
    assert h["l"] == 2 and h["z"] == 0
    table = collections.defaultdict(list)
    H(table)["k"].append(1)
    assert table == {"k": [1]}


def test_keys_and_slices_reach_the_object_unchanged():
    obj = Recorder()
    h = H(obj)
    assert h[1:2:3] == ("item", slice(1, 2, 3))
    assert h[1, ...] == ("item", (1, Ellipsis))
    h["k"] = "v"
    del h[::-1]
    assert obj.log == [("get", slice(1, 2, 3)), ("get", (1, Ellipsis)),
                       ("set", "k", "v"), ("del", slice(None, None, -1))]


def test_keys_and_values_reach_the_object_as_they_are():
    # forward.c unwraps the handle itself, not its keys and values: a
    # handle key finds an entry through its hash and ==, as an equal object
    # would, and what is stored is what `obj[k] = v` would store.
    assert {"a": 1}[H("a")] == 1
    assert H({"a": 1})[H("a")] == 1
    assert [10, 20][H(1)] == 20
    assert H([10, 20])[H(1)] == 20
    assert H("a") in H({"a": 1})
    d = {}
    key, value = H("k"), H([])
    H(d)[key] = value
    [(stored_key, stored_value)] = d.items()
    assert stored_key is key and stored_value is value
    del H(d)[H("k")]
    assert d == {}


def test_items_of_objects_without_them():
    for op, args in ((operator.getitem, (0,)), (operator.setitem, (0, 1)),
                     (operator.delitem, (0,))):
        for obj in (5, None, OnlyIter(), frozenset({1})):
            assert same_outcome(outcome(op, H(obj), *args),
                                outcome(op, obj, *args)), (op, obj)


def test_class_getitem_through_a_handle_of_a_class():
    assert H(list)[int] == list[int]
    assert H(dict)[str, int] == dict[str, int]


# ------------------------------------------------------------------- in

@pytest.mark.parametrize("obj", [
    [1, 2, 3], (1, 2), "abc", b"abc", {1: 2}, {1, 2}, range(3), Recorder(),
    OldSequence(), OnlyIter(), 5, None, {"a": 1}.values(),
], ids=repr)
def test_contains_matches_the_object(obj):
    for item in (1, 2, "b", "yes", 20, b"b"[0], "zzz", [1]):
        assert same_outcome(outcome(operator.contains, H(obj), item),
                            outcome(operator.contains, obj, item)), item


def test_contains_consumes_an_iterator_as_directly():
    direct, handled = iter([1, 2, 3, 4]), iter([1, 2, 3, 4])
    assert (2 in H(handled)) is (2 in direct) is True
    assert list(handled) == list(direct) == [3, 4]


# ------------------------------------------------------------ iteration

@pytest.mark.parametrize("obj", [
    [1, 2], (1,), "ab", b"ab", {"a": 1, "b": 2}, {3}, range(3), OldSequence(),
    OnlyIter(), {"a": 1}.items(), collections.deque([1, 2]),
], ids=repr)
def test_iteration_of_iterables(obj):
    h = H(obj)
    it = iter(h)
    assert type(it) is not ThreadHandle and it is not h
    assert list(it) == list(obj)
    assert list(h) == list(obj)
    assert [x for x in h] == list(obj)
    assert tuple(h) == tuple(obj) and sorted(h) == sorted(obj)


@pytest.mark.parametrize("obj", [5, None, Sized(2)], ids=repr)
def test_iteration_of_non_iterables(obj):
    assert same_outcome(outcome(iter, H(obj)), outcome(iter, obj))
    assert same_outcome(outcome(list, H(obj)), outcome(list, obj))


@pytest.mark.parametrize("make", [
    lambda: iter([1, 2, 3]), lambda: (x * 2 for x in range(3)),
    lambda: Countdown(3), lambda: iter({"a": 1, "b": 2}),
    lambda: map(str, range(3)), lambda: enumerate("ab"),
], ids=["list_iterator", "generator", "Countdown", "dict_keyiterator", "map",
        "enumerate"])
def test_handle_of_an_iterator_is_an_iterator(make):
    expected = list(make())
    h = H(make())
    assert iter(h) is h
    assert next(h) == expected[0]
    assert list(h) == expected[1:]
    with pytest.raises(StopIteration):
        next(h)
    assert next(h, "default") == "default"


def test_next_of_a_non_iterator():
    for obj in ([1], "a", 5, OnlyIter()):
        assert same_outcome(outcome(next, H(obj)), outcome(next, obj))


def test_generator_methods_and_return_value():
    def gen():
        received = yield 1
        yield received * 2
        return "done"

    h = H(gen())
    assert next(h) == 1
    assert h.send(21) == 42
    with pytest.raises(StopIteration) as info:
        next(h)
    assert info.value.value == "done"


def test_generator_throw_and_close():
    def gen():
        try:
            yield 1
        except ValueError:
            yield "caught"

    h = H(gen())
    next(h)
    assert h.throw(ValueError) == "caught"
    h.close()
    assert same_outcome(outcome(next, h), ("raises", StopIteration, ""))


def test_yield_from_a_handle():
    def inner():
        received = yield "first"
        return received

    def outer():
        result = yield from H(inner())
        yield ("returned", result)

    gen = outer()
    assert next(gen) == "first"
    assert gen.send("sent") == ("returned", "sent")


def test_unpacking():
    a, b, *rest = H([1, 2, 3, 4])
    assert (a, b, rest) == (1, 2, [3, 4])
    assert [*H((1, 2)), *H("ab")] == [1, 2, "a", "b"]
    assert {**H({"a": 1})} == {"a": 1}
    assert dict(H({"a": 1})) == {"a": 1}
    assert dict(H([("k", "v")])) == {"k": "v"}

    def keywords(**kwargs):
        return kwargs

    assert keywords(**H({"x": 1})) == {"x": 1}


def test_builtins_that_iterate():
    h = H([3, 1, 2])
    assert sum(h) == 6 and max(h) == 3 and min(h) == 1
    assert list(zip(h, H("abc"))) == [(3, "a"), (1, "b"), (2, "c")]
    assert list(enumerate(H("ab"))) == [(0, "a"), (1, "b")]
    assert set(H([1, 1, 2])) == {1, 2}
    assert "-".join(H(["a", "b"])) == "a-b"


def test_errors_from_iteration_propagate():
    class Broken:
        error = RuntimeError("from __next__")

        def __iter__(self):
            return self

        def __next__(self):
            raise Broken.error

    with pytest.raises(RuntimeError) as info:
        next(H(Broken()))
    assert info.value is Broken.error
    with pytest.raises(RuntimeError) as info:
        list(H(Broken()))
    assert info.value is Broken.error


# -------------------------------------------------------------- reversed

@pytest.mark.parametrize("obj", [
    [1, 2, 3], (1, 2), "abc", range(4), {"a": 1, "b": 2}, OldSequence(),
    Reversible(), collections.deque([1, 2]), 5, OnlyIter(), {1, 2},
], ids=repr)
def test_reversed_matches_the_object(obj):
    def reversed_list(x):
        return list(reversed(x))

    assert same_outcome(outcome(reversed_list, H(obj)),
                        outcome(reversed_list, obj))


def test_old_sequence_with_len_is_reversible():
    class Seq(OldSequence):
        def __len__(self):
            return 3

    assert list(reversed(H(Seq()))) == [20, 10, 0]


# ----------------------------------------------------------- length_hint

@pytest.mark.parametrize("obj", [
    [1, 2], iter([1, 2, 3]), iter(range(7)), Hinted(4), Sized(2), 5,
    (x for x in "ab"), Countdown(3), Hinted(NotImplemented), Hinted(-1),
    Hinted("x"), {"a": 1}, iter({"a": 1}),
], ids=repr)
def test_length_hint_matches_the_object(obj):
    for default in (0, 99):
        assert same_outcome(
            outcome(operator.length_hint, H(obj), default),
            outcome(operator.length_hint, obj, default)), default


def test_length_hint_follows_consumption():
    it = iter([1, 2, 3])
    h = H(it)
    next(h)
    assert operator.length_hint(h) == operator.length_hint(it) == 2


def test_unwrap_of_an_iterated_handle():
    it = iter([1])
    h = H(it)
    assert unwrap(iter(h)) is it
