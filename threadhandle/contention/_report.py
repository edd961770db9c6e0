"""The finder's report: entries ranked by what their contention costs the
threads (_cost), each with where the object lives and the remedy decided
from what the object is and the interpreter."""

from __future__ import annotations

import gc
import json
import os
import sys
import sysconfig
from dataclasses import asdict, dataclass, field

from threadhandle._threadhandle import _is_immortal
from threadhandle.contention import (
    _compare, _cost, _graph, _lines, _peek, _remedies)

# An entry is listed when at least this share of the sweeps saw its
# refcount change, or threads waiting for its lock, at least MIN_EVENTS
# times: a thread that ends, or a collection, moves many counts once.
THRESHOLD = 0.01
MIN_EVENTS = 10

FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
HAS_DEFERRED = FREE_THREADED and sys.version_info >= (3, 14)
# A deferred object's count, as sys.getrefcount reads it, is above this.
_DEFERRED_COUNT = 1 << 59


def interpreter() -> str:
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return version + ("t" if FREE_THREADED else "")


@dataclass
class Facts:
    """What the remedy depends on, read while the object was alive, from
    type fields and the object's C storage (no code of the program runs):
    str, int and bool only (JSON-safe).  The rows that use them are in
    _remedies.ROWS."""
    type_name: str
    type_module: str
    gc_tracked: bool
    deferred: bool
    is_c_type: bool          # a type object made by C code
    c_module: str            # that type's module
    shape: str = ""          # _peek.shape_of: str, ndarray, dict, ...
    is_class: bool = False   # a type object made by a class statement
    c_name: str = ""         # the C type's name (is_c_type)
    runtime_keys: int = 0    # str keys not interned (a dict's, of the first
    #                          _KEYS_READ)
    library_cache: bool = False  # found inside a library's cache

    @classmethod
    def of(cls, obj: object, where: str = "") -> Facts:
        kind = type(obj)
        is_type = _peek.is_type(obj)
        # A type not made by a class statement (or type()): a static type,
        # or a heap type made immutable, as C extensions make them.
        is_c_type = is_type and not _peek.is_class_statement_type(obj)
        try:
            shape = _peek.shape_of(obj)
            runtime_keys = _runtime_keys(obj) if shape == "dict" else 0
            library_cache = bool(where) and _graph.in_library_cache(where)
        except Exception:  # noqa: BLE001 - e.g. a dict changing size
            # Unknown: the table's general rows decide.
            shape, runtime_keys, library_cache = "", 0, False
        return cls(
            type_name=_peek.type_name(kind),
            type_module=_peek.type_module(kind),
            gc_tracked=gc.is_tracked(obj),
            deferred=HAS_DEFERRED and sys.getrefcount(obj) > _DEFERRED_COUNT,
            is_c_type=is_c_type,
            c_module=_peek.type_module(obj) if is_c_type else "",
            shape=shape,
            is_class=is_type and not is_c_type,
            c_name=_peek.type_name(obj) if is_c_type else "",
            runtime_keys=runtime_keys,
            library_cache=library_cache,
        )

    def to_dict(self) -> dict:
        return asdict(self)


_KEYS_READ = 200


def _runtime_keys(mapping: dict) -> int:
    """How many of a dict's first _KEYS_READ keys are exact str that are
    not interned: made at run time.  Interned strings are immortal on
    free-threaded builds, so mortality tells them apart there."""
    if not FREE_THREADED:
        return 0
    return sum(1 for key, _ in _peek.items(mapping)[:_KEYS_READ]
               if type(key) is str and not _is_immortal(key))


