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

How: in a free-threaded build (3.13t, 3.14t, 3.15t) only threads other than
an object's owner touch its shared reference count (``ob_ref_shared`` in
the object's header), and a reference taken and dropped moves it and moves
it back. A sampling thread (``threadhandle/contention/_sampler.c``,
detached from the interpreter) reads that count and the object's lock
(``ob_mutex``) over and over, for every candidate; an object whose count
keeps changing between reads is under cross-thread reference-count traffic,
one whose lock often has threads parked waiting for it is written by
threads at once (a lock one thread holds, however often, is no contention;
a waiter that gets the lock while it spins, before it parks, is not seen).
With a GIL there is no such contention, and ``Finder.start()`` raises
``ContentionUnavailable``.

Ranking: by an estimate of the share of the threads' time each object's
contention costs (``Entry.estimate``; "~35% of the 2 threads' time"), not
by the share of sweeps, which saturates at one change per sweep.  After
each sweep the sampling thread reads, in turn, the counts of the
candidates with traffic back to back for some microseconds (a burst) and
counts the changes: their rate, times a measured cost per change
(``_cost.SECONDS_PER_CHANGE``), plus the time threads wait parked on the
object's lock, over the threads' time (the process's CPU time less the
finder's, over the sampled window).  Rough, within a factor of 2 or 3 (the
formula and what it misses: ``threadhandle/contention/_cost.py``); an
entry below ``_cost.SMALL`` (2%) of the threads' time, or with no estimate,
is listed below the line.

Candidates: by default every object reachable from the modules, the calling
thread's frames and the running threads' targets (what the GC tracks, and
the objects they refer to that it does not: floats, strings, bytes, arrays,
other C objects), minus immortal objects and the finder's own, up to
``cap`` (the report notes a cut); gathered again every ``refresh`` seconds,
so that objects made later are seen. Or exactly the objects passed as
``objects``.

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
read: that would race with the thread rebinding them).  Gathering and
naming run none of the program's code: types, module dicts, containers,
instance ``__dict__``s and slots are read through CPython's own
descriptors (no property, ``__getattr__``, ``__repr__`` or metaclass of the
program's is called; a ``__dict__`` that is a property, or a
``threading.local``'s, is not read; a ``LazyLoader`` module stays
unloaded), and the reprs in the report are the finder's own (the type and
address for anything but numbers, strings, bytes and the builtin
containers of those).

