"""The remedies table (threadhandle/contention/_remedies.py) row by row,
without sampling: for each row the facts of an object and its place, and
the remedy name and text the report gives; every row reachable; the 3.13t,
3.14t and 3.15t variants; joint causes grouped; the facts read from real
objects; --compare on two reports.  Runs on every build (no sampling)."""
import json
import re
import sys
import textwrap
import types
from pathlib import Path

import pytest

from threadhandle.contention import Entry, Report
from threadhandle.contention import _remedies
from threadhandle.contention._remedies import ROWS, choose, table_text
from threadhandle.contention._report import Facts

from conftest import FREE_THREADED, finder_cli

GIL = not FREE_THREADED or sys._is_gil_enabled()
ROOT = Path(__file__).resolve().parent.parent
PY313, PY314, PY315 = (3, 13), (3, 14), (3, 15)


def facts(**changes):
    """The facts of a GC-tracked instance of a class, not deferred."""
    base = dict(type_name="Thing", type_module="__main__", gc_tracked=True,
                deferred=False, is_c_type=False, c_module="",
                shape="instance", is_class=False, c_name="", runtime_keys=0,
                library_cache=False)
    base.update(changes)
    return base


def row(label):
    """The index in ROWS of the row with this label."""
    labels = [each.label for each in ROWS]
    assert labels.count(label) == 1, label
    return labels.index(label)


# (row label, facts, kind, where, cause, python, remedy name, words in the
# text).  One case per row at least; the table's order decides (first match).
CASES = [
    ("a dict with str keys made at run time (not interned)",
     facts(type_name="Counter", shape="dict", runtime_keys=40), "global",
     "__main__.COUNTS", "lock", PY314, "intern_keys",
     ["sys.intern(key)", "enable_deferred_refcount(d)", "1.94x",
      "if the threads write it"]),
    ("its lock held with threads waiting",
     facts(type_name="list", shape="list"), "global", "__main__.RESULTS",
     "lock", PY314, "lock_split", ["own object and merge"]),
    ("the type object of a C type",
     facts(type_name="type", shape="type", is_c_type=True,
           c_module="decimal", c_name="Decimal"), "global",
     "__main__.Decimal", "refcount", PY314, "none_fewer_instances",
     ["decimal.Decimal", "make fewer instances"]),
    ("the type object of a class statement",
     facts(type_name="type", shape="type", is_class=True), "global",
     "__main__.Point", "refcount", PY314, "none_fewer_instances",
     ["a class (made by a class statement", "no tool helps"]),
    ("a memoryview",
     facts(type_name="memoryview", shape="memoryview"), "global",
     "__main__.VIEW", "refcount", PY314, "view_per_thread",
     ["view once per thread"]),
    ("an array or bytearray its lines take memoryviews of",
     facts(type_name="ndarray", type_module="numpy", shape="ndarray",
           gc_tracked=False), "global", "__main__.A", "refcount", PY314,
     "view_per_thread", ["take the view once per thread"]),
    ("a set, on 3.13t and 3.14t",
     facts(type_name="set", shape="set"), "global", "__main__.ALLOWED",
     "refcount", PY314, "frozenset_per_thread_copy",
     ["takes the set's lock", "make it a frozenset", "its own copy"]),
    ("a compiled regular expression (re.Pattern)",
     facts(type_name="Pattern", type_module="re", shape="pattern"),
     "global", "__main__.WORD", "refcount", PY314, "immortalize",
     ["every Match holds it", "0.95x", "immortalize(obj)"]),
    ("an entry of a library's cache",
     facts(type_name="Struct", type_module="_struct", shape="c_object",
           library_cache=True),
     "item", "re._cache2[(<class 'str'>, 'a+', 0)]", "refcount", PY314,
     "bind_per_thread", ["never defer or immortalize it",
                         "p = re.compile(...) once"]),
    ("a numpy array",
     facts(type_name="ndarray", type_module="numpy", shape="ndarray",
           gc_tracked=False), "global", "__main__.W", "refcount", PY314,
     "immortalize", ["1.96-1.97x", "a.copy()", "memoryview(a)"]),
    ("bytes",
     facts(type_name="bytes", shape="bytes", gc_tracked=False), "global",
     "__main__.BLOB", "refcount", PY314, "immortalize",
     ["memoryview(b)", "bytes(bytearray(b))"]),
    ("a str dict key",
     facts(type_name="str", shape="str", gc_tracked=False), "key",
     "a key of __main__.INDEX", "refcount", PY314, "intern_keys",
     ["key = sys.intern(key)"]),
    ("a str reached from a module",
     facts(type_name="str", shape="str", gc_tracked=False), "global",
     "__main__.NAME", "refcount", PY314, "intern",
     ["sys.intern(s)", "immortalize refuses str"]),
    ("a str reached otherwise",
     facts(type_name="str", shape="str", gc_tracked=False), "argument",
     "argument 0 of work() (thread Thread-1)", "refcount", PY314, "handle",
     ["ThreadHandle per thread", "sys.intern(s)"]),
    ("deferred already (by the program or by the interpreter)",
     facts(type_name="dict", shape="dict", deferred=True), "attr",
     "__main__.APP.table", "refcount", PY314, "handle",
     ["deferred already", "C code"]),
    ("a value the GC does not track, read from a shared object",
     facts(type_name="float", shape="float", gc_tracked=False), "attr",
     "__main__.P.x", "refcount", PY314, "immortalize",
     ["value read from a shared object", "immortalize(obj)"]),
    ("such a value of an object not reached from a module",
     facts(type_name="float", shape="float", gc_tracked=False), "attr",
     "argument 0 of work() (thread Thread-1).x", "refcount", PY314,
     "read_once_per_thread", ["read it once per thread"]),
    ("not tracked by the GC",
     facts(type_name="float", shape="float", gc_tracked=False), "global",
     "__main__.RATE", "refcount", PY314, "handle",
     ["not tracked by the GC", "ThreadHandle per thread", "immortalize"]),
    ("tracked by the GC, on 3.14t and later",
     facts(type_name="dict", shape="dict"), "global", "__main__.PRICES",
     "refcount", PY314, "enable_deferred_refcount",
     ["enable_deferred_refcount(obj)"]),
    ("tracked by the GC, reached from a module, on 3.13t",
     facts(type_name="dict", shape="dict"), "global", "__main__.PRICES",
     "refcount", PY313, "immortalize",
     ["3.13 has no deferred", "immortalize(obj)", "else a ThreadHandle"]),
    ("tracked by the GC, reached otherwise (or immortalize cannot), on 3.13t",
     facts(type_name="dict", shape="dict"), "argument",
     "argument 0 of work() (thread Thread-1)", "refcount", PY313, "handle",
     ["3.13 has no deferred"]),
]