@dataclass
class Entry:
    """One object that showed contention."""
    type: str
    repr: str
    where: str
    kind: str                # how `where` reached it: global, attr, item,
    #                          key, local, cell, argument, member, cache,
    #                          unknown
    sweeps: int
    refcount_changes: int
    lock_held: int
    remedy: str
    facts: dict = field(default_factory=dict)
    # id() of the object: meaningful while the object lives (tools that
    # hold it, such as the benchmark's ground truth, compare it).
    id: int = 0
    remedy_name: str = ""    # the row's name in _remedies (tools read it)
    container_id: int = 0    # id() of what its place read it from
    group: str = ""          # one cause with the entry at this place
    # Changes of its shared count per second, as the sampler's bursts saw
    # them, and the seconds of bursts on it.
    change_rate: float = 0.0
    burst_seconds: float = 0.0
    # The share of the threads' time its contention costs (_cost); None:
    # unknown (no burst reached it and no thread waited for its lock).
    estimate: float | None = None
    # The program lines that use it, most sampled first: dicts with file,
    # line, function, samples, share (see _lines); [] when not known.
    lines: list = field(default_factory=list)

    @property
    def refcount_share(self) -> float:
        return self.refcount_changes / self.sweeps if self.sweeps else 0.0

    @property
    def lock_share(self) -> float:
        return self.lock_held / self.sweeps if self.sweeps else 0.0

    @property
    def score(self) -> float:
        return self.refcount_share + self.lock_share

    @property
    def small(self) -> bool:
        """Whether it is listed below the line: its estimated cost is under
        _cost.SMALL of the threads' time, or unknown."""
        return self.estimate is None or self.estimate < _cost.SMALL

    @property
    def events(self) -> int:
        return self.refcount_changes + self.lock_held

    @property
    def cause(self) -> str:
        """'lock' when threads waited for its lock in THRESHOLD of the
        sweeps or more (they then wait for each other whatever the count
        does), else 'refcount'."""
        return "lock" if self.lock_share >= THRESHOLD else "refcount"

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(refcount_share=round(self.refcount_share, 4),
                    lock_share=round(self.lock_share, 4), cause=self.cause)
        return data


def remedy(facts: dict, kind: str, where: str, cause: str,
           python: tuple | None = None,
           uses: frozenset = frozenset()) -> _remedies.Remedy:
    """What to do about one contended object: the first row of the
    remedies table (_remedies.ROWS, shown in docs/guide.md: "Find what
    contends") that fits it."""
    return _remedies.choose(facts, kind, where, cause, python, uses=uses)


