"""The workloads (rows of the table): one operation on shared objects each.

A workload's factory makes the objects its statement uses, as a dict of
name to object.  The benchmark calls it once per case in the main thread
(the shared objects), and once more in each thread for the "own copy"
column: a factory makes new objects every time wherever it can.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass


class Record:
    """A plain Python class: instance attribute x is the small int 1."""

    def __init__(self) -> None:
        self.x = 1


class Model:
    """A user class, as a model object would be: an instance attribute
    (a float) and a method written in Python.

    No float constants: a constant is one object in the code, shared by
    every instance and every thread, and not immortal when the module comes
    from a .pyc, so its reference count would contend even between the
    threads' own copies.  Each instance has a float of its own, so reading
    m.w from a shared m contends on that float (any reader must take a
    reference to it), while own copies share nothing."""

    def __init__(self) -> None:
        self.w = float("2.0")

    def predict(self, x: float) -> float:
        return x + x


@dataclass
class Params:
    """A dataclass of settings, as scientific code shares one: its field x
    is a float of the instance's own (made at run time, not a constant)."""
    x: float


class Service:
    """A shared service object, as a router or a cache would be: its
    table, a dict, is an attribute."""

    def __init__(self, table: dict) -> None:
        self.table = table


def lookup(d: dict) -> int:
    """d[5] in a function that gets d as its argument.  Module-level, so
    CPython defers the function itself (a nested one would contend)."""
    return d[5]


def closure_over(d: dict) -> Callable[[], int]:
    """A function that reads d[5] from its closure cell."""
    def lookup_in_cell() -> int:
        return d[5]
    return lookup_in_cell


# The 3.15 rows reach d[5] other than as a module global.  What each thread
# runs first: an argument's function, a closure of its own over the
# column's d (a cell per thread, the dict shared).
ARGUMENT_SETUP = "from scaling.workloads import lookup"
CLOSURE_SETUP = """from scaling.workloads import closure_over
lookup_in_cell = closure_over(d)"""


def make_service() -> dict:
    # The table is shared too, so that the deferred column defers both:
    # deferring the service alone leaves `service.table` counted.
    service = Service(make_dict_of_ints())
    return {"service": service, "table": service.table}


# The attribute row's handle: what a thread does with a handle there, a
# handle of the dict it reads (a handle of the service would hand out the
# shared dict at every service.table).  A service of the thread's own
# holds it, so that the statement is the same in every column.
SERVICE_HANDLE = """\
from scaling.workloads import Service
service = Service(make(shared["service"].table))"""


def make_weights() -> dict:
    """An 8x8 float matrix, as a model's weights would be."""
    import numpy as np
    return {"w": np.ones((8, 8))}


def make_vector() -> dict:
    """A float array of 100 elements."""
    import numpy as np
    return {"a": np.ones(100)}


# What the numpy rows' threads make for themselves: x, the operand.
NUMPY_SETUP = """\
import numpy as np
x = np.ones(8)"""


def make_dict_of_ints() -> dict:
    return {i: i for i in range(100)}


def make_settings() -> dict:
    """The settings dict of the request and lookup workloads."""
    return {
        "timeout": 30,
        "retries": 3,
        "debug": False,
        "base_url": "https://example.invalid",
        "max_body": 1 << 20,
    }


def make_request_objects() -> dict:
    # re.compile() returns the pattern it cached for the same source: purge
    # the cache so that every call makes a pattern object of its own.
    re.purge()
    return {"settings": make_settings(),
            "pattern": re.compile(r"/api/(\w+)/(\d+)")}


# One request: route the path, then read two settings.  The match object
# keeps a reference to the pattern, as real code would get.
REQUEST_STATEMENT = """\
pattern.match("/api/users/42")
settings["timeout"]
settings.get("retries", 5)"""


def make_lookup_objects() -> dict:
    methods = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE"})
    routes = {"users": "list_users", "orders": "list_orders",
              "health": "health_check"}
    return {"settings": make_settings(), "methods": methods, "routes": routes}


# The same request's bookkeeping without the regular expression: only reads
# of shared containers, which a proxy can take entirely off their refcounts.
LOOKUP_STATEMENT = """\
settings["timeout"]
settings.get("retries", 5)
"GET" in methods
routes.get("users")"""


@dataclass(frozen=True)
class Workload:
    """One row: a statement the loop repeats on the objects of a factory."""
    key: str
    label: str
    # One line for --help: what the objects are.
    description: str
    statement: str
    make_objects: Callable[[], dict]
    # Code each thread runs before the barrier, to make its own operands.
    thread_setup: str = ""
    # Proxy keys this workload runs with; None: all of them.
    proxies: tuple | None = None
    needs_local_handle: bool = False
    # The user called threadhandle.enable_deferred_refcount() on the shared
    # objects before the threads start, in every column (not on the own
    # copies, which nothing shares): what a handle costs then.
    defer_shared: bool = False
    # A workload whose statement is itself a way of reaching the object
    # (local_handle): its ratios compare each of its cells with this
    # workload's cell in the same column instead of with ThreadHandle's.
    compare_with: str = ""
    # A module the objects need (numpy): without it the row is left out,
    # with a note.
    requires: str = ""
    # What a thread of a wrapper column (ThreadHandle and its peers) runs
    # instead of wrapping every object, with `shared` and `make`: where the
    # wrapper goes when it is not the object the statement names.
    wrap_bindings: str = ""


# The columns of the rows that reach d other than as a module global.
REACH_PROXIES = ("global", "deferred", "own", "local", "threadhandle")


