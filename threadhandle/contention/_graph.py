"""The object graph the finder looks at: the candidates (every object
reachable from the modules and the threads' frames), and where an object
lives, in the words a user would write to reach it.

Frames: only the calling thread's own frames are read.  Another thread's
frame may be rebinding a local while we read it (even a frame that was not
its innermost when we looked may be by the time we read it), and reading it
from this thread could take a reference to a value being freed:
ThreadSanitizer reports that race.  What another thread works on is still
reached through its Thread object: the arguments and the closure cells of
its target."""

from __future__ import annotations

import gc
import os
import reprlib
import sys
import threading
import types
from collections import deque

from threadhandle._threadhandle import _is_immortal

_HERE = os.path.dirname(os.path.abspath(__file__))


def _ours(code: types.CodeType) -> bool:
    """Whether a code object is the finder's own (its frames are skipped)."""
    return code.co_filename.startswith(_HERE)


def thread_frames(skip_threads: set) -> list:
    """[(frame, thread name)] whose locals can be read safely: the frames
    of the calling thread outside the finder (see the module's
    docstring)."""
    if threading.get_ident() in skip_threads:
        return []     # before current_thread(): see contention._OWN_THREADS
    me = threading.current_thread()
    frames = []
    frame = sys._getframe()
    while frame is not None:
        if not _ours(frame.f_code):
            frames.append((frame, me.name))
        frame = frame.f_back
    return frames


def thread_targets(skip_threads: set):
    """(value, text) for the arguments and closure cells of the targets of
    the running threads but the finder's."""
    for thread in threading.enumerate():
        if thread.ident in skip_threads:
            continue
        target = getattr(thread, "_target", None)
        if target is None:
            continue
        name = getattr(target, "__qualname__", None) or repr(target)
        where = f"{name}() (thread {thread.name})"
        for index, value in enumerate(getattr(thread, "_args", ()) or ()):
            yield value, f"argument {index} of {where}"
        for key, value in dict(getattr(thread, "_kwargs", {}) or {}).items():
            yield value, f"argument {key} of {where}"
        function = getattr(target, "__func__", target)
        closure = getattr(function, "__closure__", None) or ()
        code = getattr(function, "__code__", None)
        for cell_name, cell in zip(getattr(code, "co_freevars", ()), closure):
            try:
                yield cell.cell_contents, f"closure cell {cell_name} of {where}"
            except ValueError:
                continue


def _module_order(name: str) -> tuple:
    """__main__ first, then the program's own modules, then the standard
    library and site-packages: the cap cuts the last ones first."""
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None) or ""
    if name == "__main__":
        return (0, name)
    if name.startswith(("threadhandle.contention",)):
        return (9, name)
    library = (not path or "site-packages" in path
               or path.startswith(sys.base_prefix)
               or path.startswith(sys.prefix))
    return (2 if library else 1, name)


def _skipped_module(name: str) -> bool:
    return name.startswith("threadhandle.contention")


def gather(cap: int, exclude: set, skip_threads: set) -> tuple:
    """(candidates as a tuple, whether the cap cut them): objects reachable
    from the modules and the readable frames, breadth first, without the
    immortal ones and without those in `exclude` (ids; nothing is
    traversed through them)."""
    seen = set(exclude)
    # The program's roots first (its modules, the calling thread's frames,
    # the threads' targets), the library's modules last: within a level of
    # the walk, the cap cuts what comes last.
    program, library = [], []
    for name in sorted(list(sys.modules), key=_module_order):
        module = sys.modules.get(name)
        if module is not None and not _skipped_module(name):
            (library if _module_order(name)[0] >= 2 else program).append(
                module)
    level = program
    for frame, _ in thread_frames(skip_threads):
        level.extend(frame.f_locals.values())
    level.extend(value for value, _ in thread_targets(skip_threads))
    level.extend(library)
    found = []
    cut = False
    # Level by level, with one gc.get_referents call per level: on
    # free-threaded builds each call stops the world.
    while level and not cut:
        expand = []
        for obj in level:
            key = id(obj)
            if key in seen:
                continue
            seen.add(key)
            if isinstance(obj, types.ModuleType) and _skipped_module(
                    getattr(obj, "__name__", "") or ""):
                continue
            if not _is_immortal(obj):
                if len(found) >= cap:
                    cut = True
                    break
                found.append(obj)
            expand.append(obj)
        level = gc.get_referents(*expand) if not cut else []
        expand.clear()
    level = None
    return tuple(found), cut


# --------------------------------------------------------------------------
# Where an object lives
# --------------------------------------------------------------------------

_repr = reprlib.Repr()
_repr.maxstring = 40
_repr.maxother = 40
_repr.maxlevel = 2


def short_repr(obj: object) -> str:
    try:
        text = _repr.repr(obj)
    except Exception as exc:  # noqa: BLE001 - a repr may raise anything
        text = f"<{type(obj).__name__} (repr raised {type(exc).__name__})>"
    return text if len(text) <= 60 else text[:57] + "..."


