"""The remedies the suite applies, by name.

A remedy is applied to one shared object (a name of the program's SHARED)
in one of two places: in the main thread on the shared objects before any
thread starts (deferral, immortality), or in each thread on its namespace
(a handle per thread, or a code change the program defines as
remedy_<name>).  A joint remedy is a list of such parts.

  handle          each thread uses ThreadHandle(obj) in place of obj
  local_handle    each thread uses local_handle(obj) (its cached handle)
  deferred        enable_deferred_refcount(obj) on each object (3.14t+)
  immortal        immortalize(obj) on each object
  immortal_values immortalize the object and the values it holds (a dict's
                  values, a list's items, an instance's attribute values)
  values          immortalize the values it holds, not the object (the part
                  of a joint remedy, with deferred on the object)
  deferred_values enable_deferred_refcount on the values it holds (with
                  deferred on the object: a dict held as an attribute)
  intern          sys.intern(obj) for each str object, rebound in place
  <other>         the program's remedy_<other>(mine, main): bind once per
                  thread, read once into a local, intern the keys, ...
"""

from __future__ import annotations

import sys
import sysconfig

FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
HAS_DEFERRED = FREE_THREADED and sys.version_info >= (3, 14)

# Applied in the main thread, on the shared objects.
MAIN_SIDE = ("deferred", "immortal", "immortal_values", "values",
             "deferred_values")
# Applied in each thread, to a module global of the program.
THREAD_SIDE = ("handle", "local_handle", "intern")
GENERIC = MAIN_SIDE + THREAD_SIDE


class RemedyUnavailable(Exception):
    """The remedy cannot be applied on this interpreter (or to this)."""


def why_unavailable(remedy: str) -> str:
    """Why a generic remedy cannot run here ('' if it can)."""
    if remedy in ("deferred", "deferred_values") and not HAS_DEFERRED:
        return "deferred reference counting needs free-threaded 3.14+"
    if remedy in ("immortal", "immortal_values", "values"):
        try:
            from threadhandle import immortalize  # noqa: F401
        except ImportError as exc:
            return f"threadhandle: {exc}"
    return ""


def held_values(obj) -> list:
    """The values an object holds directly: what immortal_values also
    makes immortal."""
    if isinstance(obj, dict):
        return list(obj.values())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return list(obj)
    # An instance's attribute values, without reading its __dict__: that
    # would make CPython build a dict for an instance that keeps its
    # values inline, and change how every thread reads them.
    import gc
    return [value for value in gc.get_referents(obj)
            if value is not type(obj)]


def apply_main(remedy: str, objects: tuple) -> list:
    """Apply a main-side remedy to the shared objects; returns notes
    (objects where it had no effect or was refused)."""
    import threadhandle
    notes = []
    for obj in objects:
        targets = [] if remedy in ("values", "deferred_values") else [obj]
        if remedy in ("immortal_values", "values", "deferred_values"):
            targets += held_values(obj)
        for target in targets:
            what = type(target).__name__
            try:
                if remedy in ("deferred", "deferred_values"):
                    done = threadhandle.enable_deferred_refcount(target)
                else:
                    done = threadhandle.immortalize(target)
            except (TypeError, ValueError) as exc:
                notes.append(f"{remedy} refused a {what}: {exc}")
                continue
            if not done:
                notes.append(f"{remedy} had no effect on a {what}")
    return notes


def apply_thread(remedy: str, name: str, mine: dict, main: dict) -> None:
    """Apply a thread-side generic remedy to the global `name`."""
    if name not in main:
        raise RemedyUnavailable(f"{remedy} applies to a module global; "
                                f"{name!r} is not one")
    if remedy == "handle":
        from threadhandle import ThreadHandle
        mine[name] = ThreadHandle(main[name])
    elif remedy == "local_handle":
        from threadhandle import local_handle
        mine[name] = local_handle(main[name])
    elif remedy == "intern":
        mine[name] = sys.intern(main[name])
    else:
        raise AssertionError(remedy)
