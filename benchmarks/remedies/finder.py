"""The one adapter between the suite and threadhandle.contention.

The finder's module is being rewritten (issues 21 and 22): everything the
suite reads from it is here.  What the suite needs from it:
  * a Finder(duty=..., top=...) with start()/stop() -> report, startable
    from a thread of the finder's own name (not looked at), or the API's
    own way to say "do not look at this thread";
  * report.top(1)[0]: the #1 entry's type, where, remedy text, id (the
    object's id(), compared while the object lives);
  * a remedy the suite can apply: today only text, read by
    remedy_from_text below; a machine-readable remedy (a name from
    remedies.py's list, and the objects it names, joint ones together)
    would replace that guess.
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
    with ids_of(main) under "ids" (read while the objects live)."""
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
            if top:
                first = top[0]
                result.update(type=first.type, where=first.where,
                              remedy=first.remedy,
                              remedy_name=first.remedy_name, id=first.id,
                              repr=first.repr,
                              share=round(first.score, 4))
        except Exception as exc:
            result["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            _OWN_THREADS.discard(threading.get_ident())

    def during(main: dict) -> None:
        if ids_of is not None:
            result["ids"] = ids_of(main)
        thread = threading.Thread(target=sample)
        thread.start()
        thread.join()

    return during


def remedy_from_text(text: str) -> str:
    """The suite's remedy name for the finder's remedy text ('' when the
    text says that no tool helps, or names none the suite knows).  A
    guess from words; the finder should give the name itself."""
    text = text.lower()
    if "nothing in python helps" in text or "no handle helps" in text:
        return ""
    for words, name in (("enable_deferred_refcount", "deferred"),
                        ("intern", "intern_keys"),
                        ("read it once", "read_once"),
                        ("bind", "bind_once"),
                        ("once per thread", "bind_once"),
                        ("threadhandle per thread", "handle"),
                        ("local_handle", "local_handle"),
                        ("immortalize", "immortal")):
        if words in text:
            return name
    return ""
