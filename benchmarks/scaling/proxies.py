"""The proxies (columns of the table): how the loop gets at the objects.

PROXIES is the registry, in column order; load_proxies() imports (or, for
the slot floor, builds) what each one needs.  why_not_run() is the one test
of whether a workload runs with a proxy; prepare() does what a column needs
done to a case's objects before the threads start.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .workloads import Workload

BENCHMARKS_DIR = Path(__file__).resolve().parent.parent
FLOOR_SOURCE = BENCHMARKS_DIR / "floor_proxy.c"
BUILD_DIR = BENCHMARKS_DIR / ".build"


@dataclass(frozen=True)
class Proxy:
    """One column: a way for each thread's loop to reach the objects."""
    key: str
    label: str
    # One line for --help.
    description: str
    # "global": the loop reads module globals; "deferred": the same, after
    # wrapper(obj) (enable_deferred_refcount) was called on each object;
    # "immortal": the same, after wrapper(obj) (immortalize) was called on
    # each object and on the values it holds (attributes, dict values);
    # "own": local variables holding objects that each thread makes itself
    # with the workload's factory; "local": local variables holding the
    # shared objects; "wrap": local variables holding wrapper(obj), made in
    # the thread.
    binding: str
    # Returns (wrapper, version, why unavailable); None: nothing to load.
    loader: Callable[[bool], tuple] | None = None
    wrapper: Callable | None = None
    version: str = ""
    unavailable: str = ""  # why the proxy cannot run; empty when it can


def distribution_version(*names: str) -> str:
    from importlib import metadata
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return ""


def import_wrapper(module_name: str, attribute: str, distributions: tuple,
                   find_version: bool = True) -> tuple:
    """Return (wrapper, version, why unavailable) for one proxy class."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        return None, "", f"not installed ({exc})"
    except Exception as exc:  # a broken build must not stop the benchmark
        return None, "", f"import failed ({type(exc).__name__}: {exc})"
    wrapper = getattr(module, attribute, None)
    if wrapper is None:
        return None, "", f"not available ({module_name} has no {attribute})"
    if not find_version:
        return wrapper, "", ""
    version = (distribution_version(*distributions)
               or str(getattr(sys.modules[module_name.split(".")[0]],
                              "__version__", "")))
    return wrapper, version, ""


def peer(module_name: str, attribute: str,
         *distributions: str) -> Callable[[bool], tuple]:
    """The loader of a proxy class that a package provides."""
    def load(find_version: bool) -> tuple:
        return import_wrapper(module_name, attribute, distributions,
                              find_version)
    return load


def floor_build_path(suffix: str, ldshared: str, ccshared: str) -> Path:
    """Where the floor proxy built for this interpreter with these compiler
    settings is kept: interpreters with the same suffix (a ThreadSanitizer
    build of 3.14t and a plain one) cannot load each other's builds."""
    import hashlib
    key = hashlib.sha256(
        "\0".join([os.path.realpath(sys.executable), ldshared, ccshared])
        .encode()).hexdigest()[:12]
    return BUILD_DIR / f"floor_proxy-{key}{suffix}"


def build_floor_proxy(find_version: bool = True) -> tuple:
    """Compile floor_proxy.c for this interpreter (once; cached under
    benchmarks/.build/) and return (FloorProxy, where it came from, why
    unavailable), as import_wrapper() does for the peers.  (`find_version`
    is the loaders' common parameter; there is no version to find.)"""
    import importlib.util
    import shlex
    import subprocess
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    ldshared = sysconfig.get_config_var("LDSHARED")
    if not suffix or not ldshared:
        return None, "", "not built (no C compiler settings in sysconfig)"
    ccshared = sysconfig.get_config_var("CCSHARED") or ""
    target = floor_build_path(suffix, ldshared, ccshared)
    if (not target.exists()
            or target.stat().st_mtime < FLOOR_SOURCE.stat().st_mtime):
        BUILD_DIR.mkdir(parents=True, exist_ok=True)
        # Built under a name of its own, then renamed: two benchmarks
        # starting at once never load a half-written file.
        partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        command = (shlex.split(ldshared)
                   + shlex.split(ccshared)
                   + ["-O2", "-I", sysconfig.get_path("include"),
                      str(FLOOR_SOURCE), "-o", str(partial)])
        try:
            result = subprocess.run(command, capture_output=True, text=True)
        except OSError as exc:
            return None, "", f"not built ({exc})"
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines() or ["?"]
            first = next((line for line in lines if "error" in line),
                         lines[-1])
            return None, "", f"not built ({first.strip()})"
        os.replace(partial, target)
    spec = importlib.util.spec_from_file_location("floor_proxy", target)
    try:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except Exception as exc:
        return None, "", f"import failed ({type(exc).__name__}: {exc})"
    return module.FloorProxy, f"built from {FLOOR_SOURCE.name}", ""


