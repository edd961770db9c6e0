"""Where in the code: the lines of the program's threads that use each
entry's object, so that the user knows which line to change.

How: while the finder samples, its loop reads the Python stacks of the
process's threads about every tick with CPython's ``_remote_debugging``
module (3.14+), which copies them out of the process's memory with
process_vm_readv: the threads are not stopped, no frame object is made or
read from this thread (reading another thread's frames would race with it,
and sys._current_frames() stops the world at each call and calls the
program's audit hooks), and none of the program's code runs.  Only the
program's frames are kept (not the standard library's, site-packages' or
threadhandle's); a thread whose innermost Python frame is the finder's is
the finder's and is skipped.  At the end, each sampled stack is given to an
entry at its innermost program frame whose line's bytecode loads or stores
the entry's name (the last name of its place: ``PRICES`` for
``__main__.PRICES``, ``x`` for ``__main__.POINT.x``, the cell's or local's
name) and the name before it (``POINT``) if any sampled line uses both,
read with ``dis`` from the source file compiled again (compiling runs
nothing).

Limits: by name, not by object (a line that loads another object of the
same name counts too; a line that reaches the object by another name, or
through a default argument, does not); a file changed since it was
imported, or code without a source file, gives no line; not on 3.13 (no
``_remote_debugging``).  The share of a line is among the samples on lines
that use the object, not of the threads' time.
"""

from __future__ import annotations

import dis
import os
import re
import time
import tokenize
import types
from collections import Counter

from threadhandle.contention._graph import _library_path

try:  # CPython 3.14+
    import _remote_debugging
except ImportError:
    _remote_debugging = None

# The ids of _remote_debugging's types: each read makes instances of them
# (FrameInfo, ThreadInfo), from the finder's thread, which moves their
# shared counts; the finder must not report its own traffic.
OWN_IDS = frozenset(
    id(value) for value in vars(_remote_debugging).values()
    if type(value) is type) if _remote_debugging is not None else frozenset()

# Lines shown per entry, and the samples a line needs to be shown.
MAX_LINES = 3
MIN_SAMPLES = 2
# Program frames kept per sampled stack (innermost first), distinct stacks
# kept in all (then only those seen already are counted).
MAX_DEPTH = 16
MAX_STACKS = 20_000
# The share of one core that reading the stacks may take: a slower read is
# made less often.
BUDGET = 0.02
# Reads that fail in a row before the finder gives up reading stacks.
MAX_FAILURES = 20

# The folders of threadhandle's and the finder's files.
_FINDER = os.path.dirname(os.path.abspath(__file__)) + os.sep
_THREADHANDLE = os.path.dirname(_FINDER.rstrip(os.sep)) + os.sep

# Instructions that take, drop or replace a reference to what a name holds.
_NAMED = {"LOAD_GLOBAL", "LOAD_NAME", "LOAD_ATTR", "LOAD_METHOD",
          "LOAD_SUPER_ATTR", "LOAD_DEREF", "LOAD_CLASSDEREF",
          "LOAD_FROM_DICT_OR_DEREF", "LOAD_FROM_DICT_OR_GLOBALS",
          "IMPORT_FROM", "STORE_GLOBAL", "STORE_NAME", "STORE_ATTR",
          "STORE_DEREF", "DELETE_GLOBAL", "DELETE_NAME", "DELETE_ATTR",
          "DELETE_DEREF"}


def available() -> bool:
    return _remote_debugging is not None


def _uses_names(opname: str) -> bool:
    return opname in _NAMED or opname.startswith(("LOAD_FAST", "STORE_FAST"))