# What the lines of a case use (_lines: Lines.names_on), where it matters.
USES = {"an array or bytearray its lines take memoryviews of":
        frozenset({"memoryview", "A"})}


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_each_row(case):
    label, given, kind, where, cause, python, name, words = case
    chosen = choose(given, kind, where, cause, python, True,
                    USES.get(label, frozenset()))
    assert chosen.row == row(label), ROWS[chosen.row].label
    assert chosen.name == name
    for word in words:
        assert word in chosen.text, (word, chosen.text)


def test_every_row_is_reached():
    reached = {choose(*case[1:6], True, USES.get(case[0], frozenset())).row
               for case in CASES}
    assert reached == set(range(len(ROWS)))


def test_every_row_has_its_reason_and_a_known_name():
    for each in ROWS:
        assert each.name in _remedies.MEANINGS
        assert each.reason and each.label


def test_the_last_row_always_holds():
    assert ROWS[-1].when(None) is True


# --- the interpreters ------------------------------------------------------

def test_deferral_by_interpreter():
    tracked = facts(type_name="dict", shape="dict")
    assert choose(tracked, "global", "m.D", "refcount", PY313,
                  True).name == "immortalize"
    # Built without CPython's internals, immortalize cannot on 3.13t.
    assert choose(tracked, "global", "m.D", "refcount", PY313,
                  False).name == "handle"
    assert choose(tracked, "argument", "argument 0 of f()", "refcount",
                  PY313).name == "handle"
    assert choose(tracked, "global", "m.D", "refcount", PY314).name == \
        "enable_deferred_refcount"
    # 3.15 defers a module global once its loads specialize: one that was
    # not deferred while it contended still gets deferral, said so.
    late = choose(tracked, "global", "m.D", "refcount", PY315)
    assert late.name == "enable_deferred_refcount"
    assert "CPython 3.15 had not deferred" in late.text


