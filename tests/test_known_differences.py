"""The known differences listed in docs/forwarding.md ("Known differences
from the object itself"), pinned: each test runs the operation on the
object, where it works, and through a handle, where it does not, and shows
that unwrap(h) is the workaround.  If one of these starts passing a
handle, the docs must change with it."""

import bisect
import codecs
import contextlib
import dataclasses
import datetime
import decimal
import enum
import fractions
import heapq
import json
import math
import os
import re
import sqlite3
import string
import struct
import sys

import pytest

from conftest import coarse_outcome
from threadhandle import ThreadHandle, unwrap


@dataclasses.dataclass
class Point:
    x: object
    y: int = 0


class Color(enum.Enum):
    RED = 1


def catch(cls):
    try:
        raise ValueError("x")
    except cls:
        return "caught"


def raise_(exc):
    raise exc


def execute(*args):
    """The first row of connection.execute(*args) on a new in-memory
    database, closed afterwards."""
    with contextlib.closing(sqlite3.connect(":memory:")) as connection:
        return connection.execute(*args).fetchone()


# name: (operation of wrap, the exception a handle gets).  Each operation
# is called once with wrap = (lambda x: x), once with wrap = ThreadHandle
# and once with wrap = unwrap(ThreadHandle(x)).
REFUSED = {
    "dataclasses.asdict": (
        lambda w: dataclasses.asdict(w(Point(1))), TypeError),
    "dataclasses.astuple": (
        lambda w: dataclasses.astuple(w(Point(1))), TypeError),
    "dataclasses.replace": (
        lambda w: dataclasses.replace(w(Point(1)), y=2), TypeError),
    "json.dumps(dict)": (lambda w: json.dumps(w({"a": 1})), TypeError),
    "json.dumps(list)": (lambda w: json.dumps(w([1])), TypeError),
    "json.dumps(int)": (lambda w: json.dumps(w(5)), TypeError),
    "json.dumps(str)": (lambda w: json.dumps(w("s")), TypeError),
    "json.dumps(nested)": (lambda w: json.dumps({"a": w([1])}), TypeError),
    "json.dumps(key)": (lambda w: json.dumps({w("k"): 1}), TypeError),
    "json.loads": (lambda w: json.loads(w('{"a": 1}')), TypeError),
    "str.join": (lambda w: "".join([w("a"), w("b")]), TypeError),
    "in str": (lambda w: w("a") in "abc", TypeError),
    "str.startswith": (lambda w: "abc".startswith(w("a")), TypeError),
    "str.replace": (lambda w: "abc".replace(w("a"), "b"), TypeError),
    "str.split": (lambda w: "a,b".split(w(",")), TypeError),
    "int(str, base)": (lambda w: int(w("12"), 16), TypeError),
    "ord": (lambda w: ord(w("a")), TypeError),
    "sys.intern": (lambda w: sys.intern(w("abc")), TypeError),
    "getattr name": (lambda w: getattr(Point(1), w("x")), TypeError),
    "codecs.encode": (lambda w: codecs.encode(w("ab"), "utf-8"), TypeError),
    "re.compile": (lambda w: re.compile(w("a+")), TypeError),
    "re.match string": (lambda w: re.match("a+", w("aa")), TypeError),
    "string.Template": (
        lambda w: string.Template(w("$a")).substitute(a=1), TypeError),
    "date.fromisoformat": (
        lambda w: datetime.date.fromisoformat(w("2020-01-01")), TypeError),
    "date.strftime": (
        lambda w: datetime.date(2020, 1, 1).strftime(w("%Y")), TypeError),
    "Fraction(str)": (lambda w: fractions.Fraction(w("1/3")), TypeError),
    "unbound dict.get": (lambda w: dict.get(w({"a": 1}), "a"), TypeError),
    "unbound str.upper": (lambda w: str.upper(w("a")), TypeError),
    "os.path.exists": (lambda w: os.path.exists(w("/")), TypeError),
    "os.path.isdir": (lambda w: os.path.isdir(w("/")), TypeError),
    "os.stat": (lambda w: os.stat(w("/")), TypeError),
    "os.listdir": (lambda w: os.listdir(w("/")), TypeError),
    "struct.pack('s')": (lambda w: struct.pack("2s", w(b"ab")), struct.error),
    "sqlite3 parameter": (
        lambda w: execute("select ?", (w(1),)), TypeError),
    "sqlite3 parameters": (
        lambda w: execute("select ?", w((1,))),
        sqlite3.ProgrammingError),
    "sqlite3 sql": (lambda w: execute(w("select 1")), TypeError),
    "enum by member": (lambda w: Color(w(Color.RED)), ValueError),
    "except cls": (lambda w: catch(w(ValueError)), TypeError),
    # A handle has no sq_item (so that handles of mappings do not pass
    # PySequence_Check), and these need one.
    "bisect.bisect": (lambda w: bisect.bisect(w([1, 3]), 2), TypeError),
    "bisect.insort": (lambda w: bisect.insort(w([1, 3]), 2), TypeError),
    "heapq.heappush": (lambda w: heapq.heappush(w([1, 3]), 2), TypeError),
    "format spec": (lambda w: format(12, w(">5")), TypeError),
}


def localcontext_plus(context):
    with decimal.localcontext(context):
        return +decimal.Decimal("1.23456")


# Differences of one implementation or version.  The C decimal module
# (_decimal) checks exact types; CPython built without libmpdec has only
# the pure-Python one (3.15 no longer builds its own copy of libmpdec by
# itself), which checks isinstance and so takes a handle.
try:
    import _decimal  # noqa: F401
    C_DECIMAL = True
