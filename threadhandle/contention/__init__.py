"""Find what contends: which shared objects the threads of a program fight
over, and what to do about each.

    python -m threadhandle.contention [options] script.py [args]
    python -m threadhandle.contention [options] -m module [args]

or from Python (tests, notebooks)::

    report = threadhandle.contention.sample(seconds=2.0)
    print(report)                 # the top 10, ranked
    report.top(3), report.to_dict()

    with threadhandle.contention.Finder() as finder:
        ...                       # the code to look at
    print(finder.report)

How: in a free-threaded build (3.13t, 3.14t) only threads other than an
object's owner touch its shared reference count (``ob_ref_shared`` in the
object's header), and a reference taken and dropped moves it and moves it
back.  A sampling thread (``threadhandle/sampler.c``, detached from the
interpreter) reads that count and the object's lock (``ob_mutex``) over and
over, for every candidate; an object whose count keeps changing between
reads is under cross-thread reference-count traffic, one whose lock often
has threads parked waiting for it is written by threads at once (a lock
one thread holds, however often, is no contention; a waiter that gets the
lock while it spins, before it parks, is not seen).  With a GIL there is
no such contention, and ``Finder.start()`` raises ``ContentionUnavailable``.

Candidates: by default every object reachable from the modules, the
calling thread's frames and the running threads' targets (what the GC tracks, and the objects they refer to that it
does not: floats, strings, bytes, arrays, other C objects), minus immortal
objects and the finder's own, up to ``cap`` (the report notes a cut);
gathered again every ``refresh`` seconds, so that objects made later are
seen.  Or exactly the objects passed as ``objects``.

What the finder changes in the program: it holds a strong reference to each
candidate from one refresh to the next (``refresh`` seconds, 2 by default)
and drops them all at each refresh, before gathering again, and at stop.  So
an object that the program lets go can outlive its last reference by at most
one refresh interval (a file closes later, memory is freed later, a
finalizer runs later); objects that are garbage are never gathered (only
reachable ones are).  While it holds a reference, code that checks for a
sole reference (in-place string concatenation) takes its slower path.  The
sampling thread uses at most ``duty`` of one core (0.1 by default) and
sweeps at most ``rate`` times a second (2000).  At each
refresh the finder walks the object graph (a stop-the-world-free Python
walk, some tens of milliseconds per 10,000 objects) and pauses sampling
meanwhile, so that its own references are not counted.  To name where an
object lives, the report reads module attributes, dict items, instance
``__dict__``s (which makes CPython build the dict of an instance that had
none), the calling thread's frame locals, and the arguments and closure
cells of other threads' targets (another thread's frame locals are never
read: that would race with the thread rebinding them).

The defaults: ``DEFAULT_CAP`` candidates at most, ``DEFAULT_REFRESH``
seconds between gatherings, ``DEFAULT_DUTY`` of one core and
``DEFAULT_RATE`` sweeps a second at most; an object is reported from
``THRESHOLD`` (a share of the sweeps) with at least 10 changes or reads
that found threads waiting for its lock.
"""

from __future__ import annotations

import sys
import threading
import time

from threadhandle._threadhandle import _SAMPLER_AVAILABLE, _Sampler
from threadhandle.contention._graph import (
    find_places, gather, short_repr)
from threadhandle.contention._report import (
    MIN_EVENTS, THRESHOLD, Entry, Facts, Report, interpreter, remedy)

__all__ = ["sample", "Finder", "Report", "Entry", "ContentionUnavailable",
           "DEFAULT_CAP", "DEFAULT_DUTY", "DEFAULT_RATE", "DEFAULT_REFRESH",
           "THRESHOLD"]

DEFAULT_CAP = 100_000
DEFAULT_DUTY = 0.1
DEFAULT_RATE = 2000.0
DEFAULT_REFRESH = 2.0
# The finder's threads: their objects and frames are not looked at.
_THREAD_NAME = "threadhandle.contention"

GIL_MESSAGE = (
    f"Python {interpreter()} runs with a GIL: there is no reference-count "
    "contention to find (threads never touch an object's count at the same "
    "time). Run the program on a free-threaded build (3.13t, 3.14t).")


class ContentionUnavailable(RuntimeError):
    """The interpreter has no reference-count contention to find."""