class Stacks:
    """The program's threads' stacks sampled during a run: a count per
    stack of program frames ((file, line, function), innermost first)."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.samples = 0          # thread stacks counted
        self.reads = 0            # reads of all threads' stacks
        self.seconds = 0.0        # spent reading them
        self.note = ""            # why there are no lines, if so
        self._unwinder = None
        self._failures = 0
        self._next = 0.0
        self._program: dict = {}  # file -> whether it is the program's
        self._strings: dict = {}  # one copy of each file and function name

    def start(self) -> None:
        if _remote_debugging is None:
            self.note = ("the lines of code that use each object need "
                         "Python 3.14 or later (_remote_debugging)")
            return
        try:
            self._unwinder = _remote_debugging.RemoteUnwinder(
                os.getpid(), all_threads=True)
        except Exception as exc:  # noqa: BLE001 - e.g. no process_vm_readv
            self.note = ("the lines of code that use each object are not "
                         f"known: cannot read the threads' stacks ({exc})")

    def take(self) -> None:
        """Count the threads' stacks now, unless the last reads' cost asks
        to wait (BUDGET)."""
        if self._unwinder is None:
            return
        now = time.monotonic()
        if now < self._next:
            return
        try:
            self._count(self._unwinder.get_stack_trace())
        except Exception as exc:  # noqa: BLE001 - a stack changed meanwhile
            self._failures += 1
            if self._failures >= MAX_FAILURES:
                self._unwinder = None
                self.note = ("the lines of code are from the first "
                             f"{self.reads} reads of the threads' stacks "
                             f"only: reading them failed "
                             f"({type(exc).__name__}: {exc})")
            return
        self._failures = 0
        cost = time.monotonic() - now
        self.reads += 1
        self.seconds += cost
        self._next = now + cost / BUDGET

    def _count(self, threads) -> None:
        for thread in _thread_infos(threads):
            stack = self._program_stack(thread.frame_info)
            if not stack:
                continue
            self.samples += 1
            if stack in self.counts or len(self.counts) < MAX_STACKS:
                self.counts[stack] += 1

    def _program_stack(self, frames) -> tuple:
        kept = []
        for depth, frame in enumerate(frames):
            path = frame.filename
            if depth == 0 and path.startswith(_FINDER):
                return ()          # a thread of the finder's, or its caller
            program = self._program.get(path)
            if program is None:
                program = self._program[path] = _is_program_file(path)
            if not program:
                continue
            line = getattr(frame, "lineno", None)
            if line is None:       # 3.15: a LocationInfo
                location = frame.location
                line = location.lineno if location is not None else None
            if type(line) is not int or line < 1:
                continue
            strings = self._strings
            kept.append((strings.setdefault(path, path), line,
                         strings.setdefault(frame.funcname, frame.funcname)))
            if len(kept) >= MAX_DEPTH:
                break
        return tuple(kept)


def _thread_infos(found):
    """The ThreadInfos of get_stack_trace(): a list of them on 3.14, a list
    of InterpreterInfos holding them on 3.15."""
    for item in found:
        threads = getattr(item, "threads", None)
        if threads is None:
            yield item
        else:
            yield from threads


def _is_program_file(path: str) -> bool:
    return bool(path) and not path.startswith("<") and not _library_path(
        path) and not path.startswith(_THREADHANDLE)


# --------------------------------------------------------------------------
# Which names a line uses
# --------------------------------------------------------------------------

def _code_objects(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if type(const) is types.CodeType:
            yield from _code_objects(const)


def names_by_line(path: str) -> dict:
    """{line: frozenset of the names its bytecode loads or stores} for the
    source file at path, compiled again; {} if it cannot be read."""
    if not os.path.isfile(path):   # a FIFO would block the read
        return {}
    try:
        with tokenize.open(path) as file:
            source = file.read()
        module = compile(source, path, "exec", dont_inherit=True)
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return {}
    lines: dict = {}
    for code in _code_objects(module):
        for instruction in dis.get_instructions(code):
            if not _uses_names(instruction.opname):
                continue
            positions = instruction.positions
            line = positions.lineno if positions is not None else None
            if line is None:
                continue
            value = instruction.argval
            for name in (value if type(value) is tuple else (value,)):
                if type(name) is str:
                    lines.setdefault(line, set()).add(name)
    return {line: frozenset(names) for line, names in lines.items()}


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SUBSCRIPT = re.compile(r"\[[^\[\]]*\]")
_CELL = re.compile(r"closure cell (\w+) of ")
_ARGUMENT = re.compile(r"argument ([A-Za-z_]\w*) of ")
_LOCAL = re.compile(r"\S+\(\) \S+:\d+ (\w+)( \(thread |$)")


def place_names(where: str, kind: str) -> list:
    """The names along an entry's place by which the threads' code reaches
    its object, the last one last: [__main__, POINT, x] for
    __main__.POINT.x, [__main__, TABLE] for __main__.TABLE[5], a cell's or
    a local's name alone; [] when the place names none."""
    for pattern in (_CELL, _ARGUMENT, _LOCAL):
        found = pattern.match(where)
        if found:
            return [found.group(1)]
    if kind in ("cache", "unknown", "argument"):
        return []
    for prefix in ("a key of ", "an item of "):
        if where.startswith(prefix):
            where = where[len(prefix):]
    path = where
    while True:   # nested subscripts, innermost first
        shorter = _SUBSCRIPT.sub("", path)
        if shorter == path:
            break
        path = shorter
    return _IDENTIFIER.findall(path)