def test_what_315_deferred_never_gets_deferral():
    deferred = facts(type_name="dict", shape="dict", deferred=True)
    on_315 = choose(deferred, "global", "m.D", "refcount", PY315)
    assert on_315.name == "handle"
    assert "the interpreter did it" in on_315.text
    on_314 = choose(deferred, "global", "m.D", "refcount", PY314)
    assert "the interpreter did it" not in on_314.text
    # No row advises deferral for a deferred object, on any interpreter.
    for case in CASES:
        for python in (PY313, PY314, PY315):
            given = dict(case[1], deferred=True)
            chosen = choose(given, case[2], case[3], case[4], python, True)
            assert chosen.name != "enable_deferred_refcount"
            assert "enable_deferred_refcount(" not in chosen.text


def test_an_array_is_viewed_only_where_its_lines_say_so():
    array = facts(type_name="ndarray", type_module="numpy", shape="ndarray",
                  gc_tracked=False)
    assert choose(array, "global", "m.A", "refcount", PY314,
                  True).name == "immortalize"
    assert choose(array, "global", "m.A", "refcount", PY314, True,
                  frozenset({"dot", "A"})).name == "immortalize"
    assert choose(array, "global", "m.A", "refcount", PY314, True,
                  frozenset({"memoryview", "A"})).name == "view_per_thread"
    # bytes export their buffer without writing the object: immortal.
    payload = facts(type_name="bytes", shape="bytes", gc_tracked=False)
    assert choose(payload, "global", "m.B", "refcount", PY314, True,
                  frozenset({"memoryview", "B"})).name == "immortalize"


def test_a_lock_taken_by_reads_gets_the_change_that_removes_it():
    # The sampler sees these locks (c06, e05 on 3.14t): the remedy is
    # what removes the reads' locking, not "no tool helps".
    shared_set = facts(type_name="set", shape="set")
    assert choose(shared_set, "global", "m.S", "lock", PY314,
                  True).name == "frozenset_per_thread_copy"
    array = facts(type_name="ndarray", type_module="numpy", shape="ndarray",
                  gc_tracked=False)
    assert choose(array, "global", "m.A", "lock", PY314, True,
                  frozenset({"memoryview"})).name == "view_per_thread"
    assert choose(array, "global", "m.A", "lock", PY314,
                  True).name == "lock_split"


def test_on_313_a_lock_may_be_taken_by_reads():
    frozen = facts(type_name="frozenset", shape="frozenset")
    on_313 = choose(frozen, "global", "m.F", "lock", PY313, True)
    assert on_313.name == "lock_split"
    assert "some reads lock it too" in on_313.text
    assert "some reads lock it" not in choose(frozen, "global", "m.F",
                                              "lock", PY314, True).text


def test_a_set_is_locked_on_reads_before_315():
    shared_set = facts(type_name="set", shape="set")
    for python in (PY313, PY314):
        assert choose(shared_set, "global", "m.S", "refcount", python,
                      True).name == "frozenset_per_thread_copy"
    # 3.15 reads sets without the lock: a set is a container as any other.
    assert choose(shared_set, "global", "m.S", "refcount", PY315,
                  True).name == "enable_deferred_refcount"
    frozen = facts(type_name="frozenset", shape="frozenset")
    assert choose(frozen, "global", "m.F", "refcount", PY314,
                  True).name == "enable_deferred_refcount"


