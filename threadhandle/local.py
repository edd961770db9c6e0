"""Per-thread handles: ``local_handle(obj)`` gives the calling thread its own
``ThreadHandle`` of ``obj``, made on the first call and reused afterwards.

Each thread keeps its handles in a dict of its own (``threading.local``),
keyed by ``id()`` of the handled object.  The cached handle holds the object
alive, so no other object can be given that id while the entry exists, and a
key can never name the wrong object.

Because the cached handle holds its object, an object stays alive while any
thread has it cached.  Entries are dropped:

* when their thread ends (``threading.local`` releases the thread's dict);
* by ``release_local_handle(obj)`` (this thread's entry for ``obj``) and
  ``clear_local_handles()`` (all of this thread's entries);
* when a thread caches more than ``MAX_HANDLES_PER_THREAD`` objects: the
  oldest entry is dropped first.  A dropped handle stays valid for whoever
  holds it; the next ``local_handle()`` call just makes a new one.

An entry cannot be dropped "when the object dies": while it is cached, the
cache itself keeps it alive.  ``local_handle`` is meant for long-lived shared
objects (tables, models, configuration); for short-lived ones make a
``ThreadHandle`` directly, or release the entry when done.
"""
import threading

from threadhandle._threadhandle import ThreadHandle, unwrap

__all__ = ["local_handle", "release_local_handle", "clear_local_handles",
           "MAX_HANDLES_PER_THREAD"]

# Read whenever a thread caches a new handle, so it may be changed at run
# time; a thread that holds more entries drops its oldest ones first.
MAX_HANDLES_PER_THREAD = 256


class _ThreadHandles(threading.local):
    def __init__(self):
        # id(obj) -> ThreadHandle(obj), this thread's only.
        self.handles = {}


_per_thread = _ThreadHandles()


def local_handle(obj, /):
    """The calling thread's ``ThreadHandle`` of ``obj``: made on the first
    call from this thread, the same handle on later calls.

    A handle of a handle is the handle of the underlying object.  The handle
    keeps ``obj`` alive until the thread ends, until
    ``release_local_handle(obj)`` or ``clear_local_handles()`` is called on
    this thread, or until ``MAX_HANDLES_PER_THREAD`` newer entries push it
    out.
    """
    # The reuse path: no new reference to obj, only its id.
    try:
        return _per_thread.handles[id(obj)]
    except KeyError:
        return _new_local_handle(obj)


def _new_local_handle(obj):
    target = unwrap(obj)
    key = id(target)
    handles = _per_thread.handles
    handle = handles.get(key)
    if handle is None:
        # Evicting can run arbitrary code (a finalizer of the evicted
        # object may call local_handle), hence the loop and the re-check.
        while handles and len(handles) >= MAX_HANDLES_PER_THREAD:
            del handles[next(iter(handles))]
        handle = handles.get(key)
        if handle is None:
            handle = handles[key] = ThreadHandle(target)
    return handle


def release_local_handle(obj, /):
    """Drop the calling thread's cached handle of ``obj``, if it has one.

    Returns True if there was one.  Handles already given out stay valid.
    """
    return _per_thread.handles.pop(id(unwrap(obj)), None) is not None


def clear_local_handles():
    """Drop all the calling thread's cached handles.

    Handles already given out stay valid.
    """
    # Rebind first: finalizers run by the old entries see an empty cache.
    old, _per_thread.handles = _per_thread.handles, {}
    old.clear()