def _gil_enabled() -> bool:
    check = getattr(sys, "_is_gil_enabled", None)
    return check() if check is not None else True


# Per candidate: [type, sweeps, changes, locked, info]; info is (repr,
# where, kind, facts) once described.
_TYPE, _SWEEPS, _CHANGES, _LOCKED, _INFO = range(5)


class Finder:
    """Samples the program's objects from start() to stop(); stop() returns
    the Report (also in ``.report``).  A context manager as well.

    objects: the objects to watch (default: every reachable object, see the
    module's docstring); cap: at most this many candidates; refresh:
    seconds between two gatherings of the candidates (ignored with
    objects); duty: the sampling thread's share of one core at most; rate:
    sweeps per second at most (small sets are swept that often, large ones
    as often as `duty` allows); top: how many
    entries the report describes; progress: called about once a second
    with (elapsed seconds, sweeps per second, candidates).
    """

    def __init__(self, objects=None, *, cap: int = DEFAULT_CAP,
                 refresh: float = DEFAULT_REFRESH,
                 duty: float = DEFAULT_DUTY, rate: float = DEFAULT_RATE,
                 top: int = 10,
                 progress=None) -> None:
        if cap < 1:
            raise ValueError("cap must be at least 1")
        if not refresh > 0:
            raise ValueError("refresh must be > 0 seconds")
        if not 0 < duty <= 1:
            raise ValueError("duty must be > 0 and <= 1 (a fraction of one "
                             "core)")
        if not 0 < rate <= 1e6:
            raise ValueError("rate must be > 0 and <= 1e6 sweeps a second")
        if top < 1:
            raise ValueError("top must be at least 1")
        self._objects = None if objects is None else tuple(objects)
        self._cap, self._interval, self._duty = cap, refresh, duty
        self._rate = rate
        self._top, self._progress = top, progress
        self._sampler = None
        self._current: tuple = ()
        self._records: dict = {}
        self._notes: list = []
        self._lock = threading.Lock()
        self._stopping = False
        self._thread = None
        self._started = 0.0
        self._swept = 0            # sweeps of finished sets
        self._largest = 0          # the largest set of candidates
        self.report = None

    # --- the finder's own objects are never candidates

    def _own_ids(self) -> set:
        own = {id(self), id(self._records), id(self._notes),
               id(self._current), id(self._sampler), id(self._lock),
               }
        own.update(id(thread) for thread in threading.enumerate()
                   if thread.name.startswith(_THREAD_NAME))
        return own

    def _skip_threads(self) -> set:
        """The finder's threads (named threadhandle.contention...)."""
        return {thread.ident for thread in threading.enumerate()
                if thread.name.startswith(_THREAD_NAME)}

    # --- start, refresh, stop

    def start(self) -> "Finder":
        if not _SAMPLER_AVAILABLE or _gil_enabled():
            raise ContentionUnavailable(GIL_MESSAGE)
        if self._sampler is not None:
            raise RuntimeError("this Finder was started already")
        self._sampler = _Sampler(self._duty, self._rate)
        self._sampler.start()
        self._thread = threading.Thread(
            target=self._run, name=_THREAD_NAME, daemon=True)
        with self._lock:
            self._install(self._candidates())
        # Sampling time: from the first set of candidates on.
        self._started = time.monotonic()
        self._thread.start()
        return self

    def _candidates(self) -> tuple:
        if self._objects is not None:
            return self._objects
        found, cut = gather(self._cap, self._own_ids(), self._skip_threads())
        if cut and not any("cap" in note for note in self._notes):
            self._notes.append(
                f"the cap cut the candidates at {self._cap:,} objects (the "
                "standard library's and site-packages' modules are walked "
                "last): raise it with --cap")
        return found

    def _install(self, candidates: tuple) -> None:
        """Hand the sampler a new set (it is paused), then resume it once
        the references taken while gathering are dropped."""
        self._current = candidates
        self._largest = max(self._largest, len(candidates))
        self._sampler.swap(candidates)
        self._sampler.resume()

    def _take_counts(self) -> None:
        """Pause the sampler, add the current set's counts to the records
        and describe the new leaders while the objects are held."""
        counts = self._sampler.swap(None)
        if counts is None:
            return
        sweeps, changes, locked = counts
        self._swept += sweeps
        records = self._records
        for obj, change, lock in zip(self._current, changes, locked):
            record = records.get(id(obj))
            if record is None or record[_TYPE] is not type(obj):
                record = records[id(obj)] = [type(obj), 0, 0, 0, None]
            record[_SWEEPS] += sweeps
            record[_CHANGES] += change
            record[_LOCKED] += lock
        self._describe_leaders()

    def _describe_leaders(self) -> None:
        ranked = sorted(
            (key for key, record in self._records.items()
             if record[_SWEEPS] and (record[_CHANGES] + record[_LOCKED])
             >= max(THRESHOLD * record[_SWEEPS], MIN_EVENTS)),
            key=lambda key: -_score(self._records[key]))[:2 * self._top]
        wanted = {key for key in ranked if self._records[key][_INFO] is None}
        if not wanted:
            return
        targets = {id(obj): obj for obj in self._current if id(obj) in wanted}
        own = self._own_ids() | {id(targets)}
        places = find_places(targets, self._skip_threads(), own)
        for key, obj in targets.items():
            text, kind, _ = places[key]
            self._records[key][_INFO] = (
                short_repr(obj), text, kind, Facts.of(obj))
        targets.clear()

    def _forget_the_quiet(self) -> None:
        """Drop the records of objects that showed nothing: only those
        with traffic are kept once they leave the candidates."""
        self._records = {key: record for key, record in self._records.items()
                         if record[_CHANGES] or record[_LOCKED]}

    def _refresh(self) -> None:
        with self._lock:
            if self._stopping:
                return
            self._take_counts()
            self._current = ()   # the finder's window ends here
            self._forget_the_quiet()
            self._install(self._candidates())

    def _run(self) -> None:
        # time.sleep, not an Event: waiting on one allocates a lock each
        # time, traffic on the lock type the report would show.
        last_refresh = last_progress = time.monotonic()
        while not self._stopping:
            time.sleep(0.05)
            now = time.monotonic()
            if self._objects is None and now - last_refresh >= self._interval:
                self._refresh()
                last_refresh = time.monotonic()
            if self._progress is not None and now - last_progress >= 1.0:
                last_progress = now
                sweeps, busy, size = self._sampler.stats()
                elapsed = now - self._started
                self._progress(elapsed, sweeps / max(elapsed, 1e-9), size)

    def stop(self) -> Report:
        """Stop sampling, drop every reference the finder holds and return
        the report (the same one on later calls)."""
        if self._sampler is None:
            raise RuntimeError("this Finder was not started")
        self._stopping = True
        if self._thread is not threading.current_thread():
            self._thread.join()
        with self._lock:
            if self.report is None:
                seconds = time.monotonic() - self._started
                if self._progress is not None:
                    sweeps, _, size = self._sampler.stats()
                    self._progress(seconds, sweeps / max(seconds, 1e-9),
                                   size)
                self._take_counts()
                self._current = ()
                self._sampler.stop()
                self.report = self._make_report(seconds)
                self._records = {}
        return self.report

    def _make_report(self, seconds: float) -> Report:
        entries = []
        for key, record in self._records.items():
            if record[_INFO] is None:
                continue
            text, where, kind, facts = record[_INFO]
            sweeps = record[_SWEEPS]
            entries.append(Entry(
                type=facts.type_name, repr=text, where=where, kind=kind,
                sweeps=sweeps, refcount_changes=record[_CHANGES],
                lock_held=record[_LOCKED],
                remedy=remedy(facts, kind, record[_LOCKED] / sweeps),
                facts=vars(facts).copy(), id=key))
        entries.sort(key=lambda entry: -entry.score)
        return Report(entries=entries, seconds=seconds, sweeps=self._swept,
                      candidates=self._largest, notes=self._notes)

    def __enter__(self) -> "Finder":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _score(record: list) -> float:
    return (record[_CHANGES] + record[_LOCKED]) / record[_SWEEPS]


def sample(seconds: float = 2.0, objects=None, **options) -> Report:
    """Sample the running program for `seconds` (other threads keep
    running; the calling thread sleeps) and return the Report.  Options as
    for Finder."""
    if not seconds > 0:
        raise ValueError("seconds must be > 0")
    finder = Finder(objects, **options).start()
    try:
        time.sleep(seconds)
    finally:
        report = finder.stop()
    return report