def object_name(where: str, kind: str) -> str:
    """The name the lines must use: the last of place_names ("" if
    none)."""
    names = place_names(where, kind)
    return names[-1] if names else ""


# --------------------------------------------------------------------------
# Lines per entry
# --------------------------------------------------------------------------

class Lines:
    """The names each line of the program's files uses, each file
    compiled once."""

    def __init__(self) -> None:
        self._files: dict = {}

    def names(self, path: str, line: int) -> frozenset:
        names = self._files.get(path)
        if names is None:
            names = self._files[path] = names_by_line(path)
        return names.get(line, frozenset())

    def names_on(self, entry_lines: list) -> frozenset:
        """The names an entry's lines use (what they call: memoryview)."""
        found: set = set()
        for line in entry_lines:
            found |= self.names(line["file"], line["line"])
        return frozenset(found)


def _hits(stacks: Stacks, lines: Lines, wanted: set) -> Counter:
    """Samples per frame: each stack's innermost frame whose line uses
    every name in wanted."""
    hits: Counter = Counter()
    for stack, count in stacks.counts.items():
        for frame in stack:
            if wanted <= lines.names(frame[0], frame[1]):
                hits[frame] += count
                break
    return hits


def attribute(entries: list, stacks: Stacks) -> Lines:
    """Set each entry's `lines`: the program lines that use its object,
    the most sampled first (at most MAX_LINES), each a dict with file,
    line, function, samples and share (of the samples given to the
    entry).  Lines that use the name with the name before it in the place
    (POINT and x for __main__.POINT.x) are taken if the samples have any,
    else those that use the name.  Returns the Lines it read."""
    lines = Lines()
    if not stacks.counts:
        return lines
    for entry in entries:
        names = place_names(entry.where, entry.kind)
        if not names:
            continue
        hits = _hits(stacks, lines, set(names[-2:])) if len(
            names) > 1 else Counter()
        if not hits:
            hits = _hits(stacks, lines, {names[-1]})
        total = sum(hits.values())
        entry.lines = [
            {"file": path, "line": line, "function": function,
             "samples": count, "share": round(count / total, 4)}
            for (path, line, function), count in hits.most_common(MAX_LINES)
            if count >= MIN_SAMPLES]
    return lines


def shown_path(path: str) -> str:
    """A file's path as the report shows it: relative to the current
    folder when inside it."""
    try:
        relative = os.path.relpath(path)
    except (OSError, ValueError):   # no current folder, another drive
        return path
    return path if relative.startswith(os.pardir) else relative


def format_line(line: dict) -> str:
    """One of an entry's lines as the text report shows it."""
    if type(line) is not dict:     # a report file written by hand
        return str(line)
    return (f"{shown_path(str(line.get('file', '?')))}:{line.get('line', '?')}"
            f" ({line.get('function', '?')}), "
            f"{float(line.get('share', 0.0)):.0%} of samples")
