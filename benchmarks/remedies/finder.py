"""The one adapter between the suite and threadhandle.contention:
everything the suite reads from the finder is here.  It uses
  * Finder(duty=..., top=...) with start()/stop() -> report, from a thread
    the finder counts as its own (contention._OWN_THREADS: not looked at);
  * report.top(1)[0], unless it is listed below the line (Entry.small:
    the report then names nothing worth fixing): the #1 entry's type,
    where, its estimate, remedy text, id (the
    object's id(), compared while the object lives) and remedy_name, the
    name of the remedies table's row (threadhandle/contention/_remedies.py),
    mapped here to the suite's remedy names;
  * for a joint remedy (one cause, several objects: entry.group is the
    container's where), the id of the container's entry.
"""

from __future__ import annotations

import threading
import time

# Sampling starts this long after the threads and ends this long before
# them: threads starting and ending move counts that are no part of work().
MARGIN = 0.2


def why_unavailable() -> str:
    """Why the finder cannot run here ('' if it can)."""
    try:
        from threadhandle.contention import Finder
        Finder(objects=()).start().stop()
    except Exception as exc:  # not installed, a GIL build, ...
        return f"{type(exc).__name__}: {exc}"
    return ""


def sampler(seconds: float, duty: float, result: dict, ids_of=None):
    """A during(main) callback for runner.run: samples the middle of the
    run in a thread the finder counts as its own, and fills `result` with the
    #1 entry (or {} when the report is empty; 'error' if it failed), and
    with ids_of(main) under "ids" (read after the sample, while the threads
    run and the objects live)."""
    from threadhandle.contention import _OWN_THREADS, Finder

    def sample() -> None:
        # One of the finder's own threads: it is not looked at.
        _OWN_THREADS.add(threading.get_ident())
        try:
            finder = Finder(duty=duty, top=3)
            time.sleep(MARGIN)
            finder.start()
            time.sleep(seconds)
            report = finder.stop()
            top = report.top(1)
            if top and top[0].small:
                # Listed below the line: the report says nothing there is
                # worth fixing, so it names no #1.
                result["below_line"] = (f"{top[0].type} {top[0].where} "
                                        f"{top[0].estimate}")
            elif top:
                first = top[0]
                result.update(type=first.type, where=first.where,
                              remedy=first.remedy,
                              remedy_name=first.remedy_name, id=first.id,
                              repr=first.repr,
                              share=round(first.score, 4),
                              estimate=first.estimate)
                containers = [entry.id for entry in report.entries
                              if first.group and entry.where == first.group]
                result["group_id"] = containers[0] if containers else first.id
        except Exception as exc:
            result["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            _OWN_THREADS.discard(threading.get_ident())

    def during(main: dict) -> None:
        thread = threading.Thread(target=sample)
        thread.start()
        thread.join()
        # After the sample, while the threads still run: what a name's
        # getter finds is then what the threads use (re's cache is purged
        # before each run, and the threads fill it as they start).
        if ids_of is not None:
            result["ids"] = ids_of(main)

    return during


# The remedies table's names (threadhandle/contention/_remedies.py) -> the
# suite's (remedies.py); '' where no tool helps or the suite has no such
# variant.
SUITE_REMEDY = {
    "handle": "handle", "local_handle": "local_handle",
    "enable_deferred_refcount": "deferred", "immortalize": "immortal",
    "immortalize_values": "immortal_values", "intern": "intern",
    "intern_keys": "intern_keys", "bind_per_thread": "bind_once",
    "view_per_thread": "bind_once", "read_once_per_thread": "read_once",
    "none_fewer_instances": "", "lock_split": "",
    "frozenset_per_thread_copy": "frozen",   # the program's remedy_frozen
}


# The parts of a joint remedy ("a+b": one cause, a container and what it
# holds) are each applied to the container: its values or keys are what
# the part names.
JOINT_PART = {"immortalize_values": "values", "intern_keys": "intern_keys",
              "intern": "intern_values",
              "enable_deferred_refcount_values": "deferred_values"}


def suite_remedy(table_name: str) -> str:
    """The suite's remedy for the finder's single (not joint) remedy."""
    return SUITE_REMEDY.get(table_name, "")


def suite_parts(table_name: str, name: str, container: str) -> list:
    """[(suite remedy, shared name), ...] for the finder's remedy of the
    object `name`, whose cause's container is `container` (the same name
    when it stands alone); [] when the suite cannot apply every part."""
    if "+" not in table_name:
        remedy = suite_remedy(table_name)
        return [(remedy, name)] if remedy else []
    parts = []
    for part in table_name.split("+"):
        remedy = JOINT_PART.get(part) or SUITE_REMEDY.get(part, "")
        if not remedy:
            return []
        parts.append((remedy, container))
    return parts
