# Types of the compiled module.  A handle behaves exactly like the object it
# handles, so to a type checker ThreadHandle(obj) has obj's own type.
#
# __new__ returns _T: pyright, and mypy from 2.2, take that as the type of
# ThreadHandle(obj).  Older mypy ignores a __new__ that does not return an
# instance of its class and types the call as ThreadHandle[T]; the Any base
# then makes such a value usable as anything (no false errors, no checks).
from typing import Any, Generic, TypeVar, final, type_check_only

_T = TypeVar("_T")

@final
class ThreadHandle(Any, Generic[_T]):  # type: ignore[misc]
    """ThreadHandle(obj): a thread-local handle of ``obj``; typed as it."""

    def __new__(cls, obj: _T, /) -> _T: ...  # type: ignore[misc]

def unwrap(x: _T, /) -> _T: ...
def local_handle(obj: _T, /) -> _T: ...
def release_local_handle(obj: object, /) -> bool: ...
def clear_local_handles() -> None: ...
def enable_deferred_refcount(obj: object, /) -> bool:
    """Turn on deferred reference counting for ``obj`` (free-threaded 3.14+,
    GC-tracked objects); True if this call turned it on.  The object is then
    freed by the cyclic garbage collector, not at its last reference."""

def immortalize(obj: object, /) -> bool:
    """Make ``obj`` immortal (free-threaded builds): its reference count is
    never changed again and it is never freed.  True if it is immortal
    after the call; False where this interpreter cannot do it.  Call it in
    the thread that made ``obj``, before other threads can reach it
    (ValueError where its header shows otherwise; TypeError for a str)."""

_INLINE_VALUES: bool
_THREAD_END_HOOK: bool
_SET_IMMORTAL: bool
_CAN_IMMORTALIZE: bool

def _thread_handles() -> dict[int, Any]: ...
def _attr_cache_names(h: object, /) -> list[str]: ...
def _check_forward_slots(cls: type, /) -> None: ...

# The contention finder's sampler (contention/_sampler.c);
# threadhandle.contention drives it.  Its records are structseqs (tuples
# with named fields); the classes are not importable (stub-only names).
_SAMPLER_AVAILABLE: bool

@type_check_only
class _SamplerCounts(tuple[Any, ...]):
    @property
    def sweeps(self) -> int: ...
    @property
    def changes(self) -> list[int]: ...
    @property
    def locked(self) -> list[int]: ...
    @property
    def burst_changes(self) -> list[int]: ...
    @property
    def burst_seconds(self) -> list[float]: ...

@type_check_only
class _SamplerStats(tuple[Any, ...]):
    @property
    def sweeps(self) -> int: ...
    @property
    def busy_seconds(self) -> float: ...
    @property
    def candidates(self) -> int: ...

class _Sampler:
    def __init__(self, duty: float, max_rate: float, /) -> None: ...
    def start(self) -> None: ...
    def swap(
        self, objects: tuple[object, ...] | None, /
    ) -> _SamplerCounts | None: ...
    def resume(self) -> None: ...
    def stats(self) -> _SamplerStats: ...
    def stop(self) -> None: ...

def _is_immortal(obj: object, /) -> bool: ...
