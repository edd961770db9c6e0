# Types of the compiled module.  A handle behaves exactly like the object it
# handles, so to a type checker ThreadHandle(obj) has obj's own type: its
# __new__ returns _T, which mypy and pyright both honour.
from typing import Generic, TypeVar, final

_T = TypeVar("_T")

@final
class ThreadHandle(Generic[_T]):
    """ThreadHandle(obj): a thread-local handle of ``obj``; typed as ``obj``."""

    # A handle is not a ThreadHandle instance to the type checker: it is
    # typed as the object it handles.
    def __new__(cls, obj: _T, /) -> _T: ...  # type: ignore[misc]

def unwrap(x: _T, /) -> _T: ...
def _cached_method_names(h: object, /) -> list[str]: ...