def load_enable_deferred_refcount(find_version: bool) -> tuple:
    """threadhandle.enable_deferred_refcount, as import_wrapper() returns
    a proxy class: 'not available' if this threadhandle has none."""
    enable, version, unavailable = import_wrapper(
        "threadhandle", "enable_deferred_refcount", ("threadhandle",),
        find_version)
    return enable, version and f"from threadhandle {version}", unavailable


def load_immortalize(find_version: bool) -> tuple:
    """threadhandle.immortalize, as import_wrapper() returns a proxy class:
    'not available' if this threadhandle has none."""
    immortalize, version, unavailable = import_wrapper(
        "threadhandle", "immortalize", ("threadhandle",), find_version)
    return immortalize, version and f"from threadhandle {version}", unavailable


PROXIES = (
    Proxy("global", "plain global",
          "the loop reads the objects from module globals", "global"),
    Proxy("deferred", "global, deferred",
          "the same, after threadhandle.enable_deferred_refcount(obj)",
          "deferred", load_enable_deferred_refcount),
    Proxy("immortal", "global, immortal",
          "the same, after threadhandle.immortalize(obj) and of its values",
          "immortal", load_immortalize),
    Proxy("own", "own copy",
          "each thread makes its own objects with the workload's factory",
          "own"),
    Proxy("local", "plain local",
          "the objects are bound to local variables first", "local"),
    Proxy("threadhandle", "ThreadHandle",
          "threadhandle.ThreadHandle(obj), made in each thread", "wrap",
          peer("threadhandle", "ThreadHandle", "threadhandle")),
    Proxy("cereggii", "cereggii.ThreadHandle",
          "the same idea from the cereggii package", "wrap",
          peer("cereggii", "ThreadHandle", "cereggii")),
    Proxy("ft_utils", "ft_utils LocalWrapper",
          "ft_utils.local.LocalWrapper(obj), made in each thread", "wrap",
          peer("ft_utils.local", "LocalWrapper", "ft-utils", "ft_utils")),
    Proxy("floor", "slot floor",
          "benchmarks/floor_proxy.c: calls the object's slot, nothing else",
          "wrap", build_floor_proxy),
)


def load_proxies(only: tuple | None = None,
                 find_versions: bool | None = None) -> tuple:
    """All proxies, loaded or with the reason they are unavailable, and
    threadhandle.local_handle (None if it does not import).

    With `only` (proxy keys), load just those proxies (the headline's; a
    callgrind child's, which counts every instruction of its start-up);
    their versions are looked up if `find_versions`, by default only when
    all are loaded.
    """
    if find_versions is None:
        find_versions = only is None
    proxies = []
    for proxy in PROXIES:
        if proxy.loader is None:
            proxies.append(proxy)
        elif only is not None and proxy.key not in only:
            proxies.append(dataclasses.replace(proxy,
                                               unavailable="not loaded"))
        else:
            wrapper, version, unavailable = proxy.loader(find_versions)
            proxies.append(dataclasses.replace(
                proxy, wrapper=wrapper, version=version,
                unavailable=unavailable))
    local_handle = None
    if "threadhandle" in sys.modules:
        local_handle = getattr(sys.modules["threadhandle"], "local_handle",
                               None)
    return proxies, local_handle


