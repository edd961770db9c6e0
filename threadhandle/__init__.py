"""threadhandle: a thread-local proxy for shared objects in free-threaded
CPython.  See ``ThreadHandle``."""

from threadhandle._threadhandle import ThreadHandle, unwrap

__version__ = "0.1.0"
__all__ = ["ThreadHandle", "unwrap", "__version__"]
