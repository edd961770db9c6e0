"""threadhandle: a thread-local proxy for shared objects in free-threaded
CPython.  See ``ThreadHandle``, and ``local_handle`` for a per-thread handle
made on first use."""

try:
    from threadhandle._threadhandle import (
        ThreadHandle,
        enable_deferred_refcount,
        immortalize,
        unwrap,
    )
except ModuleNotFoundError as exc:
    import os as _os
    _here = _os.path.dirname(_os.path.abspath(__file__))
    if exc.name != "threadhandle._threadhandle" or not _os.path.exists(
            _os.path.join(_here, "_threadhandle.pyx")):
        raise
    # Python found the source tree before the installed package: the
    # current folder (or the script's) is a clone of threadhandle.
    raise ModuleNotFoundError(
        f"No module named 'threadhandle._threadhandle': threadhandle was "
        f"imported from its source tree ({_here}), which has no built "
        "extension, and it hides the installed package. Run from another "
        "folder, or with python -P (the current folder is not put on "
        "sys.path), or build it in place: pip install -e .",
        name=exc.name) from None
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
