"""The finder's report: ranked entries, each with where the object lives
and the remedy decided from what the object is and the interpreter."""

from __future__ import annotations

import gc
import json
import sys
import sysconfig
from dataclasses import asdict, dataclass, field

# An entry is listed when at least this share of the sweeps saw its
# refcount change, or its lock held, and that happened at least MIN_EVENTS
# times: a thread that ends, or a collection, moves many counts once.
THRESHOLD = 0.01
MIN_EVENTS = 10

FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
HAS_DEFERRED = FREE_THREADED and sys.version_info >= (3, 14)
# 3.15 turns deferred counting on for a module global (GC-tracked) once a
# thread that does not own it reads it by name (gh-132657).
DEFERS_GLOBALS = FREE_THREADED and sys.version_info >= (3, 15)
# Py_TPFLAGS_HEAPTYPE
_HEAPTYPE = 1 << 9
# A deferred object's count, as sys.getrefcount reads it, is above this.
_DEFERRED_COUNT = 1 << 59


def interpreter() -> str:
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return version + ("t" if FREE_THREADED else "")


@dataclass
class Facts:
    """What the remedy depends on, read while the object was alive."""
    type_name: str
    type_module: str
    gc_tracked: bool
    deferred: bool
    is_c_type: bool          # a type object made by a C extension
    c_module: str            # that extension's module

    @classmethod
    def of(cls, obj: object) -> "Facts":
        kind = type(obj)
        is_type = isinstance(obj, type)
        c_module = ""
        if is_type:
            module = sys.modules.get(getattr(obj, "__module__", "") or "")
            source = getattr(module, "__file__", "") or ""
            if not source.endswith(".py"):
                c_module = getattr(obj, "__module__", "") or "?"
        return cls(
            type_name=kind.__qualname__,
            type_module=getattr(kind, "__module__", "") or "",
            gc_tracked=gc.is_tracked(obj),
            deferred=HAS_DEFERRED and sys.getrefcount(obj) > _DEFERRED_COUNT,
            is_c_type=bool(c_module),
            c_module=c_module,
        )


@dataclass
class Entry:
    """One object that showed contention."""
    type: str
    repr: str
    where: str
    kind: str                # how `where` reached it: global, attr, item,
    #                          key, local, cell, member, unknown
    sweeps: int
    refcount_changes: int
    lock_held: int
    remedy: str
    facts: dict = field(default_factory=dict)
    # id() of the object: meaningful while the object lives (tools that
    # hold it, such as the benchmark's ground truth, compare it).
    id: int = 0

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
    def events(self) -> int:
        return self.refcount_changes + self.lock_held

    @property
    def cause(self) -> str:
        """'lock' when the lock was held in THRESHOLD of the sweeps or
        more (threads then wait for each other whatever the count does),
        else 'refcount'."""
        return "lock" if self.lock_share >= THRESHOLD else "refcount"

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(refcount_share=round(self.refcount_share, 4),
                    lock_share=round(self.lock_share, 4), cause=self.cause)
        return data


def remedy(facts: Facts, kind: str, lock_share: float) -> str:
    """What to do about one contended object (docs/guide.md: "Find what
    contends").  Whether it lives long is the user's knowledge: the
    remedies that suit only long-lived objects say so."""
    if lock_share >= THRESHOLD:
        return ("lock held: threads write it at once, and no handle helps; "
                "give each thread its own object and merge, or write less "
                "often")
    if facts.is_c_type:
        return (f"the type object of a C extension ({facts.c_module}), "
                "counted by each instance made: nothing in Python helps; "
                "make fewer instances, or reuse them")
    if kind == "key" and facts.type_name == "str":
        return ("a dict key made at run time, counted by each lookup: "
                "intern the keys (sys.intern) where they are made")
    immortal = ("; or threadhandle.immortalize(obj) if it lives as long as "
                "the program (it is then never freed)")
    if kind in ("attr", "item") and not facts.gc_tracked:
        return ("a value read from a shared object: read it once per "
                "thread into a local, or keep per-thread copies" + immortal)
    if not facts.gc_tracked:
        return ("not tracked by the GC: a ThreadHandle per thread "
                "(local_handle(obj) where it is used)" + immortal)
    by_name = DEFERS_GLOBALS and kind == "global"
    if facts.deferred:
        return ("deferred already" + (
                    " (the interpreter defers a module global other threads"
                    " read by name)" if by_name else "")
                + ", so C code counts it (a method taken by C, a buffer, an "
                "operand): a ThreadHandle per thread, or local_handle(obj)")
    if HAS_DEFERRED:
        return (("the interpreter defers a module global other threads "
                 "read by name, and they reach this one otherwise (an "
                 "argument, a closure, an attribute): " if by_name else "")
                + "if it lives long, threadhandle.enable_deferred_refcount"
                "(obj) once (it is then freed by the GC, not at its last "
                "reference); else a ThreadHandle per thread")
    return ("a ThreadHandle per thread (local_handle(obj) where it is "
            "used); 3.13 has no deferred reference counting")


@dataclass
class Report:
    """What a sampling run found: `entries` ranked by contention."""
    entries: list
    seconds: float
    sweeps: int
    candidates: int
    notes: list
    interpreter: str = field(default_factory=interpreter)
    threshold: float = THRESHOLD

    def top(self, n: int = 10) -> list:
        """The n most contended entries above the threshold."""
        return [entry for entry in self.entries
                if entry.score >= self.threshold
                and entry.events >= MIN_EVENTS][:n]

    def to_dict(self, n: int | None = None) -> dict:
        entries = self.top(n) if n is not None else self.entries
        return {"interpreter": self.interpreter,
                "seconds": round(self.seconds, 3), "sweeps": self.sweeps,
                "candidates": self.candidates, "threshold": self.threshold,
                "notes": list(self.notes),
                "entries": [entry.to_dict() for entry in entries]}

    def to_json(self, n: int | None = None) -> str:
        return json.dumps(self.to_dict(n), indent=2)

    def format(self, n: int = 10) -> str:
        rate = self.sweeps / self.seconds if self.seconds else 0.0
        lines = [f"threadhandle.contention on {self.interpreter}: "
                 f"{self.seconds:.1f} s sampled, {self.sweeps} sweeps "
                 f"({rate:,.0f}/s) over {self.candidates:,} candidates"]
        lines += [f"note: {note}" for note in self.notes]
        top = self.top(n)
        if not top:
            lines.append(f"no object above the threshold ({self.threshold:.1%}"
                         " of sweeps with refcount traffic or the lock held, "
                         f"at least {MIN_EVENTS} times)")
            return "\n".join(lines)
        lines.append(f"{'#':>2} {'refcount':>8} {'lock':>6}  object")
        for rank, entry in enumerate(top, 1):
            lines.append(f"{rank:>2} {entry.refcount_share:>8.1%} "
                         f"{entry.lock_share:>6.1%}  {entry.type} "
                         f"{entry.repr}")
            lines.append(f"{'':>19}at: {entry.where}")
            lines.append(f"{'':>19}do: {entry.remedy}")
        lines.append("refcount: share of sweeps in which the object's shared "
                     "reference count changed; lock: share in which its "
                     "lock was held")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()
