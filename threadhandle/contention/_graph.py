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
import sys
import threading
import types
from collections import deque
from itertools import islice

from threadhandle._threadhandle import _is_immortal
from threadhandle.contention import _peek
from threadhandle.contention._peek import (
    MAX_ITEMS, Layouts, items, name_text, safe_repr as short_repr, str_item)

_HERE = os.path.dirname(os.path.abspath(__file__))


def _ours(code: types.CodeType) -> bool:
    """Whether a code object is the finder's own (its frames are skipped)."""
    return code.co_filename.startswith(_HERE)


def _thread_fields(thread, layouts: Layouts) -> list:
    """A Thread's instance attributes (a subclass may make its properties
    out of them: they are read raw)."""
    try:
        return _peek.instance_attributes(thread, layouts)
    except Exception:  # noqa: BLE001 - an odd Thread subclass: skip it
        return []


def _threads(layouts: Layouts) -> list:
    """[(ident, name, fields)] of the threads threading knows."""
    found = []
    for thread in threading.enumerate():
        fields = _thread_fields(thread, layouts)
        ident = str_item(fields, "_ident")
        name = str_item(fields, "_name")
        found.append((ident, name if type(name) is str else "?", fields))
    return found


# What frame.f_locals is for a function's frame (3.13+: a proxy in C).
_FRAME_LOCALS = type((lambda: sys._getframe().f_locals)())


def frame_locals(frame: types.FrameType) -> list:
    """[(name, value)] of a frame's locals; [] for a class body whose
    namespace is the program's own mapping (reading it runs its code)."""
    mapping = frame.f_locals
    if type(mapping) is _FRAME_LOCALS:
        return list(mapping.items())
    return items(mapping) if _peek.has_base(type(mapping), dict) else []


def thread_frames(skip_threads: set) -> list:
    """[(frame, thread name)] whose locals can be read safely: the frames
    of the calling thread outside the finder (see the module's
    docstring)."""
    ident = threading.get_ident()
    if ident in skip_threads:
        return []
    name = "?"
    for thread_ident, thread_name, _ in _threads(Layouts()):
        if type(thread_ident) is int and thread_ident == ident:
            name = thread_name
    frames = []
    frame = sys._getframe()
    while frame is not None:
        if not _ours(frame.f_code):
            frames.append((frame, name))
        frame = frame.f_back
    return frames


def thread_targets(skip_threads: set):
    """(value, text) for the arguments and closure cells of the targets of
    the running threads but the finder's, read without running the
    program's code."""
    layouts = Layouts()
    for ident, thread_name, fields in _threads(layouts):
        if type(ident) is int and ident in skip_threads:
            continue
        target = str_item(fields, "_target")
        if target is None:
            continue
        try:
            name = _peek.callable_name(target)
        except Exception:  # noqa: BLE001 - e.g. a freed descriptor
            name = "?"
        where = f"{name}() (thread {thread_name})"
        arguments = str_item(fields, "_args")
        if type(arguments) is tuple or type(arguments) is list:
            for index, value in enumerate(arguments):
                yield value, f"argument {index} of {where}"
        keywords = str_item(fields, "_kwargs")
        if type(keywords) is dict:
            for key, value in items(keywords):
                yield value, f"argument {name_text(key)} of {where}"
        if type(target) is types.MethodType:
            target = _peek._method_function(target)
        if type(target) is types.FunctionType:
            for cell_name, value in _peek.function_cells(target):
                yield value, f"closure cell {cell_name} of {where}"


def _skipped_module(name: str) -> bool:
    return name.startswith("threadhandle.contention")


def _library_path(path: str) -> bool:
    return (not path or "site-packages" in path
            or path.startswith(sys.base_prefix)
            or path.startswith(sys.prefix))


def modules() -> list:
    """[(name, module, attributes, library)] of sys.modules but the
    finder's own: __main__ first, then the program's own modules, then the
    standard library and site-packages (the cap cuts the last ones first).
    `attributes` are the module dict's [(key, value)], read raw (reading a
    LazyLoader module's attribute would load it); `library` whether it is
    of the last group.  Entries of sys.modules that are not modules have
    no attributes (and are library)."""
    rows = []
    for name, module in items(sys.modules):
        if type(name) is not str or module is None or _skipped_module(name):
            continue
        attributes = []
        path = ""
        if _peek.is_module(module):
            try:
                attributes = items(_peek.module_dict(module))
            except Exception:  # noqa: BLE001 - a module without a dict
                attributes = []
            path = str_item(attributes, "__file__")
            path = path if type(path) is str else ""
        order = 0 if name == "__main__" else 2 if _library_path(path) else 1
        rows.append((order, name, module, attributes))
    rows.sort(key=lambda row: (row[0], row[1]))
    return [(name, module, attributes, order >= 2)
            for order, name, module, attributes in rows]


def _own_module_ids() -> set:
    """The finder's modules: never walked."""
    return {id(module) for name, module in items(sys.modules)
            if type(name) is str and _skipped_module(name)}


def gather(cap: int, exclude: set, skip_threads: set) -> tuple:
    """(candidates as a tuple, whether the cap cut them): objects reachable
    from the modules and the readable frames, breadth first, without the
    immortal ones and without those in `exclude` (ids; nothing is
    traversed through them)."""
    seen = set(exclude) | _own_module_ids()
    # The program's roots first (its modules, the calling thread's frames,
    # the threads' targets), the library's modules last: within a level of
    # the walk, the cap cuts what comes last.
    program, library = [], []
    for _, module, _, in_library in modules():
        (library if in_library else program).append(module)
    level = program
    for frame, _ in thread_frames(skip_threads):
        level.extend(value for _, value in frame_locals(frame))
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