def why_not_run(workload: Workload, proxy: Proxy) -> str:
    """'' when `workload` runs with `proxy`; else what its cell says
    instead of a number: '-' (not a combination this workload has), or
    'not installed', 'not built', ... (the proxy could not be loaded)."""
    if workload.proxies is not None and proxy.key not in workload.proxies:
        return "-"
    if proxy.unavailable:
        return proxy.unavailable.split(" (")[0]
    return ""


# Py_TPFLAGS_HAVE_GC: deferred reference counting needs a GC-tracked type.
HAVE_GC = 1 << 14


def why_not_deferred(obj: object) -> str:
    """Why enable_deferred_refcount(obj) returned False."""
    if (not sysconfig.get_config_var("Py_GIL_DISABLED")
            or sys.version_info < (3, 14)):
        return "the interpreter has no deferred reference counting"
    if not type(obj).__flags__ & HAVE_GC:
        return f"{type(obj).__name__} is not GC-tracked"
    return "it was on already, or the interpreter declined"


def held_values(obj: object) -> list:
    """The values obj holds directly: a dict's values, an instance's
    attributes (what the immortal column makes immortal with the object).

    An instance's are found with gc.get_referents (its class left out),
    not obj.__dict__: asking for __dict__ makes CPython build a dict for an
    instance that kept its attributes inline, and reading them is slower
    from then on (p.x: 17 ns before, 42 ns after, on 3.14t)."""
    if type(obj) is dict:
        return list(obj.values())
    if not type(obj).__dictoffset__:
        return []
    import gc
    return [value for value in gc.get_referents(obj)
            if not isinstance(value, type)]


def make_immortal(immortalize: Callable, name: str, obj: object) -> list:
    """immortalize(obj) and of each value it holds; notes on what was not
    made immortal, and why."""
    notes = []
    for what, value in [(name, obj)] + [(f"a value of {name}", v)
                                         for v in held_values(obj)]:
        try:
            done = immortalize(value)
        except (TypeError, ValueError) as exc:
            notes.append(f"{what} not made immortal: {exc}")
            continue
        if not done:
            notes.append(f"{what} not made immortal: this interpreter "
                         "cannot (a GIL build, or threadhandle built "
                         "without CPython internals)")
    return notes


def prepare(workload: Workload, proxy: Proxy, shared: dict) -> tuple:
    """Prepare the objects a case shares, in the main thread: in the
    deferred column, and in every column of a workload with defer_shared
    but the immortal one, enable_deferred_refcount(obj) for each; in the
    immortal column, immortalize(obj) for each and for the values it holds.

    Returns ({name: whether enable_deferred_refcount took effect} for the
    deferred column, notes on the case for its cell's footnote).  An object
    the factory returns every time (math.sqrt) is the same in every column:
    it is not changed (that would change the other columns too), and it is
    not a copy in the own copy column.
    """
    enable = None
    if proxy.binding == "deferred":
        enable = proxy.wrapper
    elif proxy.binding == "immortal":
        pass
    elif workload.defer_shared and proxy.binding != "own":
        enable, _, unavailable = load_enable_deferred_refcount(False)
        if enable is None:
            return {}, [f"deferred refcount not applied: {unavailable}"]
    elif proxy.binding != "own":
        return {}, []
    again = workload.make_objects()
    same = [name for name in shared if again[name] is shared[name]]
    if proxy.binding == "own":
        return {}, [f"{name} is the same object in every thread (the "
                    f"factory returns it, it cannot copy it)"
                    for name in same]
    applied, notes = {}, []
    for name, obj in shared.items():
        if name in same:
            applied[name] = False
            why = ("it is the same object in every column (the factory "
                   "returns it) and would change them all")
        elif enable is None:
            notes += make_immortal(proxy.wrapper, name, obj)
            continue
        else:
            applied[name] = bool(enable(obj))
            why = "" if applied[name] else why_not_deferred(obj)
        if why:
            what = "deferred refcount" if enable else "immortality"
            notes.append(f"{what} not applied to {name}: {why}")
    # Only deferred reference counting records what its function returned.
    return (applied if enable else {}), notes