Where in the code: on 3.14+ the finder's loop also reads the Python
stacks of the threads about 20 times a second (``_remote_debugging``,
which copies them out of the process's memory: no thread is stopped, no
frame object is read from another thread, nothing of the program's runs),
and each entry's ``lines`` are the program's lines (not the standard
library's, site-packages' or threadhandle's) whose bytecode loads or stores
the entry's name (``PRICES`` for ``__main__.PRICES``), the most sampled
first, with their share of the samples on such lines.  By name, not by
object: a line that reaches the object by another name (a default argument,
an alias) is not found, one that loads another object of that name is.
Reading the stacks takes at most about 2% of one core.  On 3.13t there are
no lines (the report says so).

The defaults (each option is defined once, in ``_options``, for the API
and the command line): ``DEFAULT_CAP`` candidates at most,
``DEFAULT_REFRESH`` seconds between gatherings, ``DEFAULT_DUTY`` of one
core, ``DEFAULT_RATE`` sweeps a second at most and ``DEFAULT_TOP`` entries
described; an object is reported from
``THRESHOLD`` (a share of the sweeps) with at least 10 changes or reads
that found threads waiting for its lock.
"""

from __future__ import annotations

import _thread
import os
import re
import sys
import sysconfig
import threading
import time
import types
import warnings
from importlib.machinery import EXTENSION_SUFFIXES, ModuleSpec

from threadhandle._threadhandle import _SAMPLER_AVAILABLE, _Sampler
from threadhandle.contention import _cost, _lines, _options
from threadhandle.contention._graph import (
    find_places, gather, short_repr)
from threadhandle.contention._remedies import group_joint_causes
from threadhandle.contention._report import (
    MIN_EVENTS, THRESHOLD, Entry, Facts, Report, interpreter, remedy)

__all__ = ["sample", "Finder", "Report", "Entry", "ContentionUnavailable",
           "DEFAULT_CAP", "DEFAULT_DUTY", "DEFAULT_RATE", "DEFAULT_REFRESH",
           "DEFAULT_TOP", "THRESHOLD"]

# Each option's default, limits and meaning: _options.
DEFAULT_CAP = _options.CAP.default
DEFAULT_DUTY = _options.DUTY.default
DEFAULT_RATE = _options.RATE.default
DEFAULT_REFRESH = _options.REFRESH.default
DEFAULT_TOP = _options.TOP.default
# The idents of the finder's threads (the sampling loop's, the CLI's
# timer): their objects and frames are not looked at.  They are threads of
# the _thread module, which threading never lists, so that a program's
# loops over threading.enumerate() or active_count() end as without the
# finder; nothing may call threading.current_thread() in them (that would
# register a _DummyThread, listed by threading.enumerate()).
_OWN_THREADS: set = set()
# Check whether the GIL came on this often (seconds).
_TICK = 0.05


# The C sampling threads running (started, not stopped).
_SAMPLERS = [0]


def _process_threads():
    """The process's threads as os.fork() counts them on Linux (else
    None)."""
    try:
        with open("/proc/self/stat", "rb") as file:
            stat = file.read()
        return int(stat[stat.rindex(b")") + 2:].split()[17])
    except (OSError, ValueError, IndexError):
        return None


class _ForkWarning:
    """A warnings filter's message pattern that matches os.fork()'s
    warning that the process is multi-threaded once, then takes its filter
    out of warnings.filters."""

    PATTERN = re.compile(r"This process \(pid=\d+\) is multi-threaded, "
                         r"use of \w+\(\)")

    def __init__(self) -> None:
        self.filter = ("ignore", self, DeprecationWarning, None, 0)

    def match(self, text) -> bool:
        if not self.PATTERN.match(text):
            return False
        self.remove()
        return True

    def remove(self) -> None:
        try:
            warnings.filters.remove(self.filter)
        except ValueError:
            pass


_FORK_FILTERS: list = []


def _before_fork() -> None:
    # os.fork() warns (DeprecationWarning) that the process is
    # multi-threaded when it has other threads than the caller: the
    # finder's must not make it warn where the program alone would not.
    while _FORK_FILTERS:
        _FORK_FILTERS.pop().remove()
    ours = len(_OWN_THREADS) + _SAMPLERS[0]
    if not ours or sys.version_info < (3, 12):
        return
    threads = _process_threads()
    if threads is None or threads - ours > 1:
        return
    one_shot = _ForkWarning()
    _FORK_FILTERS.append(one_shot)
    warnings.filters.insert(0, one_shot.filter)


def _after_fork_in_parent() -> None:
    if sys.version_info < (3, 13):   # 3.12 warns before this hook
        while _FORK_FILTERS:
            _FORK_FILTERS.pop().remove()


def _after_fork_in_child() -> None:
    while _FORK_FILTERS:
        _FORK_FILTERS.pop().remove()
    # The child has none of the finder's threads; their idents may be
    # reused by its own.
    _OWN_THREADS.clear()
    _SAMPLERS[0] = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork,
                        after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)


def _start_thread(function) -> int:
    """Run function() in a thread of the finder's own, invisible to
    threading (it must catch its own exceptions)."""
    # The thread adds its own ident and removes it when it ends; the
    # caller waits for the first, so the ident is in the set from the
    # return on, and never left there by a thread that ended early.
    registered = _thread.allocate_lock()
    registered.acquire()

    def bootstrap():
        _OWN_THREADS.add(_thread.get_ident())
        registered.release()
        try:
            function()
        finally:
            _OWN_THREADS.discard(_thread.get_ident())
    ident = _thread.start_new_thread(bootstrap, ())
    with registered:
        pass
    return ident


def gil_message() -> str:
    """Why there is nothing to find while the GIL is on, and what to do."""
    if not sysconfig.get_config_var("Py_GIL_DISABLED"):
        return (f"Python {interpreter()} runs with a GIL: there is no "
                "reference-count contention to find (threads never touch an "
                "object's count at the same time). Run the program on a "
                "free-threaded build (3.13t, 3.14t, 3.15t).")
    return (f"Python {interpreter()} runs with the GIL on (PYTHON_GIL=1, -X "
            "gil=1, or a module imported at startup turned it on): there is "
            "no reference-count contention to find while it is on (threads "
            "run one at a time). To sample anyway, run with PYTHON_GIL=0 (at "
            "your own risk: a module that turns the GIL on was not declared "
            "safe without it).")


GIL_MESSAGE = gil_message()


class ContentionUnavailable(RuntimeError):
    """The interpreter has no reference-count contention to find."""


def _gil_enabled() -> bool:
    check = getattr(sys, "_is_gil_enabled", None)
    return check() if check is not None else True


class _Record:
    """What was counted of one candidate (by id) over the sets it was in;
    info is (repr, where, kind, facts, id of the place's container) once
    described."""

    __slots__ = ("type", "sweeps", "changes", "locked", "burst_changes",
                 "burst_seconds", "info")

    def __init__(self, kind: type) -> None:
        self.type = kind
        self.sweeps = self.changes = self.locked = self.burst_changes = 0
        self.burst_seconds = 0.0
        self.info = None

    @property
    def share(self) -> float:
        """Share of sweeps with its count changed or threads waiting for
        its lock."""
        return (self.changes + self.locked) / self.sweeps

    @property
    def lock_share(self) -> float:
        return self.locked / self.sweeps if self.sweeps else 0.0

    @property
    def change_rate(self) -> float:
        """Changes of its shared count per second, in the bursts."""
        seconds = self.burst_seconds
        return self.burst_changes / seconds if seconds else 0.0

    def rank(self) -> tuple:
        """Sort key, the costliest first: thread-seconds per second its
        contention costs, then share of sweeps."""
        return (-_cost.cost(self.change_rate, self.lock_share), -self.share)


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
                 top: int = DEFAULT_TOP,
                 progress=None) -> None:
        for option, value in ((_options.CAP, cap),
                              (_options.REFRESH, refresh),
                              (_options.DUTY, duty), (_options.RATE, rate),
                              (_options.TOP, top)):
            option.check(value)
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
        self._thread = None        # the sampling loop's thread ident
        self._done = None          # held until that thread ends
        self._pid = None           # the process that started sampling
        self._modules_seen: set = set()   # sys.modules while the GIL is off
        self._ended = None         # when sampling ended early (GIL on)
        self._started = 0.0
        self._swept = 0            # sweeps of finished sets
        self._largest = 0          # the largest set of candidates
        self._stacks = _lines.Stacks()   # the threads' sampled stacks
        # The process's CPU time at the start and at the last count, and
        # the finder's own (its Python thread's; the sampler's busy time):
        # what is left is the threads' time the estimates are shares of.
        self._cpu_started = self._cpu_counted = 0.0
        self._counted = 0.0        # time.monotonic() at the last count
        self._loop_cpu = 0.0
        self._sampler_busy = 0.0
        self.report = None

    # --- the finder's own objects are never candidates

    def _own_ids(self) -> set:
        return {id(self), id(self._records), id(self._notes),
                id(self._current), id(self._sampler), id(self._lock),
                id(self._modules_seen), id(self._done)} | _lines.OWN_IDS

    def _skip_threads(self) -> set:
        """The finder's threads (see _OWN_THREADS)."""
        return set(_OWN_THREADS)

    # --- start, refresh, stop

    def start(self) -> Finder:
        if not _SAMPLER_AVAILABLE or _gil_enabled():
            raise ContentionUnavailable(GIL_MESSAGE)
        if self._sampler is not None:
            raise RuntimeError("this Finder was started already")
        self._pid = os.getpid()
        self._modules_seen = set(sys.modules)
        self._sampler = _Sampler(self._duty, self._rate)
        counted = False
        try:
            self._sampler.start()
            _SAMPLERS[0] += 1
            counted = True
            with self._lock:
                self._install(self._candidates())
            self._stacks.start()
            # Sampling time: from the first set of candidates on.
            self._started = self._counted = time.monotonic()
            self._cpu_started = self._cpu_counted = time.process_time()
            self._done = _thread.allocate_lock()
            self._done.acquire()
            self._thread = _start_thread(self._run)
        except BaseException:
            if counted:
                _SAMPLERS[0] -= 1
            self._abandon()
            raise
        return self

    def _abandon(self) -> None:
        """After a failed start (the finder's thread is started last, so
        it is not running): no thread left running, no reference kept;
        the Finder is as if never started."""
        sampler, self._sampler = self._sampler, None
        sampler.swap(None)
        sampler.stop()
        self._current = ()
        self._records = {}
        self._thread = None
        self._done = None

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
        cpu, now = time.process_time(), time.monotonic()
        counts = self._sampler.swap(None)
        if counts is None:
            return
        self._cpu_counted, self._counted = cpu, now
        self._sampler_busy = self._sampler.stats().busy_seconds
        sweeps = counts.sweeps
        self._swept += sweeps
        records = self._records
        for obj, change, lock, burst, burst_time in zip(
                self._current, counts.changes, counts.locked,
                counts.burst_changes, counts.burst_seconds):
            record = records.get(id(obj))
            if record is None or record.type is not type(obj):
                record = records[id(obj)] = _Record(type(obj))
            record.sweeps += sweeps
            record.changes += change
            record.locked += lock
            record.burst_changes += burst
            record.burst_seconds += burst_time
        self._describe_leaders()

    def _describe_leaders(self) -> None:
        ranked = sorted(
            (key for key, record in self._records.items()
             if record.sweeps and (record.changes + record.locked)
             >= max(THRESHOLD * record.sweeps, MIN_EVENTS)),
            key=lambda key: self._records[key].rank())[:2 * self._top]
        wanted = {key for key in ranked if self._records[key].info is None}
        if not wanted:
            return
        targets = {id(obj): obj for obj in self._current if id(obj) in wanted}
        own = self._own_ids() | {id(targets)}
        places = find_places(targets, self._skip_threads(), own)
        for key, obj in targets.items():
            text, kind, container = places[key]
            self._records[key].info = (
                short_repr(obj), text, kind, Facts.of(obj, text),
                0 if container is None else id(container))
        targets.clear()

    def _forget_the_quiet(self) -> None:
        """Drop the records of objects that showed nothing: only those
        with traffic are kept once they leave the candidates."""
        self._records = {key: record for key, record in self._records.items()
                         if record.changes or record.locked}

    def _refresh(self) -> None:
        with self._lock:
            if self._stopping:
                return
            self._take_counts()
            self._current = ()   # the finder's window ends here
            self._forget_the_quiet()
            self._install(self._candidates())

    def _run(self) -> None:
        # A thread of _thread's: an uncaught exception would go to the
        # program's sys.unraisablehook; it ends sampling with a note.
        try:
            self._loop()
        except BaseException as exc:  # noqa: BLE001 - the finder's own
            self._notes.append(
                f"sampling ended early: the finder failed "
                f"({type(exc).__name__}: {exc})")
            self._ended = time.monotonic()
        finally:
            self._done.release()

    def _new_extensions(self) -> list:
        return sorted(name for name in set(sys.modules) - self._modules_seen
                      if _is_extension(name))

    def _gil_came_on(self) -> None:
        """The GIL is on (a module that needs it was imported): take what
        was sampled until now and stop sampling."""
        came_on = time.monotonic()
        # The module enters sys.modules once its import is done: wait for
        # it a little.
        for _ in range(40):
            names = self._new_extensions()
            if names or self._stopping:
                break
            time.sleep(_TICK)
        with self._lock:
            if self._stopping:
                return
            self._ended = came_on
            self._take_counts()
            self._current = ()
            self._note_gil(names, came_on - self._started)

    def _note_gil(self, names: list, seconds: float) -> None:
        if names:
            what = f"importing {', '.join(names)}"
        else:
            what = ("an import (Python's RuntimeWarning on stderr names the "
                    "module)")
        self._notes.append(
            f"the GIL came on at {seconds:.1f} s, turned on by {what} (a C "
            "extension not declared safe without the GIL): sampling stopped "
            "there, as nothing contends while the GIL is on (threads run one "
            "at a time); the entries are from before. To sample further, run "
            "with PYTHON_GIL=0 (at your own risk: the module was not declared "
            "safe without the GIL)")

    def _loop(self) -> None:
        # time.sleep, not an Event: waiting on one allocates a lock each
        # time, traffic on the lock type the report would show.
        cpu = time.thread_time()
        try:
            self._sample_until_stopped()
        finally:
            self._loop_cpu = time.thread_time() - cpu

    def _sample_until_stopped(self) -> None:
        last_refresh = last_progress = time.monotonic()
        while not self._stopping:
            time.sleep(_TICK)
            # A module that turns the GIL on enters sys.modules after it
            # did: a copy taken before a check that found the GIL off
            # does not hold it.
            seen = (set(sys.modules)
                    if len(sys.modules) != len(self._modules_seen) else None)
            if _gil_enabled():
                self._gil_came_on()
                return
            if seen is not None:
                self._modules_seen = seen
            self._stacks.take()
            now = time.monotonic()
            if self._objects is None and now - last_refresh >= self._interval:
                self._refresh()
                last_refresh = time.monotonic()
            if self._progress is not None and now - last_progress >= 1.0:
                last_progress = now
                stats = self._sampler.stats()
                elapsed = now - self._started
                self._progress(elapsed, stats.sweeps / max(elapsed, 1e-9),
                               stats.candidates)

    def stop(self) -> Report:
        """Stop sampling, drop every reference the finder holds and return
        the report (the same one on later calls)."""
        if self._sampler is None:
            raise RuntimeError("this Finder was not started")
        if os.getpid() != self._pid:
            # A child forked while sampling: the finder's threads are not
            # in it and its locks may be held for ever; it has nothing.
            return Report(entries=[], seconds=0.0, sweeps=0, candidates=0,
                          notes=["this process was forked from the sampled "
                                 "one: nothing was sampled in it"])
        self._stopping = True
        if self._thread != _thread.get_ident():
            with self._done:   # released when the finder's thread ends
                pass
        with self._lock:
            if self.report is None:
                if self._ended is None and _gil_enabled():
                    # It came on since the sampling loop last looked.
                    self._ended = time.monotonic()
                    self._note_gil(self._new_extensions(),
                                   self._ended - self._started)
                seconds = (self._ended or time.monotonic()) - self._started
                if self._progress is not None:
                    stats = self._sampler.stats()
                    self._progress(seconds,
                                   stats.sweeps / max(seconds, 1e-9),
                                   stats.candidates)
                try:
                    self._take_counts()
                finally:
                    # Whatever describing the objects raised: no sampling
                    # thread left running, no candidate held.
                    self._current = ()
                    self._sampler.stop()
                    _SAMPLERS[0] -= 1
                self.report = self._make_report(seconds)
                self._records = {}
        return self.report

    def _threads_time(self) -> float:
        """The threads' time per second from start to the last count: the
        process's CPU time less the finder's, plus the time threads spent
        parked on the locks of the objects sampled."""
        window = self._counted - self._started
        cpu = (self._cpu_counted - self._cpu_started - self._loop_cpu
               - self._sampler_busy)
        waits = sum(record.lock_share for record in self._records.values())
        return _cost.threads_time(cpu, window, waits)

    def _make_report(self, seconds: float) -> Report:
        threads = self._threads_time()
        entries = []
        for key, record in self._records.items():
            if record.info is None:
                continue
            text, where, kind, facts, container_id = record.info
            entry = Entry(
                type=facts.type_name, repr=text, where=where, kind=kind,
                sweeps=record.sweeps, refcount_changes=record.changes,
                lock_held=record.locked, remedy="",
                facts=facts.to_dict(), id=key, container_id=container_id,
                change_rate=record.change_rate,
                burst_seconds=record.burst_seconds)
            if entry.burst_seconds or entry.lock_held:
                entry.estimate = _cost.estimate(
                    entry.change_rate, entry.lock_share, threads)
            entries.append(entry)
        # The lines first: what they call is a part of how the object is
        # used, which the remedy depends on (memoryview(a)).
        lines = _lines.attribute(entries, self._stacks)
        for entry in entries:
            chosen = remedy(entry.facts, entry.kind, entry.where,
                            entry.cause,
                            uses=lines.names_on(entry.lines))
            entry.remedy, entry.remedy_name = chosen.text, chosen.name
        # By estimated cost; the unknown and the equal by share of sweeps.
        entries.sort(key=lambda entry: (-(entry.estimate or 0.0),
                                        -entry.score))
        group_joint_causes(entries)
        notes = self._notes + ([self._stacks.note] if self._stacks.note
                               and entries else [])
        return Report(entries=entries, seconds=seconds, sweeps=self._swept,
                      candidates=self._largest, notes=notes,
                      threads=threads)

    def __enter__(self) -> Finder:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _is_extension(name: str) -> bool:
    """Whether sys.modules[name] was loaded from a C extension, read
    without running the module's code (no getattr on it)."""
    module = sys.modules.get(name)
    if not issubclass(type(module), types.ModuleType):
        return False
    spec = types.ModuleType.__dict__["__dict__"].__get__(module).get(
        "__spec__")
    if type(spec) is not ModuleSpec:
        return False
    origin = vars(spec).get("origin")
    return type(origin) is str and origin.endswith(tuple(EXTENSION_SUFFIXES))


def sample(seconds: float = 2.0, objects=None, *, cap: int = DEFAULT_CAP,
           refresh: float = DEFAULT_REFRESH, duty: float = DEFAULT_DUTY,
           rate: float = DEFAULT_RATE, top: int = DEFAULT_TOP,
           progress=None) -> Report:
    """Sample the running program for `seconds` (other threads keep
    running; the calling thread sleeps) and return the Report.  The other
    arguments as for Finder."""
    if not seconds > 0:
        raise ValueError("seconds must be > 0")
    finder = Finder(objects, cap=cap, refresh=refresh, duty=duty, rate=rate,
                    top=top, progress=progress).start()
    try:
        time.sleep(seconds)
    finally:
        report = finder.stop()
    return report
