"""The remedies table: what to do about a contended object, decided from
what the object is (its Facts), how the program reaches it (the place's
kind and text), why it contends (its count, or its lock with threads
waiting) and the interpreter.  `ROWS` is the table: the first row whose
condition holds gives the remedy; each row says why in `reason` (with the
measurement behind it where there is one: issue 22, docs/benchmark.md).
docs/guide.md shows `table_text()`, checked by tests/test_remedies.py.

Entries that are parts of one cause (an instance and the float values
read from it, a dict and the keys it is looked up with) get one remedy
naming every object it needs: `group_joint_causes`."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from collections.abc import Callable

from threadhandle._threadhandle import _CAN_IMMORTALIZE

# The remedy names tools read (Entry.remedy_name): one per kind of fix.
HANDLE = "handle"
DEFER = "enable_deferred_refcount"
IMMORTALIZE = "immortalize"
INTERN = "intern"
INTERN_KEYS = "intern_keys"
BIND = "bind_per_thread"
VIEW = "view_per_thread"
READ_ONCE = "read_once_per_thread"
IMMORTALIZE_VALUES = "immortalize_values"   # only in joint remedies
DEFER_VALUES = "enable_deferred_refcount_values"  # only in joint remedies
FROZEN = "frozenset_per_thread_copy"
FEWER = "none_fewer_instances"
LOCK_SPLIT = "lock_split"

# What each name asks of the user (the report's text says it in full, for
# the object at hand).
MEANINGS = {
    HANDLE: "a ThreadHandle per thread (local_handle(obj) where it is used)",
    DEFER: "threadhandle.enable_deferred_refcount(obj) once (3.14t+), if it "
           "lives long",
    IMMORTALIZE: "threadhandle.immortalize(obj) once, if it lives as long "
                 "as the program",
    IMMORTALIZE_VALUES: "immortalize the values read from the container "
                        "(with the container's remedy: one cause)",
    INTERN: "sys.intern(s) where the str is made, if it lives long",
    INTERN_KEYS: "sys.intern(key) where the keys are made (with deferral of "
                 "the dict on 3.14t)",
    BIND: "look the library's object up once per thread (struct.Struct(fmt),"
          " re.compile(...)), outside the loop",
    VIEW: "take the memoryview once per thread",
    READ_ONCE: "read the value once per thread into a local",
    FROZEN: "a frozenset if the threads never change it, else a copy per "
            "thread (3.13 and 3.14 lock a set on each read)",
    FEWER: "no tool helps: make fewer instances, or reuse them",
    LOCK_SPLIT: "no tool helps: each thread its own object, merged at the "
                "end, or fewer writes",
}


@dataclass(frozen=True)
class Situation:
    """The table's input.  facts: Facts.to_dict() of the object (see
    _report.Facts); kind: how its place reached it (global, attr, item,
    key, cell, argument, local, member, cache, unknown); where: the
    place's text;
    cause: "lock" (threads waited for its lock) or "refcount"; python:
    (major, minor) of the free-threaded interpreter; can_immortalize:
    this build's immortalize can (not 3.13t or 3.14t built without
    CPython's internals); uses: the names its lines in the threads' code
    use (_lines: "memoryview" for memoryview(a); 3.14t and later)."""
    facts: dict
    kind: str
    where: str
    cause: str
    python: tuple
    can_immortalize: bool = True
    uses: frozenset = frozenset()

    def fact(self, name: str):
        return self.facts.get(name)

    @property
    def shape(self) -> str:
        return self.facts.get("shape", "")

    @property
    def from_module(self) -> bool:
        """Reached from a module (a global, or inside one): such an
        object likely lives as long as the program (_graph's place texts:
        "module.name...", where the others start otherwise)."""
        return root_of(self.where) == "module"

    @property
    def deferring(self) -> bool:
        """The interpreter has enable_deferred_refcount (3.14+)."""
        return self.python >= (3, 14)

    @property
    def defers_globals(self) -> bool:
        """CPython defers module globals other threads read (3.15+)."""
        return self.python >= (3, 15)


def root_of(where: str) -> str:
    """What a place's text starts from (its formats are _graph's):
    "argument", "cell", "local" (a frame's), "cache", "unknown" or
    "module"."""
    if where.startswith("argument "):
        return "argument"
    if where.startswith("closure cell "):
        return "cell"
    if where.startswith("in the cache of "):
        return "cache"
    if where.startswith("not reached by name") or not where:
        return "unknown"
    if " (thread " in where or "() " in where.split(".", 1)[0]:
        return "local"
    return "module"


@dataclass(frozen=True)
class Row:
    name: str                          # the remedy's name (HANDLE, ...)
    when: Callable[[Situation], bool]  # the condition on the situation
    text: Callable[[Situation], str]   # the advice, for this situation
    reason: str                        # why this row, and what measured it
    label: str                         # the condition, in words (the doc)


_IMMORTAL_IF_LONG = ("if it lives as long as the program, "
                     "threadhandle.immortalize(obj) once, in the thread that "
                     "made it, before other threads reach it (it is then "
                     "never freed)")


def _runtime_keys_text(s: Situation) -> str:
    if s.fact("deferred"):
        together = "(the dict is deferred already)"
    elif s.deferring:
        together = ("together with threadhandle.enable_deferred_refcount(d) "
                    "once if it lives long (both are needed: measured 1.94x, "
                    "deferral alone 0.95x)")
    else:
        together = "and a ThreadHandle of the dict per thread (3.13)"
    text = ("looked up with str keys made at run time: a lookup whose key "
            "is not the stored key object takes a reference to the stored "
            "key and may fall back to the dict's lock; intern the keys "
            "where they are made (key = sys.intern(key)) " + together)
    if s.cause == "lock":
        # The sampler cannot tell these lookups from writes.
        text += ("; if the threads write it (d[k] = v, d[k] += 1) rather "
                 "than read it, no tool helps: give each thread its own "
                 "dict and merge the results")
    return text


def _c_type_text(s: Situation) -> str:
    return (f"the type object of a C type ({s.fact('c_module')}."
            f"{s.fact('c_name')}), counted by each instance made: no tool "
            "helps; make fewer instances (reuse them, or keep one per "
            "thread)")


def _class_text(s: Situation) -> str:
    return ("a class (made by a class statement; deferred already on "
            "3.14+), counted by the C code that takes references to it "
            "(instances it makes, isinstance checks, type(obj)): no tool "
            "helps; make fewer of those calls in the threads' loops")


def _deferred_text(s: Situation) -> str:
    by = "deferred already"
    if s.defers_globals and s.kind == "global":
        by += (" (CPython 3.15 defers a module global other threads read: "
               "the interpreter did it)")
    return (by + ", so what still counts it is C code taking its own "
            "references (a bound method stored or passed to C, map(obj.get, "
            "...), a buffer): a ThreadHandle per thread (local_handle(obj) "
            "where it is used) makes those per thread")


def _library_text(s: Situation) -> str:
    if "_struct" in s.where or "struct." in s.where:
        how = ("s = struct.Struct(fmt) once in each thread, then "
               "s.unpack(b) in its loop")
    elif s.where.startswith("re."):
        how = ("p = re.compile(...) once, then p.match(...) in the loops "
               "(see the pattern's own entry)")
    elif "lru_cache" in s.where:
        how = ("keep the cached result in a local of each thread, or give "
               "each thread its own cache")
    else:
        how = "bind what the loop looks up once per thread, outside it"
    return ("an entry of a library's cache, found again by each call: the "
            "library's own object, so never defer or immortalize it; look "
            "it up once per thread instead: " + how)


def _pattern_text(s: Situation) -> str:
    return ("a compiled pattern: every Match holds it (C code takes the "
            "reference), so neither deferral (measured 0.95x) nor a handle "
            "helps, and re.compile returns the same cached object to every "
            "thread; " + _IMMORTAL_IF_LONG + " (as for arrays handed to C)")


def _ndarray_text(s: Situation) -> str:
    return ("an array handed to numpy's C code, which takes its own "
            "references (np.dot, a.sum(), np.asarray): a handle cannot "
            "avoid them (measured 0.98-1.79x) and deferral refuses arrays; "
            + _IMMORTAL_IF_LONG + " (measured 1.96-1.97x, own copy 1.95x); "
            "else a copy per thread (a.copy()). If the threads take "
            "memoryview(a) of it, no tool helps: take the view once per "
            "thread")


def _memoryview_text(s: Situation) -> str:
    return ("a memoryview shared by the threads: each use counts it and "
            "the buffer it exports (numpy keeps its export state in the "
            "array); no tool helps: take the view once per thread "
            "(v = memoryview(a) at the top of the thread's function)")


def _viewed_text(s: Situation) -> str:
    return (f"a {s.fact('type_name')} the threads' lines take a memoryview "
            "of (memoryview(a) at each use): each view writes its buffer "
            "export state (numpy keeps it in the array, a bytearray counts "
            "its exports), which no tool helps; take the view once per "
            "thread (v = memoryview(a) at the top of the thread's "
            "function)")


def _takes_views(s: Situation) -> bool:
    """An array or bytearray whose lines call memoryview: exporting the
    buffer writes the object (numpy's export state, a bytearray's export
    count), so the view is what costs (only where the finder reads lines).
    A bytes object exports without a write: immortal bytes suffice."""
    return s.shape in ("ndarray", "bytearray") and "memoryview" in s.uses


def _bytes_text(s: Situation) -> str:
    return ("bytes handed to C code that takes its own references "
            "(memoryview(b), struct.unpack, b.decode): a handle cannot avoid "
            "them (measured 0.98-1.79x) and deferral refuses bytes; "
            + _IMMORTAL_IF_LONG + " (measured 1.96-1.97x); else a copy per "
            "thread (bytes(bytearray(b)))")


def _str_text(s: Situation) -> str:
    if s.kind == "key":
        return ("a dict key made at run time, counted by each lookup with "
                "an equal key: intern the keys where they are made "
                "(key = sys.intern(key))")
    intern = ("sys.intern(s) once, where it is made, if it lives long "
              "(interned strings are immortal on free-threaded builds; "
              "immortalize refuses str)")
    if s.from_module:
        return intern + "; else a ThreadHandle per thread"
    return "a ThreadHandle per thread (local_handle(s) where it is used); " \
        + intern


def _value_text(s: Situation) -> str:
    return ("a value read from a shared object (each read takes a "
            "reference to the value, not only to the object): "
            + _IMMORTAL_IF_LONG + "; else read it once per thread into a "
            "local, or keep per-thread copies")


def _read_once_text(s: Situation) -> str:
    return ("a value read from an object the threads share: read it once "
            "per thread into a local, or keep per-thread copies; "
            + _IMMORTAL_IF_LONG)


def _untracked_text(s: Situation) -> str:
    # 3.13 leaves dicts of atoms untracked too; it has no deferral at all.
    why = "deferral refuses it" if s.deferring else "3.13"
    return (f"not tracked by the GC ({why}): a ThreadHandle "
            "per thread (local_handle(obj) where it is used; measured 1.96x "
            "for a float global, like the own copy); or " + _IMMORTAL_IF_LONG)


def _defer_text(s: Situation) -> str:
    text = ("if it lives long, threadhandle.enable_deferred_refcount(obj) "
            "once (it is then freed by the GC, not at its last reference); "
            "else a ThreadHandle per thread")
    if s.defers_globals and s.kind == "global":
        # Read while it contended: CPython had not deferred it (its loads
        # did not specialize, or C code reads it).
        text += " (CPython 3.15 had not deferred this module global)"
    return text


def _immortal_313_text(s: Situation) -> str:
    return ("3.13 has no deferred reference counting: " + _IMMORTAL_IF_LONG
            + "; nothing counts it then, C code included (bisect refuses a "
            "handle); else a ThreadHandle per thread (local_handle(obj) "
            "where it is used)")


def _set_text(s: Situation) -> str:
    return ("a set: on 3.13 and 3.14 every read (x in s, iteration) takes "
            "the set's lock, whatever its count does, so neither deferral "
            "nor a handle helps; if the threads never change it, make it a "
            "frozenset (read without a lock; then, if it lives long, "
            "enable_deferred_refcount or immortalize it as any other "
            "long-lived object), else give each thread its own copy "
            "(CPython 3.15 reads sets without the lock)")


def _handle_text(s: Situation) -> str:
    return ("a ThreadHandle per thread (local_handle(obj) where it is "
            "used); 3.13 has no deferred reference counting")


def _lock_text(s: Situation) -> str:
    text = ("threads waited for its lock (they write it at once): no "
            "handle or other tool helps; give each thread its own object "
            "and merge the results, or write less often")
    if s.python < (3, 14):
        # 3.13 locks some reads too: dict.get, x in a set or frozenset.
        text += ("; on 3.13 some reads lock it too (d.get(k), x in s for a "
                 "set or frozenset): if the threads only read it, give each "
                 "thread its own copy, or read it with d[k]")
    return text


def _is_value(s: Situation) -> bool:
    return s.kind in ("attr", "item") and not s.fact("gc_tracked")


ROWS = (
    Row(INTERN_KEYS,
        lambda s: s.shape == "dict" and s.fact("runtime_keys"),
        _runtime_keys_text,
        "lookups with equal but not identical str keys incref the stored "
        "key and fall back to the dict's lock: read as a lock by the "
        "sampler, yet no writer; interning plus deferral measured 1.94x, "
        "deferral alone 0.95x",
        "a dict with str keys made at run time (not interned)"),
    # Before the lock's row: these objects' locks are taken by reads or
    # buffer exports, which the change they advise removes.
    Row(VIEW, _takes_views, _viewed_text,
        "memoryview(a) of a numpy array at each use (the suite's e05, "
        "3.14.7t, three runs): immortal 0.47-0.68 of the own copy's "
        "scaling, the view taken once per thread 0.80-1.70; of a "
        "bytearray (3.14.7t, median of 5): shared 0.96x, own copy 1.79x, "
        "view once 2.03x; the sampler may see the array's lock taken by "
        "the exports",
        "an array or bytearray its lines take memoryviews of"),
    Row(FROZEN, lambda s: s.shape == "set" and s.python < (3, 15),
        _set_text,
        "the suite's c06 on 3.14.7t, two runs: the frozenset (deferred) "
        "0.80-0.99 of the own copy's scaling, the set deferred, immortal "
        "or behind a handle 0.35-0.67; the sampler sees its lock; 3.15 "
        "reads sets without the lock (gh-132657)",
        "a set, on 3.13t and 3.14t"),
    Row(LOCK_SPLIT, lambda s: s.cause == "lock", _lock_text,
        "threads wait for each other at its lock whatever its count does; "
        "a lock held by one writer with no waiter is not contention and "
        "is not reported; 3.13 locks dict.get (lock-free from 3.14, "
        "gh-129336) and set and frozenset reads (the suite's c01, c05, c06 "
        "there)",
        "its lock held with threads waiting"),
    Row(FEWER, lambda s: bool(s.fact("is_c_type")), _c_type_text,
        "re.Match, decimal.Decimal, collections.deque type objects: each "
        "instance made counts its type; a handle cannot help",
        "the type object of a C type"),
    Row(FEWER, lambda s: bool(s.fact("is_class")), _class_text,
        "classes are deferred by CPython (3.14+); what still counts one is "
        "C code making or holding instances",
        "the type object of a class statement"),
    Row(VIEW, lambda s: s.shape == "memoryview", _memoryview_text,
        "memoryview(ndarray): handle and immortal both 0.75-0.90x; the "
        "export state is in the array",
        "a memoryview"),
    Row(IMMORTALIZE, lambda s: s.shape == "pattern", _pattern_text,
        "every Match holds its pattern: deferral measured 0.95x; "
        "re.compile hands every thread the cached object, so no per-thread "
        "copy; immortal, as arrays handed to C (not measured for patterns)",
        "a compiled regular expression (re.Pattern)"),
    Row(BIND, lambda s: bool(s.fact("library_cache")), _library_text,
        "re._cache, struct's cache, functools caches: never change a "
        "library's internal object",
        "an entry of a library's cache"),
    Row(IMMORTALIZE, lambda s: s.shape == "ndarray", _ndarray_text,
        "np.dot, a.sum(), np.asarray: immortal 1.96-1.97x, own copy 1.95x, "
        "handle 0.98-1.79x",
        "a numpy array"),
    Row(IMMORTALIZE, lambda s: s.shape == "bytes", _bytes_text,
        "memoryview(bytes): immortal 1.96-1.97x, handle 0.98-1.79x",
        "bytes"),
    Row(INTERN_KEYS, lambda s: s.shape == "str" and s.kind == "key",
        _str_text,
        "the lookup's key is not the stored one: the stored key is counted",
        "a str dict key"),
    Row(INTERN, lambda s: s.shape == "str" and s.from_module, _str_text,
        "immortalize refuses str; sys.intern makes it immortal on "
        "free-threaded builds",
        "a str reached from a module"),
    Row(HANDLE, lambda s: s.shape == "str", _str_text,
        "a str that may not live long: interning would keep it forever",
        "a str reached otherwise"),
    Row(HANDLE, lambda s: bool(s.fact("deferred")), _deferred_text,
        "deferral is on (by the user, or by 3.15 for module globals), so "
        "only C code's references move its count: never advise deferral "
        "again",
        "deferred already (by the program or by the interpreter)"),
    Row(IMMORTALIZE, lambda s: _is_value(s) and s.from_module, _value_text,
        "p.x, m.w, d['k']: a read counts the value; immortal values with the "
        "container deferred 1.70-1.87x (own 1.90x), alone 0.89-1.06x "
        "(the report groups them with their container)",
        "a value the GC does not track, read from a shared object"),
    Row(READ_ONCE, _is_value, _read_once_text,
        "the value of an argument's or a local's object: it may not live "
        "long, so reading it once per thread comes first",
        "such a value of an object not reached from a module"),
    Row(HANDLE, lambda s: not s.fact("gc_tracked"), _untracked_text,
        "deferral refuses objects the GC does not track; f * 2.0: the "
        "handle 1.96x, like the own copy",
        "not tracked by the GC"),
    Row(DEFER, lambda s: s.deferring, _defer_text,
        "d[5] 1.88x, o.x 1.94x against own 1.91-1.99x; cheaper per use "
        "than a handle",
        "tracked by the GC, on 3.14t and later"),
    Row(IMMORTALIZE, lambda s: s.from_module and s.can_immortalize,
        _immortal_313_text,
        "3.13t has no deferred reference counting; with the handle here "
        "the suite's first remedies recovered >= 90% of the own copies' "
        "scaling in 11 of 32 programs, with immortalize 18 of 31 (runs "
        "of 2026-12-07; the values read through a handle still count)",
        "tracked by the GC, reached from a module, on 3.13t"),
    Row(HANDLE, lambda s: True, _handle_text,
        "3.13t has no deferred reference counting",
        "tracked by the GC, reached otherwise (or immortalize cannot), "
        "on 3.13t"),
)


@dataclass(frozen=True)
class Remedy:
    name: str
    text: str
    row: int            # the index in ROWS


def choose(facts: dict, kind: str, where: str, cause: str,
           python: tuple | None = None,
           can_immortalize: bool | None = None,
           uses: frozenset = frozenset()) -> Remedy:
    """The first row of ROWS whose condition holds (python and
    can_immortalize default to this interpreter's and build's)."""
    situation = Situation(
        facts, kind, where, cause, python or tuple(sys.version_info[:2]),
        _CAN_IMMORTALIZE if can_immortalize is None else can_immortalize,
        uses)
    for index, row in enumerate(ROWS):
        if row.when(situation):
            return Remedy(row.name, row.text(situation), index)
    raise AssertionError("the last row always holds")  # pragma: no cover


def table_text() -> str:
    """ROWS as a Markdown table (docs/guide.md holds a copy, checked)."""
    lines = ["| # | the object | remedy | why |", "|---|---|---|---|"]
    for index, row in enumerate(ROWS, 1):
        lines.append(f"| {index} | {row.label} | `{row.name}` | "
                     f"{row.reason} |")
    lines += ["", "| remedy | what to do |", "|---|---|"]
    lines += [f"| `{name}` | {meaning} |" for name, meaning in
              MEANINGS.items()]
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Joint causes
# --------------------------------------------------------------------------

def group_joint_causes(entries: list, python: tuple | None = None) -> None:
    """Give the entries that are parts of one cause one remedy naming all
    of them: a container (an instance, a dict, a list) with the entries
    found in it whose remedy is immortalize or interning (its float
    values, its run-time keys), or deferral when the container's is too
    (a dict read as an attribute of a shared instance).  Either alone was
    measured to do little (deferral alone 0.95-1.32x, immortal values alone
    0.89-1.06x, both 1.70-1.87x; interned keys with deferral 1.94x,
    deferral alone 0.95x; the instance or its dict deferred alone 0.26-0.85
    of the own copies' scaling, both 0.84-1.03).
    Changes the entries in place: remedy, remedy_name and group (the
    container's where)."""
    python = python or tuple(sys.version_info[:2])
    by_id = {entry.id: entry for entry in entries if entry.id}
    members: dict = {}
    for entry in entries:
        container = by_id.get(entry.container_id)
        if (container is None or container is entry
                or entry.kind not in ("attr", "item", "key")
                or entry.remedy_name not in (IMMORTALIZE, READ_ONCE,
                                             INTERN_KEYS, INTERN, DEFER)
                or container.remedy_name in (LOCK_SPLIT, FEWER, BIND)
                or (entry.remedy_name == DEFER
                    and container.remedy_name != DEFER)):
            continue
        members.setdefault(container.id, []).append(entry)
    for key, parts in members.items():
        container = by_id[key]
        values = [part for part in parts if part.kind != "key"]
        keys = [part for part in parts if part.kind == "key"]
        steps, names = [], []
        deferred = container.facts.get("deferred")
        if container.remedy_name == DEFER or (
                container.remedy_name == INTERN_KEYS and not deferred
                and python >= (3, 14)):
            steps.append(f"enable_deferred_refcount({container.where})")
            names.append(DEFER)
        elif container.remedy_name in (HANDLE, INTERN_KEYS) and not (
                deferred and container.remedy_name == INTERN_KEYS):
            steps.append(f"a ThreadHandle of {container.where} per thread")
            names.append(HANDLE)
        elif container.remedy_name not in (INTERN_KEYS, HANDLE):
            steps.append(f"{container.remedy_name}({container.where})")
            names.append(container.remedy_name)
        deferrable = [part for part in values if part.remedy_name == DEFER]
        if deferrable:
            steps.append("enable_deferred_refcount(" + ", ".join(
                part.where for part in deferrable) + ")")
            names.append(DEFER_VALUES)
        values = [part for part in values if part not in deferrable]
        # immortalize refuses str: sys.intern makes those immortal.
        strings = [part for part in values if part.facts.get("shape") == "str"]
        others = [part for part in values if part not in strings]
        if others:
            steps.append("immortalize(" + ", ".join(
                part.where for part in others) + ")")
            names.append(IMMORTALIZE_VALUES)
        if strings:
            steps.append("sys.intern the strings (" + ", ".join(
                part.where for part in strings) + ") where they are made")
            names.append(INTERN)
        if keys or container.remedy_name == INTERN_KEYS:
            steps.append(f"sys.intern the keys of {container.where} where "
                         "they are made")
            names.append(INTERN_KEYS)
        name = "+".join(names)
        if others:
            measured = ("measured on 3.14t for an instance and its float "
                        "values: either alone 0.89-1.32x, both 1.70-1.87x, "
                        "own copies 1.90x")
        elif keys or container.remedy_name == INTERN_KEYS:
            measured = ("measured on 3.14t: interned keys with the dict "
                        "deferred 1.94x, deferral alone 0.95x")
        elif deferrable:
            measured = ("measured on 3.14t for an instance and the dict it "
                        "holds as an attribute: either deferred alone "
                        "0.26-0.85 of the own copies' scaling, both "
                        "0.84-1.03")
        else:
            measured = "by analogy with the values of an instance"
        text = (" and ".join(steps) + ": one cause, every part needed ("
                + measured + "); if they do not live as long as the "
                "program, per-thread copies")
        for entry in [container] + parts:
            entry.remedy = text
            entry.remedy_name = name
            entry.group = container.where
