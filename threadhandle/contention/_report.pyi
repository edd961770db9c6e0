# Types of the finder's report (_report.py), so that a type checker knows
# what Report.top() returns.  tests/test_typing.py checks that the fields
# and public methods here are the module's.
from dataclasses import dataclass
from typing import Any

from threadhandle.contention import _remedies

THRESHOLD: float
MIN_EVENTS: int
FREE_THREADED: bool
HAS_DEFERRED: bool

def interpreter() -> str: ...

@dataclass
class Facts:
    type_name: str
    type_module: str
    gc_tracked: bool
    deferred: bool
    is_c_type: bool
    c_module: str
    shape: str = ""
    is_class: bool = False
    c_name: str = ""
    runtime_keys: int = 0
    library_cache: bool = False
    @classmethod
    def of(cls, obj: object, where: str = "") -> Facts: ...
    def to_dict(self) -> dict[str, Any]: ...

@dataclass
class Entry:
    """One object that showed contention."""

    type: str
    repr: str
    where: str
    kind: str
    sweeps: int
    refcount_changes: int
    lock_held: int
    remedy: str
    facts: dict[str, Any] = ...
    id: int = 0
    remedy_name: str = ""
    container_id: int = 0
    group: str = ""
    @property
    def refcount_share(self) -> float: ...
    @property
    def lock_share(self) -> float: ...
    @property
    def score(self) -> float: ...
    @property
    def events(self) -> int: ...
    @property
    def cause(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...

def remedy(
    facts: dict[str, Any],
    kind: str,
    where: str,
    cause: str,
    python: tuple[int, ...] | None = None,
) -> _remedies.Remedy: ...

@dataclass
class Report:
    """What a sampling run found: `entries` ranked by contention."""

    entries: list[Entry]
    seconds: float
    sweeps: int
    candidates: int
    notes: list[str]
    interpreter: str = ...
    threshold: float = ...
    def top(self, n: int = 10) -> list[Entry]: ...
    def to_dict(self, n: int | None = None) -> dict[str, Any]: ...
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report: ...
    @classmethod
    def load(cls, path: str) -> Report: ...
    def compare(self, before: Report) -> list[tuple[tuple[str, str], str]]: ...
    def format_comparison(self, before: Report) -> str: ...
    def to_json(self, n: int | None = None) -> str: ...
    def write_json(self, path: str, n: int | None = None) -> None: ...
    def format(self, n: int = 10) -> str: ...
