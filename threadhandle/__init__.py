"""threadhandle: a thread-local proxy for shared objects in free-threaded
CPython.  See ``ThreadHandle``, and ``local_handle`` for a per-thread handle
made on first use."""

from threadhandle._threadhandle import (
    ThreadHandle,
    enable_deferred_refcount,
    immortalize,
    unwrap,
)
from threadhandle.local import (
    clear_local_handles,
    local_handle,
    release_local_handle,
)

__version__ = "0.1.0"
__all__ = [
    "ThreadHandle",
    "unwrap",
    "local_handle",
    "release_local_handle",
    "clear_local_handles",
    "enable_deferred_refcount",
    "immortalize",
    "__version__",
]