def test_run_time_keys_by_interpreter():
    keyed = facts(type_name="Counter", shape="dict", runtime_keys=8)
    texts = {python: choose(keyed, "global", "m.C", "lock", python).text
             for python in (PY313, PY314)}
    assert "ThreadHandle of the dict per thread (3.13)" in texts[PY313]
    assert "enable_deferred_refcount(d)" in texts[PY314]
    deferred = choose(dict(keyed, deferred=True), "global", "m.C", "lock",
                      PY315)
    assert deferred.name == "intern_keys"
    assert "deferred already" in deferred.text


def test_run_time_keys_without_a_lock_are_read_only():
    keyed = facts(type_name="dict", shape="dict", runtime_keys=8)
    chosen = choose(keyed, "global", "m.D", "refcount", PY314)
    assert chosen.name == "intern_keys"
    assert "if the threads write it" not in chosen.text


def test_untracked_on_313_names_no_deferral():
    # 3.13 leaves a dict of ints untracked by the GC, and has no deferral.
    untracked = facts(type_name="dict", shape="dict", gc_tracked=False)
    on_313 = choose(untracked, "global", "m.D", "refcount", PY313)
    assert on_313.name == "handle"
    assert "deferral" not in on_313.text
    assert "deferral refuses it" in choose(untracked, "global", "m.D",
                                           "refcount", PY314).text


def test_value_rows_do_not_depend_on_the_interpreter():
    value = facts(type_name="float", shape="float", gc_tracked=False)
    chosen = {choose(value, "attr", "m.P.x", "refcount", python).name
              for python in (PY313, PY314, PY315)}
    assert chosen == {"immortalize"}


# --- the facts, read from real objects ---------------------------------------

class Plain:
    pass


def test_facts_of_real_objects():
    assert Facts.of("made" + str(len(CASES))).shape == "str"
    assert Facts.of(b"x").shape == "bytes"
    assert Facts.of(2.5).shape == "float"
    assert Facts.of(memoryview(b"x")).shape == "memoryview"
    assert Facts.of({}).shape == "dict"
    assert Facts.of(Plain()).shape == "instance"
    pattern = re.compile(r"\w+ \d+ threadhandle")
    assert Facts.of(pattern).shape == "pattern"
    import collections
    deque_facts = Facts.of(collections.deque())
    assert deque_facts.shape == "c_object"
    type_facts = Facts.of(collections.deque)
    assert type_facts.is_c_type and not type_facts.is_class
    assert type_facts.c_name == "deque" and type_facts.c_module == \
        "collections"
    class_facts = Facts.of(Plain)
    assert class_facts.is_class and not class_facts.is_c_type
    assert choose(class_facts.to_dict(), "global", "m.Plain",
                  "refcount").name == "none_fewer_instances"


def test_facts_of_an_array():
    numpy = pytest.importorskip("numpy")
    assert Facts.of(numpy.zeros(3)).shape == "ndarray"


def test_a_class_whose_type_lies_is_read_as_it_is():
    # __class__ as a property: isinstance would believe it; the table
    # reads the type itself (and runs none of the program's code).
    class Liar:
        @property
        def __class__(self):
            raise AssertionError("the finder ran the program's code")

    assert Facts.of(Liar()).shape == "instance"


@pytest.mark.skipif(GIL, reason="interned strings are immortal only on "
                    "free-threaded builds")
def test_run_time_keys_are_counted():
    words = "alpha beta gamma".split()        # made at run time
    made = {word + "!": 0 for word in words}
    interned = {sys.intern(word + "?"): 0 for word in words}
    assert Facts.of(made).runtime_keys == 3
    assert Facts.of(interned).runtime_keys == 0


def test_library_cache_place():
    import re as re_module  # noqa: F401 - loaded: its place is known
    assert Facts.of(object(), "re._cache2[(1, 2)]").library_cache
    assert not Facts.of(object(), "__main__.cache[1]").library_cache
    assert not Facts.of(object(), "re.Pattern").library_cache


# --- joint causes ----------------------------------------------------------

def entry(where, kind, given, *, key, container=0, cause="refcount",
          python=PY314, share=0.3):
    made = Entry(type=given["type_name"], repr="", where=where, kind=kind,
                 sweeps=1000, refcount_changes=int(share * 1000),
                 lock_held=int(1000 * 0.5) if cause == "lock" else 0,
                 remedy="", facts=given, id=key, container_id=container)
    chosen = choose(given, kind, where, made.cause, python, True)
    made.remedy, made.remedy_name = chosen.text, chosen.name
    return made


