"""Per-thread handles: ``local_handle(obj)`` gives the calling thread its own
``ThreadHandle`` of ``obj``, made on the first call and reused afterwards.

Each thread keeps its handles in a dict of its own, keyed by ``id()`` of the
handled object and kept in the thread's state, so that finding a cached
handle touches nothing another thread uses (the code is in local.c).  The
cached handle holds the object alive, so no other object can be given that
id while the entry exists, and a key can never name the wrong object.

Because the cached handle holds its object, an object stays alive while any
thread has it cached.  Entries are dropped:

* when their thread ends (CPython clears the thread's state);
* by ``release_local_handle(obj)`` (this thread's entry for ``obj``) and
  ``clear_local_handles()`` (all of this thread's entries);
* when a thread caches more than ``MAX_HANDLES_PER_THREAD`` objects: the
  oldest entry is dropped first.  A dropped handle stays valid for whoever
  holds it; the next ``local_handle()`` call just makes a new one.

``MAX_HANDLES_PER_THREAD = 0`` turns the handle table off (every call makes
a new handle).  Keep the limit in the hundreds or thousands: finding the oldest
entry costs more the more entries were dropped since the dict last
resized.  A handle asked for while a thread ends (by the finalizer of an
entry, or of an object in the thread's context or a ``threading.local``) or
during interpreter shutdown is not cached.  (On 3.11 built without
internals, only once the thread has cached a handle: see docs/guide.md.)

An entry cannot be dropped "when the object dies": while it is cached, the
handle table itself keeps it alive.  ``local_handle`` is meant for
long-lived shared objects (tables, models, configuration); for short-lived
ones make a ``ThreadHandle`` directly, or release the entry when done.
"""
from threadhandle._threadhandle import (
    clear_local_handles,
    local_handle,
    release_local_handle,
)

__all__ = ["local_handle", "release_local_handle", "clear_local_handles",
           "MAX_HANDLES_PER_THREAD"]

# Read whenever a thread caches a new handle, so it may be changed at run
# time; a thread that holds more entries drops its oldest ones first.
MAX_HANDLES_PER_THREAD = 256