def _key_text(key: object) -> str:
    return short_repr(key)


def _frame_text(frame: types.FrameType) -> str:
    code = frame.f_code
    return (f"{code.co_name}() {os.path.basename(code.co_filename)}:"
            f"{frame.f_lineno}")


# A place: (text, kind, container).  kind: "global" (a module attribute),
# "attr", "item", "key" (a dict's key), "local", "cell", "member" (of a
# set).  container: the object it was read from (for "attr" and "item").

def _edges(obj: object, path: str):
    """(child, text, kind) for the named references of obj."""
    if isinstance(obj, types.ModuleType):
        for name, value in list(vars(obj).items()):
            yield value, f"{path}.{name}", "global"
        return
    if isinstance(obj, dict):
        for key, value in list(obj.items())[:2000]:
            yield value, f"{path}[{_key_text(key)}]", "item"
            yield key, f"a key of {path}", "key"
        return
    if isinstance(obj, (list, tuple)):
        for index, value in enumerate(list(obj)[:2000]):
            yield value, f"{path}[{index}]", "item"
        return
    if isinstance(obj, (set, frozenset)):
        for value in list(obj)[:2000]:
            yield value, f"an item of {path}", "member"
        return
    if isinstance(obj, types.FunctionType):
        closure = obj.__closure__ or ()
        for name, cell in zip(obj.__code__.co_freevars, closure):
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            yield value, f"closure cell {name} of {path}", "cell"
        return
    if isinstance(obj, type):
        for name, value in list(vars(obj).items()):
            yield value, f"{path}.{name}", "attr"
        return
    attributes = getattr(obj, "__dict__", None)
    if isinstance(attributes, dict):
        for name, value in list(attributes.items()):
            yield value, f"{path}.{name}", "attr"
    for name in getattr(type(obj), "__slots__", ()) or ():
        if isinstance(name, str) and name not in ("__dict__", "__weakref__"):
            try:
                yield getattr(obj, name), f"{path}.{name}", "attr"
            except Exception:  # noqa: BLE001 - unset slots, odd descriptors
                pass


def find_places(targets: dict, skip_threads: set, exclude: set,
                max_nodes: int = 300_000) -> dict:
    """{id: (text, kind, container)} for the objects of `targets` (id ->
    object) reached by name from the modules and the readable frames,
    breadth first (the shortest name wins)."""
    places: dict = {}
    seen = set(exclude)
    # The program's own roots (__main__ and its modules, the calling
    # thread's frames, the threads' targets) are searched deeper first, the
    # standard library's and site-packages' modules after.
    program: deque = deque()
    library: deque = deque()

    def reached(value, place):
        if id(value) in targets and id(value) not in places:
            places[id(value)] = place

    # Depth 1 first: module attributes, then the frames' locals (a frame
    # of module code has the module's attributes as its locals).
    for name in sorted(list(sys.modules), key=_module_order):
        module = sys.modules.get(name)
        if module is None or _skipped_module(name):
            continue
        seen.add(id(module))
        queue = library if _module_order(name)[0] >= 2 else program
        for attribute, value in list(vars(module).items()):
            reached(value, (f"{name}.{attribute}", "global", module))
            queue.append((value, f"{name}.{attribute}"))
    for frame, thread in thread_frames(skip_threads):
        if frame.f_code.co_name == "<module>":
            continue
        where = _frame_text(frame)
        for name, value in list(frame.f_locals.items()):
            reached(value, (f"{where} {name} (thread {thread})", "local",
                            None))
            program.append((value, f"{where} {name}"))
    for value, text in thread_targets(skip_threads):
        kind = "cell" if text.startswith("closure") else "local"
        reached(value, (text, kind, None))
        program.append((value, text))
    for queue in (program, library):
        nodes = 0
        while queue and len(places) < len(targets) and nodes < max_nodes:
            obj, path = queue.popleft()
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            nodes += 1
            try:
                edges = list(_edges(obj, path))
            except Exception:  # noqa: BLE001 - odd objects: look elsewhere
                continue
            for child, text, kind in edges:
                key = id(child)
                if key in targets and key not in places:
                    places[key] = (text, kind, obj)
                if kind != "key" and key not in seen:
                    queue.append((child, text))
        queue.clear()
    for key, obj in targets.items():
        if key not in places:
            places[key] = _referrer_place(obj, exclude)
    return places


def _referrer_place(obj: object, exclude: set) -> tuple:
    """A weaker answer when no name reaches obj: what refers to it."""
    referrers = [ref for ref in gc.get_referrers(obj)
                 if id(ref) not in exclude
                 and not isinstance(ref, types.FrameType)]
    if not referrers:
        return ("not reached by name (held by C code?)", "unknown", None)
    kinds = sorted({type(ref).__name__ for ref in referrers[:20]})
    return (f"not reached by name; referred to by {len(referrers)} "
            f"object(s): {', '.join(kinds)}", "unknown", None)
