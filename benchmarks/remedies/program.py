"""A program of the suite: one file in programs/, run as a module would be.

A program file is plain Python that keeps its objects where a real program
keeps them (module globals, closures, attributes, library caches) and
declares, at module level:

  CATEGORY  the issue's category (containers, numpy, regex, ...)
  SHARED    {name: getter or None}: the objects the threads share.  None:
            `name` is a module global, the object itself.  A getter(ns)
            returns the objects (a tuple): for a name that is not a global
            (the float values of an instance, a library cache's entry), or
            a global together with what comes with it (a closure's cell).
  REMEDIES  ["remedy:name", ...]; a joint remedy joins its parts with "+"
            ("deferred:P+immortal:P values").
  work(n)   what each thread runs: n operations; returns a value that
            depends on nothing but n (compared across variants by tests).
optionally:
  REQUIRES  modules that must import (numpy): else the program is skipped.
  share(mine, main, own)  binds the thread's namespace `mine` to the
            shared one `main`, except the names in `own`; needed when
            SHARED has getters (the default rebinds the globals); raises
            NotOwnable for a set of names that cannot be owned alone.
  OWN_COPY  {name: copy(obj)}: how a thread makes its own copy of the
            shared global when executing the source again does not make
            one (re.compile and struct's cache return the same object).
  remedy_<r>(mine, main)  a remedy that is a code change (bind once per
            thread, read once into a local, intern the keys): it edits
            the thread's namespace, usually to run another work function.

Every thread executes the program's source into a namespace of its own
(its own copies of everything), then share() puts the shared objects in
it.  The source is compiled per thread, so no two threads share a code
object or a globals dict: specialised bytecode never flips between two
threads' globals, and the only difference between variants is which
objects are shared.
"""

from __future__ import annotations

import importlib
import itertools
import sys
import threading
import types
from dataclasses import dataclass, field
from pathlib import Path

PROGRAMS_DIR = Path(__file__).resolve().parent / "programs"
_NAMES = itertools.count()
_NAMES_LOCK = threading.Lock()


class NotOwnable(Exception):
    """This set of objects cannot be given own copies alone."""


@dataclass
class Program:
    key: str              # the file's name without .py
    path: Path
    source: str
    title: str            # the docstring's first line
    category: str
    shared: dict          # name -> getter or None
    remedies: list        # [[(remedy, name), ...], ...]
    requires: tuple = ()
    # The namespace of one execution, read for the declarations.
    declarations: dict = field(default_factory=dict, repr=False)

    def instance(self, keep: bool = False) -> dict:
        """A fresh execution of the program: its own objects.  It runs as
        a module of its own, in sys.modules while it executes (dataclass
        looks its module up there) and, with `keep`, until forget() (so
        that the finder sees the shared objects as a module's globals, as
        in a real program)."""
        with _NAMES_LOCK:
            # The shared instance gets the program's name (what the
            # finder's "where" shows), unless another holds it.
            name = self.key
            if not keep or name in sys.modules:
                name = f"{self.key}_{next(_NAMES)}"
            module = types.ModuleType(name)
            sys.modules[name] = module
        module.__file__ = str(self.path)
        module.NotOwnable = NotOwnable
        try:
            exec(compile(self.source, str(self.path), "exec"),
                 module.__dict__)
        finally:
            if not keep:
                del sys.modules[name]
        return module.__dict__

    @staticmethod
    def forget(namespace: dict) -> None:
        """Take a kept instance out of sys.modules."""
        with _NAMES_LOCK:
            sys.modules.pop(namespace["__name__"], None)

    def objects(self, namespace: dict, name: str) -> tuple:
        """The objects `name` stands for in this namespace."""
        getter = self.shared[name]
        if getter is None:
            return (namespace[name],)
        return tuple(getter(namespace))

    def share(self, mine: dict, main: dict, own: frozenset) -> None:
        """Make `mine` use main's objects, except those named in `own`."""
        custom = mine.get("share")
        if callable(custom):
            custom(mine, main, own)
            return
        own_copy = mine.get("OWN_COPY", {})
        for name in self.shared:
            is_global = name in main
            if name in own:
                if name in own_copy:
                    mine[name] = own_copy[name](main[name])
                elif not is_global and own == {name}:
                    raise NotOwnable(f"{name!r} is not a module global; "
                                     "the program defines no share()")
                # Else: the thread's own execution made its own (or, for
                # what cannot be owned, such as a type, the one there is).
            elif is_global:
                mine[name] = main[name]

    def custom_remedy(self, namespace: dict, remedy: str):
        return namespace.get(f"remedy_{remedy}")

    def missing(self) -> str:
        """Why the program cannot run here ('' if it can)."""
        for module in self.requires:
            try:
                importlib.import_module(module)
            except ImportError:
                return f"{module} is not installed"
        return ""


def parse_remedy(text: str) -> list:
    """'deferred:P+immortal:P values' -> [('deferred', 'P'), ...]."""
    parts = []
    for part in text.split("+"):
        remedy, sep, name = part.strip().partition(":")
        if not sep or not remedy or not name:
            raise ValueError(f"not remedy:name: {part!r}")
        parts.append((remedy, name))
    return parts


def remedy_label(parts: list) -> str:
    return "+".join(f"{remedy}:{name}" for remedy, name in parts)


def load(path: Path) -> Program:
    source = path.read_text()
    # Declarations are read from an execution in a scratch namespace
    # without running work(); a program whose REQUIRES are missing is
    # read without executing it (its imports would fail).
    requires = _requires(source)
    program = Program(key=path.stem, path=path, source=source, title="",
                      category="", shared={}, remedies=[],
                      requires=requires)
    if program.missing():
        program.title = _docstring_title(source)
        return program
    namespace = program.instance()
    program.declarations = namespace
    program.title = (namespace.get("__doc__") or "").strip().splitlines()[0]
    program.category = namespace["CATEGORY"]
    program.shared = dict(namespace["SHARED"])
    program.remedies = [parse_remedy(text) for text in namespace["REMEDIES"]]
    for parts in program.remedies:
        for _, name in parts:
            if name not in program.shared:
                raise ValueError(f"{program.key}: remedy names {name!r}, "
                                 "which SHARED does not declare")
    return program


def _requires(source: str) -> tuple:
    import ast
    for node in ast.parse(source).body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], "id", None) == "REQUIRES"):
            return tuple(ast.literal_eval(node.value))
    return ()


def _docstring_title(source: str) -> str:
    import ast
    doc = ast.get_docstring(ast.parse(source)) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def all_programs() -> list:
    """Every program file, in file-name order (numbered by category)."""
    return [load(path) for path in sorted(PROGRAMS_DIR.glob("*.py"))
            if not path.name.startswith("_")]