def all_workloads(local_handle: Callable | None) -> list[Workload]:
    """Every workload, in table order; `local_handle` is threadhandle's
    function of that name, or None (the local_handle row then fails)."""
    def with_local_handle() -> dict:
        return {"d": make_dict_of_ints(), "local_handle": local_handle}

    return [
        Workload("getitem", "d[5]", "d[5], d a dict of 100 ints",
                 "d[5]", lambda: {"d": make_dict_of_ints()}),
        Workload("get", "d.get(5)",
                 "d.get(5): dict.get, a method written in C",
                 "d.get(5)", lambda: {"d": make_dict_of_ints()}),
        Workload("attr", "o.x", "o.x: an int attribute of a plain instance",
                 "o.x", lambda: {"o": Record()}),
        Workload("model_attr", "m.w",
                 "m.w: a float attribute of a Model instance",
                 "m.w", lambda: {"m": Model()}),
        # The float operands are made in each thread: a float constant
        # belongs to the code object, which all threads share, and is not
        # immortal, so its reference count would contend whatever the proxy.
        # float() makes an ordinary heap float, not a code constant.
        Workload("method", "m.predict(1.0)",
                 "m.predict(1.0): a method written in Python",
                 "m.predict(x)", lambda: {"m": Model()},
                 thread_setup='x = float("1.0")'),
        # The same, after the user's enable_deferred_refcount(m): a Python
        # method's frame holds `self`, a reference no proxy avoids; a handle
        # leaves turning it on to the user (it changes when m dies).
        Workload("method_deferred", "m.predict(1.0), m deferred",
                 "m.predict(1.0) after enable_deferred_refcount(m)",
                 "m.predict(x)", lambda: {"m": Model()},
                 thread_setup='x = float("1.0")', defer_shared=True,
                 proxies=("global", "own", "local", "threadhandle",
                          "cereggii", "ft_utils", "floor")),
        Workload("call", "f(4.0) math.sqrt",
                 "f(4.0), f = math.sqrt: a call of a C function",
                 "f(arg)", lambda: {"f": math.sqrt},
                 thread_setup='arg = float("4.0")'),
        Workload("number", "f * 2.0", "f * 2.0, f a float: a number operator",
                 "f * factor", lambda: {"f": float("1.5")},
                 thread_setup='factor = float("2.0")'),
        Workload("contains", "5 in d", "5 in d, d a dict of 100 ints",
                 "5 in d", lambda: {"d": make_dict_of_ints()}),
        Workload("setitem", "l[5] = 1", "l[5] = 1, l a list of 10 ints",
                 "l[5] = 1", lambda: {"l": [0] * 10}),
        Workload("len", "len(d)", "len(d), d a dict of 100 ints", "len(d)",
                 lambda: {"d": make_dict_of_ints()}),
        Workload("request", "request: re + dict",
                 "a router's request: a regex match, two settings reads",
                 REQUEST_STATEMENT, make_request_objects),
        Workload("lookup", "lookup: dict + set",
                 "the request's dict and frozenset reads, without the regex",
                 LOOKUP_STATEMENT, make_lookup_objects),
        Workload("dataclass_attr", "p.x",
                 "p.x: a float field of a dataclass instance",
                 "p.x", lambda: {"p": Params(float("0.5"))}),
        Workload("np_dot", "np.dot(w, x)",
                 "np.dot(w, x), w a shared 8x8 float array (numpy)",
                 "np.dot(w, x)", make_weights, thread_setup=NUMPY_SETUP,
                 requires="numpy"),
        Workload("np_matmul", "w @ x",
                 "w @ x, the same with the operator (numpy)",
                 "w @ x", make_weights, thread_setup=NUMPY_SETUP,
                 requires="numpy"),
        Workload("np_sum", "a.sum()",
                 "a.sum(), a a float array of 100 elements (numpy)",
                 "a.sum()", make_vector, requires="numpy"),
        Workload("np_memoryview", "memoryview(a)",
                 "memoryview(a): what a Cython typed memoryview argument "
                 "does (numpy)",
                 "memoryview(a)", make_vector, requires="numpy"),
        # What 3.15 fixes and what it does not: it defers an object read
        # from a module global (the d[5] row's plain global), not one
        # reached otherwise.  The same dict and item as d[5].
        Workload("argument", "lookup(d): d[5] of an argument",
                 "lookup(d): d[5] in a function that gets d as argument",
                 "lookup(d)", lambda: {"d": make_dict_of_ints()},
                 thread_setup=ARGUMENT_SETUP, proxies=REACH_PROXIES),
        Workload("closure", "d[5] of a closure cell",
                 "lookup_in_cell(): d[5] with d in a closure cell",
                 "lookup_in_cell()", lambda: {"d": make_dict_of_ints()},
                 thread_setup=CLOSURE_SETUP, proxies=REACH_PROXIES),
        Workload("service_attr", "service.table[5]",
                 "service.table[5]: d[5], d an attribute of a shared object",
                 "service.table[5]", make_service,
                 proxies=REACH_PROXIES, wrap_bindings=SERVICE_HANDLE),
        Workload("local_handle", "local_handle(d)[5]",
                 "local_handle(d)[5]: the handle asked for at every use",
                 "local_handle(d)[5]", with_local_handle,
                 proxies=("global", "deferred", "own", "local"),
                 needs_local_handle=True, compare_with="getitem"),
    ]


def missing_requirement(workload: Workload) -> str:
    """Why the workload cannot run here ('numpy is not installed'), or ''."""
    if not workload.requires:
        return ""
    import importlib
    try:
        importlib.import_module(workload.requires)
    except ImportError:
        return f"{workload.requires} is not installed"
    return ""


EMPTY_LOOP = Workload("empty", "empty loop", "the loop with nothing in it",
                      "pass", dict, proxies=("local",))
