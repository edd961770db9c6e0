from typing import TypeVar

_T = TypeVar("_T")

__all__ = ["local_handle", "release_local_handle", "clear_local_handles",
           "MAX_HANDLES_PER_THREAD"]

MAX_HANDLES_PER_THREAD: int

def local_handle(obj: _T, /) -> _T:
    """The calling thread's ThreadHandle of ``obj``; typed as ``obj``."""

def release_local_handle(obj: object, /) -> bool: ...
def clear_local_handles() -> None: ...