def _frame_text(frame: types.FrameType) -> str:
    code = frame.f_code
    return (f"{code.co_name}() {os.path.basename(code.co_filename)}:"
            f"{frame.f_lineno}")


# A place: (text, kind, container).  kind: "global" (a module attribute),
# "attr", "item", "key" (a dict's key), "local", "cell", "argument" (of a
# thread's target), "member" (of a set), "cache" (a C cache's entry, see
# _referrer_place), "unknown".  container: the object it was
# read from (for "attr", "item" and "key").

def _edges(obj: object, path: str, layouts: Layouts):
    """(child, text, kind) for the named references of obj, read without
    running the program's code (see _peek)."""
    shape = layouts.of(type(obj)).shape
    if shape == "dict":
        for key, value in items(obj)[:MAX_ITEMS]:
            yield value, f"{path}[{short_repr(key)}]", "item"
            yield key, f"a key of {path}", "key"
    elif shape == "list" or shape == "tuple":
        base = list if shape == "list" else tuple
        for index, value in enumerate(islice(base.__iter__(obj), MAX_ITEMS)):
            yield value, f"{path}[{index}]", "item"
    elif shape == "set" or shape == "frozenset":
        base = set if shape == "set" else frozenset
        for value in list(islice(base.__iter__(obj), MAX_ITEMS)):
            yield value, f"an item of {path}", "member"
    elif shape == "function":
        for name, value in _peek.function_cells(obj):
            yield value, f"closure cell {name} of {path}", "cell"
    elif shape == "module":
        for name, value in items(_peek.module_dict(obj)):
            yield value, f"{path}.{name_text(name)}", "global"
    elif shape == "type":
        for name, value in _peek.type_items(obj):
            yield value, f"{path}.{name_text(name)}", "attr"
    else:
        for name, value in _peek.instance_attributes(obj, layouts):
            yield value, f"{path}.{name_text(name)}", "attr"


def find_places(targets: dict, skip_threads: set, exclude: set,
                max_nodes: int = 300_000) -> dict:
    """{id: (text, kind, container)} for the objects of `targets` (id ->
    object) reached by name from the modules and the readable frames,
    breadth first (the shortest name wins)."""
    places: dict = {}
    seen = set(exclude) | _own_module_ids()
    layouts = Layouts()
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
    for name, module, attributes, in_library in modules():
        seen.add(id(module))
        queue = library if in_library else program
        if not attributes:
            text = f"sys.modules[{short_repr(name)}]"
            reached(module, (text, "item", sys.modules))
            queue.append((module, text))
        for attribute, value in attributes:
            text = f"{name}.{name_text(attribute)}"
            reached(value, (text, "global", module))
            queue.append((value, text))
    for frame, thread in thread_frames(skip_threads):
        if frame.f_code.co_name == "<module>":
            continue
        where = _frame_text(frame)
        for name, value in frame_locals(frame):
            name = name_text(name)
            reached(value, (f"{where} {name} (thread {thread})", "local",
                            None))
            program.append((value, f"{where} {name}"))
    for value, text in thread_targets(skip_threads):
        kind = "cell" if text.startswith("closure") else "argument"
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
                edges = list(_edges(obj, path, layouts))
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


# The text of a place inside a cache that no name reaches (a C module's
# state, a functools.lru_cache); in_library_cache knows it.
IN_CACHE = "in the cache of "


def _cache_owner(mapping: dict, exclude: set) -> str:
    """What keeps `mapping` (a dict) as its cache where no name reaches it:
    a module's C state (_struct's cache) or a functools.lru_cache
    wrapper; "" if neither."""
    for owner in gc.get_referrers(mapping):
        if id(owner) in exclude:
            continue
        kind = type(owner)
        if _peek.is_module(owner) and _peek.module_dict(owner) is not mapping:
            name = str_item(items(_peek.module_dict(owner)), "__name__")
            return f"the {name_text(name)} module (its C state)"
        if _peek.type_name(kind) == "_lru_cache_wrapper":
            return "a functools.lru_cache function (its cached results)"
    return ""


def _referrer_place(obj: object, exclude: set) -> tuple:
    """A weaker answer when no name reaches obj: the cache that holds it,
    or what refers to it."""
    referrers = [ref for ref in gc.get_referrers(obj)
                 if id(ref) not in exclude
                 and type(ref) is not types.FrameType]
    if not referrers:
        return ("not reached by name (held by C code?)", "unknown", None)
    for ref in referrers:
        # A module's globals (the modules walk names what is in them, not
        # the dict itself), named by the dict's own __name__ entry, read
        # without comparing another key (its __eq__ is the program's).
        if (issubclass(type(ref), types.ModuleType)
                and _peek.module_dict(ref) is obj):
            name = _peek.str_item(_peek.items(obj), "__name__")
            if type(name) is str:
                return (f"{name}.__dict__", "attr", ref)
    for ref in [ref for ref in referrers if type(ref) is dict][:3]:
        owner = _cache_owner(ref, exclude | {id(referrers)})
        if owner:
            return (IN_CACHE + owner, "cache", ref)
    kinds = sorted({_peek.type_name(type(ref)) for ref in referrers[:20]})
    return (f"not reached by name; referred to by {len(referrers)} "
            f"object(s): {', '.join(kinds)}", "unknown", None)


def in_library_cache(where: str) -> bool:
    """Whether a place's text names something inside a cache of the
    standard library's or site-packages' modules ("re._cache2[...]"): the
    module is the longest loaded module name the text starts with."""
    if where.startswith(IN_CACHE):
        return True
    if "cache" not in where.lower():
        return False         # most places: no walk of the modules
    found = ""
    for name, _, _, in_library in modules():
        if in_library and where.startswith(name + ".") and len(name) > len(
                found):
            found = name
    return bool(found) and "cache" in where[len(found):].lower()