def test_an_instance_and_its_float_values_are_one_cause():
    value = facts(type_name="float", shape="float", gc_tracked=False)
    entries = [entry("__main__.P", "global", facts(), key=1),
               entry("__main__.P.x", "attr", value, key=2, container=1),
               entry("__main__.P.y", "attr", value, key=3, container=1),
               entry("__main__.RATE", "global", value, key=4)]
    _remedies.group_joint_causes(entries, PY314)
    point, x, y, rate = entries
    assert point.remedy == x.remedy == y.remedy
    assert point.remedy.startswith(
        "enable_deferred_refcount(__main__.P) and "
        "immortalize(__main__.P.x, __main__.P.y)")
    assert point.remedy_name == "enable_deferred_refcount+immortalize_values"
    assert x.group == y.group == point.group == "__main__.P"
    assert rate.group == "" and rate.remedy_name == "handle"
    # The report says which entries are one cause.
    text = Report(entries=entries, seconds=1.0, sweeps=1000, candidates=4,
                  notes=[]).format()
    assert text.count("do: one cause with #1 (__main__.P): its remedy "
                      "names this too") == 2
    assert text.count("do: enable_deferred_refcount(__main__.P) and") == 1


def test_an_instance_and_the_dict_it_holds_are_deferred_together():
    # The remedy suite's c04 (3.14t): deferring either alone gave 0.26-0.85
    # of the own copies' scaling, both 0.84-1.03.
    entries = [entry("__main__.ROUTER", "global", facts(), key=1),
               entry("__main__.ROUTER.routes", "attr",
                     facts(type_name="dict", shape="dict"), key=2,
                     container=1)]
    _remedies.group_joint_causes(entries, PY314)
    router, routes = entries
    assert router.remedy == routes.remedy
    assert router.remedy.startswith(
        "enable_deferred_refcount(__main__.ROUTER) and "
        "enable_deferred_refcount(__main__.ROUTER.routes): one cause")
    assert routes.remedy_name == ("enable_deferred_refcount+"
                                  "enable_deferred_refcount_values")
    assert routes.group == "__main__.ROUTER"


def test_a_deferred_value_of_a_container_not_to_defer_stands_alone():
    # The container's own remedy is not deferral (a lock): the value keeps
    # its own remedy.
    entries = [entry("__main__.ROUTER", "global", facts(), key=1,
                     cause="lock"),
               entry("__main__.ROUTER.routes", "attr",
                     facts(type_name="dict", shape="dict"), key=2,
                     container=1)]
    _remedies.group_joint_causes(entries, PY314)
    assert entries[1].remedy_name == "enable_deferred_refcount"
    assert entries[1].group == ""


def test_on_313_a_module_s_container_is_immortal_with_its_values():
    value = facts(type_name="int", shape="int", gc_tracked=False)
    entries = [entry("__main__.ITEMS", "global",
                     facts(type_name="list", shape="list"), key=1,
                     python=PY313),
               entry("__main__.ITEMS[3]", "item", value, key=2, container=1,
                     python=PY313)]
    _remedies.group_joint_causes(entries, PY313)
    assert entries[0].remedy.startswith(
        "immortalize(__main__.ITEMS) and immortalize(__main__.ITEMS[3])")
    assert entries[1].remedy_name == "immortalize+immortalize_values"


def test_on_313_another_container_gets_a_handle():
    where = "argument 0 of work() (thread Thread-1)"
    value = facts(type_name="float", shape="float", gc_tracked=False)
    entries = [entry(where, "argument", facts(type_name="list", shape="list"),
                     key=1, python=PY313),
               entry(where + "[3]", "item", value, key=2, container=1,
                     python=PY313)]
    _remedies.group_joint_causes(entries, PY313)
    assert entries[0].remedy.startswith(f"a ThreadHandle of {where} per "
                                        "thread and immortalize(")
    assert entries[1].remedy_name == "handle+immortalize_values"