@dataclass
class Report:
    """What a sampling run found: `entries` ranked by their estimated cost
    (Entry.estimate), those whose cost is small last."""
    entries: list[Entry]
    seconds: float
    sweeps: int
    candidates: int
    notes: list
    interpreter: str = field(default_factory=interpreter)
    threshold: float = THRESHOLD
    # The threads' time per second of the window (_cost.threads_time): ~2
    # for two busy threads; the estimates are shares of it.
    threads: float = 0.0

    def top(self, n: int = 10) -> list[Entry]:
        """The first n entries listed (above the threshold), in rank
        order: the costly ones, then those below the line."""
        return [entry for entry in self.entries
                if entry.score >= self.threshold
                and entry.events >= MIN_EVENTS][:n]

    def to_dict(self, n: int | None = None) -> dict:
        entries = self.top(n) if n is not None else self.entries
        return {"interpreter": self.interpreter,
                "seconds": round(self.seconds, 3), "sweeps": self.sweeps,
                "candidates": self.candidates, "threshold": self.threshold,
                "threads": round(self.threads, 3),
                "notes": list(self.notes),
                "entries": [entry.to_dict() for entry in entries]}

    @classmethod
    def from_dict(cls, data: dict) -> Report:
        """The Report that to_dict() (or a JSON file written by -o) holds;
        the entries' derived fields (shares, cause) are recomputed."""
        names = {name for name in Entry.__dataclass_fields__}
        entries = [Entry(**{key: value for key, value in entry.items()
                            if key in names})
                   for entry in data.get("entries", [])]
        return cls(entries=entries, seconds=data.get("seconds", 0.0),
                   sweeps=data.get("sweeps", 0),
                   candidates=data.get("candidates", 0),
                   notes=list(data.get("notes", [])),
                   interpreter=data.get("interpreter", "?"),
                   threshold=data.get("threshold", THRESHOLD),
                   threads=data.get("threads", 0.0))

    @classmethod
    def load(cls, path: str) -> Report:
        """A report written with -o / write_json."""
        with open(path, encoding="utf-8") as file:
            return cls.from_dict(json.load(file))

    def compare(self, before: Report) -> list:
        """What changed since `before` (a run before a remedy was applied):
        [((type, where), status)] with status "gone", "halved", "lower",
        "unchanged", "higher" or "new"; entries are matched by type and
        place, since ids differ between runs."""
        return _compare.compare(before, self)

    def format_comparison(self, before: Report) -> str:
        """compare(before) as text, with each entry's estimate (or, for a
        report without estimates, share) before and after."""
        return _compare.format_comparison(before, self)

    def to_json(self, n: int | None = None) -> str:
        return json.dumps(self.to_dict(n), indent=2)

    def write_json(self, path: str, n: int | None = None) -> None:
        """Write to_json(n) to `path` whole or not at all: into a new file
        in the same folder, then renamed over `path`.  A path that is not a
        regular file (a link, /dev/stderr, a pipe) is written through, as
        open() would: renaming over it would replace the link or device."""
        text = self.to_json(n) + "\n"
        if os.path.lexists(path) and not (
                os.path.isfile(path) and not os.path.islink(path)):
            with open(path, "w", encoding="utf-8") as file:
                file.write(text)
            return
        folder, name = os.path.split(os.path.abspath(path))
        for attempt in range(100):
            temporary = os.path.join(
                folder, f".{name}.{os.getpid()}.{attempt}.tmp")
            try:
                # The mode as open() would make it (0o666 less the umask).
                fd = os.open(temporary,
                             os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                break
            except FileExistsError:
                continue
        else:
            raise FileExistsError(f"no free temporary name in {folder}")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(temporary, path)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise

    def format(self, n: int = 10) -> str:
        rate = self.sweeps / self.seconds if self.seconds else 0.0
        lines = [f"threadhandle.contention on {self.interpreter}: "
                 f"{self.seconds:.1f} s sampled, {self.sweeps} sweeps "
                 f"({rate:,.0f}/s) over {self.candidates:,} candidates"]
        lines += [f"note: {note}" for note in self.notes]
        top = self.top(n)
        if not top:
            lines.append(f"no object above the threshold ({self.threshold:.1%}"
                         " of sweeps with refcount traffic or threads "
                         "waiting for the lock, "
                         f"at least {MIN_EVENTS} times)")
            return "\n".join(lines)
        whose = _cost.threads_text(self.threads)
        lines.append(f"{'#':>2} {'cost':>5} {'refcount':>8} {'lock':>6}  "
                     "object")
        # A group's remedy is shown at its first entry; the others say so.
        first = {}
        for rank, entry in enumerate(top, 1):
            first.setdefault(entry.group, rank)
        below = False
        for rank, entry in enumerate(top, 1):
            if entry.small and not below:
                below = True
                lines.append(f"{'-' * 8} below the line: estimated cost under "
                             f"{_cost.SMALL:.0%} of {whose} time (or "
                             f"unknown) {'-' * 8}")
            lines.append(f"{rank:>2} {_cost.percent(entry.estimate):>5} "
                         f"{entry.refcount_share:>8.1%} "
                         f"{entry.lock_share:>6.1%}  {entry.type} "
                         f"{entry.repr}")
            lines.append(f"{'':>25}at: {entry.where}")
            if not entry.small:
                lines.append(f"{'':>25}cost: {_cost.percent(entry.estimate)}"
                             f" of {whose} time ({_rate(entry)})")
            lines += [f"{'':>25}line: {_lines.format_line(line)}"
                      for line in entry.lines]
            if entry.group and first[entry.group] < rank:
                lines.append(f"{'':>25}do: one cause with "
                             f"#{first[entry.group]} ({entry.group}): its "
                             "remedy names this too")
            else:
                lines.append(f"{'':>25}do: {entry.remedy}")
        lines.append(f"cost: estimated share of {whose} time (their CPU "
                     f"time less the finder's: {self.threads:.1f} s a "
                     "second) that contention on the object costs, from how "
                     "fast its shared count changes and the time threads "
                     "spend parked on its lock; rough (within 2-3x)")
        lines.append("refcount: share of sweeps in which the object's shared "
                     "reference count changed; lock: share in which threads "
                     "waited for its lock")
        if any(entry.lines for entry in top):
            lines.append("line: a line of the threads' code that uses the "
                         "object by name, with its share of the sampled "
                         "stacks on such lines")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def _rate(entry: Entry) -> str:
    """How fast its count changes and how often threads wait, in words."""
    parts = []
    if entry.burst_seconds:
        parts.append(f"its count changes ~{_count(entry.change_rate)}/s")
    if entry.lock_held:
        parts.append(f"threads wait for its lock {entry.lock_share:.0%} of "
                     "the time")
    return "; ".join(parts) or "no burst reached it"


def _count(rate: float) -> str:
    for factor, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if rate >= factor:
            return f"{rate / factor:.3g}{unit}"
    return f"{rate:.0f}"