except ImportError:
    C_DECIMAL = False
DECIMAL = {
    "Decimal(int)": (lambda w: decimal.Decimal(w(1)), TypeError),
    "Decimal(str)": (lambda w: decimal.Decimal(w("1.5")), TypeError),
    "Decimal context=": (
        lambda w: decimal.Decimal("1.25").quantize(
            decimal.Decimal("0.1"), context=w(decimal.Context(prec=3))),
        TypeError),
    "decimal.localcontext": (
        lambda w: localcontext_plus(w(decimal.Context(prec=3))), TypeError),
}
# Before 3.15 math.log converts only an exact int without going through a
# float; 3.15 converts an object with __index__ too when the float
# overflows.
MATH_LOG = {
    "math.log(huge int)": (lambda w: math.log(w(10**400)), OverflowError),
}
REFUSED.update(DECIMAL if C_DECIMAL else {})
REFUSED.update(MATH_LOG if sys.version_info < (3, 15) else {})
GONE = {**({} if C_DECIMAL else DECIMAL),
        **(MATH_LOG if sys.version_info >= (3, 15) else {})}


def unwrapped(obj):
    return unwrap(ThreadHandle(obj))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # os.stat on 3.11
@pytest.mark.parametrize("name", REFUSED)
def test_known_difference_refused_handle(name):
    operation, error = REFUSED[name]
    assert coarse_outcome(operation, lambda x: x)[0] == "value"
    assert coarse_outcome(operation, ThreadHandle) == ("raises", error)
    assert coarse_outcome(operation, unwrapped)[0] == "value"


@pytest.mark.parametrize("name", GONE)
def test_known_difference_gone_here(name):
    operation, _ = GONE[name]
    expected = coarse_outcome(operation, lambda x: x)
    assert expected[0] == "value"
    assert coarse_outcome(operation, ThreadHandle) == expected


def test_known_difference_raise_a_handle_of_an_exception():
    with pytest.raises(TypeError, match="BaseException"):
        raise_(ThreadHandle(ValueError("x")))
    with pytest.raises(ValueError):
        raise_(unwrapped(ValueError("x")))


def test_known_difference_is_dataclass_is_false():
    assert dataclasses.is_dataclass(Point(1))
    assert not dataclasses.is_dataclass(ThreadHandle(Point(1)))
    assert dataclasses.is_dataclass(unwrapped(Point(1)))


def test_known_difference_asdict_leaves_handles_in_fields():
    # A handle of a dataclass in a field is not converted to a dict (it is
    # deep-copied: a copy of the dataclass instance).
    inner = ThreadHandle(Point(1))
    result = dataclasses.asdict(Point(inner))
    assert type(result["x"]) is Point and result["x"] == unwrap(inner)
    assert dataclasses.asdict(Point(unwrap(inner))) == {
        "x": {"x": 1, "y": 0}, "y": 0}


def test_known_difference_asdict_of_handles_of_containers_before_3_13():
    # Before 3.13 asdict() rebuilds a container field with type(value)(...),
    # which for a handle is a handle of a generator (seen on 3.11.7 and
    # 3.12.1); 3.13.0 and later get it right.
    result = dataclasses.asdict(Point(ThreadHandle([1])))
    if sys.version_info < (3, 13):
        assert type(result["x"]) is ThreadHandle
        assert type(unwrap(result["x"])).__name__ == "generator"
    else:
        assert result == {"x": [1], "y": 0}


def test_known_difference_json_default_unwrap_is_the_workaround():
    data = {"a": ThreadHandle([1, ThreadHandle({"b": 2})])}
    assert json.dumps(data, default=unwrap) == '{"a": [1, {"b": 2}]}'


def test_known_difference_open_and_os_path_join_accept_a_handle(tmp_path):
    # Unlike os.stat(h) above: open() and os.path.join() take the handle.
    path = tmp_path / "file"
    path.write_text("text")
    with open(ThreadHandle(str(path))) as file:
        assert file.read() == "text"
    assert os.path.join(ThreadHandle("/a"), "b") == "/a/b"


class Base:
    def __eq__(self, other):
        return "Base.__eq__"

    def __add__(self, other):
        return "Base.__add__"

    def __lt__(self, other):
        return "Base.__lt__"

    __hash__ = object.__hash__


class Derived(Base):
    def __eq__(self, other):
        return "Derived.__eq__"

    def __radd__(self, other):
        return "Derived.__radd__"

    def __gt__(self, other):
        return "Derived.__gt__"

    __hash__ = object.__hash__


@pytest.mark.parametrize("operation, derived_answers", [
    (lambda a, b: a == b, "Derived.__eq__"),
    (lambda a, b: a + b, "Derived.__radd__"),
    (lambda a, b: a < b, "Derived.__gt__"),
], ids=["==", "+", "<"])
def test_known_difference_a_subclass_on_the_right_loses_its_priority(
        operation, derived_answers):
    """CPython tries the right operand's reflected method first when its
    type is a subclass of the left's that overrides it; it decides on
    type(right), which for a handle is ThreadHandle, before any slot of the
    handle runs."""
    base, derived = Base(), Derived()
    assert operation(base, derived) == derived_answers
    assert operation(base, ThreadHandle(derived)).startswith("Base.")
    assert operation(base, unwrapped(derived)) == derived_answers
    # With the handle on the left the handle's slot runs first: right.
    assert operation(ThreadHandle(base), derived) == derived_answers