def test_a_dict_and_its_run_time_keys_are_one_cause():
    keyed = facts(type_name="Counter", shape="dict", runtime_keys=5)
    key = facts(type_name="str", shape="str", gc_tracked=False)
    entries = [entry("__main__.COUNTS", "global", keyed, key=1, cause="lock"),
               entry("a key of __main__.COUNTS", "key", key, key=2,
                     container=1)]
    _remedies.group_joint_causes(entries, PY314)
    assert entries[0].remedy_name == entries[1].remedy_name == \
        "enable_deferred_refcount+intern_keys"
    assert entries[1].remedy.startswith(
        "enable_deferred_refcount(__main__.COUNTS) and sys.intern the keys "
        "of __main__.COUNTS where they are made")


def test_str_items_are_interned_not_immortalized():
    # immortalize refuses str: the group says sys.intern for those.
    text = facts(type_name="str", shape="str", gc_tracked=False)
    entries = [entry("__main__.WORDS", "global",
                     facts(type_name="list", shape="list"), key=1),
               entry("__main__.WORDS[0]", "item", text, key=2, container=1)]
    _remedies.group_joint_causes(entries, PY314)
    assert entries[0].remedy.startswith(
        "enable_deferred_refcount(__main__.WORDS) and sys.intern the "
        "strings (__main__.WORDS[0]) where they are made")
    assert "immortalize(" not in entries[0].remedy
    assert entries[1].remedy_name == "enable_deferred_refcount+intern"


def test_a_lock_is_not_grouped():
    value = facts(type_name="float", shape="float", gc_tracked=False)
    entries = [entry("__main__.L", "global",
                     facts(type_name="list", shape="list"), key=1,
                     cause="lock"),
               entry("__main__.L[0]", "item", value, key=2, container=1)]
    _remedies.group_joint_causes(entries, PY314)
    assert [each.group for each in entries] == ["", ""]
    assert entries[0].remedy_name == "lock_split"


# --- library caches no name reaches -----------------------------------------

def test_an_entry_of_structs_c_cache_is_named():
    import gc
    import struct
    from threadhandle.contention import _graph
    struct.unpack("<iiq", bytes(16))
    caches = [each for each in gc.get_referents(sys.modules["_struct"])
              if type(each) is dict and "<iiq" in each]
    if not caches:
        pytest.skip("this Python keeps struct's cache elsewhere")
    text, kind, _ = _graph._referrer_place(caches[0]["<iiq"], set())
    assert text == "in the cache of the _struct module (its C state)"
    assert kind == "cache"
    chosen = choose(Facts.of(caches[0]["<iiq"], text).to_dict(), kind, text,
                    "refcount")
    assert chosen.name == "bind_per_thread"
    assert "struct.Struct(fmt) once in each thread" in chosen.text


def test_a_module_s_globals_are_named():
    # Reached by no name (the walk names what a module holds, not its
    # dict): numpy's globals contended in the suite's e04 as "not reached
    # by name; referred to by 5 object(s)".
    from threadhandle.contention import _graph
    module = types.ModuleType("some_library")
    text, kind, container = _graph._referrer_place(module.__dict__, set())
    assert (text, kind) == ("some_library.__dict__", "attr")
    assert container is module


def test_a_functools_cached_result_is_named():
    import functools
    from threadhandle.contention import _graph

    @functools.cache
    def triple(n):
        return [n] * 3

    text, kind, _ = _graph._referrer_place(triple(5), set())
    assert text == ("in the cache of a functools.lru_cache function (its "
                    "cached results)")
    assert choose(Facts.of(triple(5), text).to_dict(), kind, text,
                  "refcount").name == "bind_per_thread"


# --- the table in the guide --------------------------------------------------

def test_the_guide_shows_the_table():
    guide = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
    assert table_text() in guide, (
        "docs/guide.md's remedies table differs from "
        "threadhandle.contention._remedies.table_text(): paste it again")


# --- --compare ---------------------------------------------------------

