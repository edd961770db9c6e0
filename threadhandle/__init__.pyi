from threadhandle._threadhandle import ThreadHandle as ThreadHandle
from threadhandle._threadhandle import unwrap as unwrap
from threadhandle._threadhandle import (
    enable_deferred_refcount as enable_deferred_refcount,
)
from threadhandle._threadhandle import immortalize as immortalize
from threadhandle.local import clear_local_handles as clear_local_handles
from threadhandle.local import local_handle as local_handle
from threadhandle.local import release_local_handle as release_local_handle

__version__: str
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