def report_data(entries):
    return {"interpreter": "3.14t", "seconds": 2.0, "sweeps": 1000,
            "candidates": 100, "threshold": 0.01, "notes": [],
            "entries": [dict(type=type_name, repr="", where=where,
                             kind="global", sweeps=1000,
                             refcount_changes=changes, lock_held=0,
                             remedy="", facts={}, id=index)
                        for index, (type_name, where, changes)
                        in enumerate(entries, 1)]}


BEFORE = report_data([("dict", "__main__.PRICES", 450),
                      ("float", "__main__.PRICES['bread']", 60),
                      ("tuple", "__main__.ITEMS", 300),
                      ("list", "__main__.LOG", 100)])
AFTER = report_data([("tuple", "__main__.ITEMS", 280),
                     ("float", "__main__.PRICES['bread']", 25),
                     ("list", "__main__.LOG", 70),
                     ("str", "__main__.NAME", 50)])


def test_compare_two_reports():
    before, after = Report.from_dict(BEFORE), Report.from_dict(AFTER)
    assert after.compare(before) == [
        (("dict", "__main__.PRICES"), "gone"),
        (("float", "__main__.PRICES['bread']"), "halved"),
        (("tuple", "__main__.ITEMS"), "unchanged"),
        (("list", "__main__.LOG"), "lower"),
        (("str", "__main__.NAME"), "new")]
    text = after.format_comparison(before)
    assert "     gone   45.0% -> -       dict at __main__.PRICES" in text
    assert "   halved    6.0% -> 2.5%" in text
    assert "1 gone, 1 halved, 1 lower, 1 unchanged, 1 new" in text


def test_a_report_round_trips_through_json(tmp_path):
    path = tmp_path / "before.json"
    report = Report.from_dict(BEFORE)
    report.write_json(str(path))
    again = Report.load(str(path))
    assert again.to_dict() == report.to_dict()
    assert again.compare(report) == [
        ((entry.type, entry.where), "unchanged")
        for entry in report.entries]


cli = finder_cli


def test_cli_compare_with_a_missing_report(tmp_path):
    (tmp_path / "ok.py").write_text("print('ran')\n")
    result = cli("--compare", "missing.json", "ok.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot read the report 'missing.json'" in result.stderr
    assert "Traceback" not in result.stderr
    assert "ran" not in result.stdout


@pytest.mark.skipif(not GIL, reason="a GIL build")
def test_cli_compare_on_a_gil_build(tmp_path):
    (tmp_path / "before.json").write_text(json.dumps(BEFORE))
    (tmp_path / "ok.py").write_text("print('ran')\n")
    result = cli("--compare", "before.json", "ok.py", cwd=tmp_path)
    # The program runs (without sampling), with its own status.
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ran\n"
    assert "no reference-count contention to find" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(GIL, reason="samples: a free-threaded build")
def test_cli_compare_after_a_fix(tmp_path):
    program = textwrap.dedent("""\
        import sys, threading, time
        import threadhandle
        TABLE = {i: i for i in range(100)}
        if sys.argv[1] == "fixed":
            try:
                # False where this build cannot (GIL, or built without
                # CPython's internals on 3.13t/3.14t): no fix to see.
                if threadhandle.immortalize(TABLE):
                    print("immortal")
            except ValueError:   # where immortalize refuses: no fix to see
                pass
        def work():
            end = time.monotonic() + 1.5
            while time.monotonic() < end:
                for _ in range(1000):
                    TABLE[5]
        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads: t.start()
        for t in threads: t.join()
        """)
    (tmp_path / "prog.py").write_text(program)
    first = cli("--warmup", "0", "-q", "-o", "before.json", "prog.py",
                "plain", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = cli("--warmup", "0", "-q", "--compare", "before.json",
                 "prog.py", "fixed", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    # The report and the comparison go to stderr (stdout is the program's).
    assert "compared with the report before" in second.stderr
    before = json.loads((tmp_path / "before.json").read_text())
    if "immortal" in second.stdout and any(
            item["where"] == "__main__.TABLE" for item in before["entries"]):
        assert re.search(r"gone .* dict at __main__\.TABLE", second.stderr), \
            second.stderr
