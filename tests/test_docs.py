"""The documentation is tested with the code: README.md, CHANGELOG.md,
docs/*.md and benchmarks/results/*.md.

* Every ```python block runs, in a fresh interpreter (this one, with -P, so
  that it imports the installed threadhandle), and exits 0 within a bound.
  A block that is not meant to run has the line
  ``<!-- not run: <reason> -->`` right before its opening fence; such
  blocks must still compile, and there are few of them.
* Every relative link points to a file that exists, and a ``#anchor`` to a
  heading of that file (GitHub's anchor rules).
* docs/reference.md is what scripts/make-reference writes from the
  docstrings now, and every public name has a docstring that help() shows.
* README.md stays short (the rest belongs in docs/), and its headline
  figure is the d[5] row of docs/benchmark.md's 3.14t table, same run.

The conventions are described in docs/internals.md ("The documentation and
its tests").  Run from the repository root against the installed package
(make test); skipped when there is no docs/ folder (an installed copy of
the tests)."""
import importlib.machinery
import importlib.util
import os
import pydoc
import re
import subprocess
import sys
import tempfile

import pytest

from threadhandle import _threadhandle as core

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
RESULTS = os.path.join(ROOT, "benchmarks", "results")
MAKE_REFERENCE = os.path.join(ROOT, "scripts", "make-reference")

pytestmark = pytest.mark.skipif(
    not os.path.isdir(DOCS),
    reason="no docs/ folder (installed tests run without the source tree)")

README_MAX_LINES = 200
# Blocks marked not run, across all files: "few" (each says why).
MAX_NOT_RUN = 5
BLOCK_TIMEOUT = 120  # seconds, per block

# 3.15t built with THREADHANDLE_NO_INTERNALS: immortalize is CPython's
# PyUnstable_SetImmortal, which refuses what the docs' blocks pass (objects
# a global or a container refers to).
PUBLIC_SET_IMMORTAL = core._CAN_IMMORTALIZE and not core._SET_IMMORTAL

NOT_RUN = re.compile(r"^<!--\s*not run:\s*(.*?)\s*-->\s*$")
# An opening fence (indented inside list items too) and its language.
FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([^`\s]*)[^`]*$")


def closes(line, marker):
    stripped = line.strip()
    return stripped.startswith(marker) and not stripped.strip(marker[0])


def markdown_files():
    """README.md, CHANGELOG.md, docs/*.md and the dated results of
    benchmarks/results/*.md."""
    files = [os.path.join(ROOT, name) for name in ("README.md", "CHANGELOG.md")
             if os.path.exists(os.path.join(ROOT, name))]
    for folder in (DOCS, RESULTS):
        if os.path.isdir(folder):
            files += sorted(os.path.join(folder, name)
                            for name in os.listdir(folder)
                            if name.endswith(".md"))
    return files


def relative(path):
    return os.path.relpath(path, ROOT)


def read_lines(path):
    with open(path, encoding="utf-8") as file:
        return file.read().splitlines()


def code_blocks(path):
    """(line number of the opening fence, language, code, not-run reason
    or None) for each fenced block of a Markdown file."""
    lines = read_lines(path)
    blocks = []
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        marker, language = match.group(1), match.group(2).lower()
        start = index
        body = []
        indent = len(lines[index]) - len(lines[index].lstrip())
        index += 1
        while index < len(lines) and not closes(lines[index], marker):
            line = lines[index]
            body.append(line[indent:] if not line[:indent].strip()
                        else line.lstrip())
            index += 1
        index += 1
        previous = lines[start - 1].strip() if start > 0 else ""
        not_run = NOT_RUN.match(previous)
        blocks.append((start + 1, language, "\n".join(body) + "\n",
                       not_run.group(1) if not_run else None))
    return blocks


def prose_lines(path):
    """(line number, text) of the lines outside fenced blocks."""
    lines = read_lines(path)
    inside = None
    for number, line in enumerate(lines, 1):
        match = FENCE.match(line)
        if inside is None and match:
            inside = match.group(1)
            continue
        if inside is not None:
            if closes(line, inside):
                inside = None
            continue
        yield number, line


def python_blocks():
    for path in markdown_files():
        for line, language, code, not_run in code_blocks(path):
            if language in ("python", "py"):
                yield pytest.param(code, not_run,
                                   id=f"{relative(path)}:{line}")


@pytest.mark.parametrize("code, not_run", list(python_blocks()))
def test_python_block_runs(code, not_run, tmp_path):
    compile(code, "<block>", "exec")
    if not_run is not None:
        pytest.skip(f"marked not run: {not_run}")
    if (re.search(r"^import numpy|^from numpy", code, re.M)
            and importlib.util.find_spec("numpy") is None):
        pytest.skip("numpy is not installed here (the sanitizer builds' "
                    "venvs have no numpy)")
    if PUBLIC_SET_IMMORTAL and "immortalize(" in code:
        pytest.skip("immortalize is PyUnstable_SetImmortal in this build: it "
                    "refuses objects a global or a container refers to")
    # A file of its own: under pytest-run-parallel threads may share
    # tmp_path.
    handle, script = tempfile.mkstemp(suffix=".py", dir=tmp_path)
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(code)
    result = subprocess.run(
        [sys.executable, "-P", script], cwd=tmp_path,
        capture_output=True, text=True, timeout=BLOCK_TIMEOUT)
    assert result.returncode == 0, (
        f"the block failed:\n{code}\n--- stderr:\n{result.stderr}")


def test_not_run_marks_are_few_and_say_why():
    marked = []
    for path in markdown_files():
        blocks = {line for line, *_ in code_blocks(path)}
        for number, line in prose_lines(path):
            match = NOT_RUN.match(line.strip())
            if match:
                where = f"{relative(path)}:{number}"
                assert number + 1 in blocks, (
                    f"{where}: a not-run mark must be right before a fence")
                assert match.group(1), (
                    f"{where}: a not-run mark needs a reason")
                marked.append(where)
    assert len(marked) <= MAX_NOT_RUN, marked


def test_every_python_example_is_found():
    # The extraction itself: the README's quick start is a python block.
    readme = os.path.join(ROOT, "README.md")
    languages = [language for _, language, _, _ in code_blocks(readme)]
    assert "python" in languages


def test_readme_is_short():
    lines = read_lines(os.path.join(ROOT, "README.md"))
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines: move the details into docs/")


# --- the headline figure ------------------------------------------------

def table_cells(lines, first_cell):
    """{column header: cell} of the first table row of `lines` whose first
    cell is `first_cell`, with its table's header row."""
    header = None
    for line in lines:
        if not line.startswith("|"):
            header = None
            continue
        cells = [cell.strip().strip("*").strip()
                 for cell in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        elif cells[0] == first_cell:
            return dict(zip(header, cells))
    raise AssertionError(f"no table row {first_cell!r}")


def test_readme_headline_is_the_benchmark_headline_runs():
    """The README's figures are the service.table[5] rows of the two
    headline runs in docs/benchmark.md: pasting new runs there without
    updating the README (or the other way round) fails."""
    bench = read_lines(os.path.join(DOCS, "benchmark.md"))
    start = bench.index("## The headline: 3.15t and 3.14t")
    section = bench[start + 1:]
    section = section[:next((i for i, line in enumerate(section)
                             if line.startswith("## ")), len(section))]
    readme = read_lines(os.path.join(ROOT, "README.md"))
    rows = {
        "plain global": table_cells(readme, "shared"),
        "ThreadHandle": table_cells(
            readme, "shared, with a `ThreadHandle` per thread"),
        "own copy": table_cells(readme,
                                "each thread's own copy (nothing shared)"),
    }
    for interpreter in ("3.15.0rc2t", "3.14.7t"):
        table = section[section.index(f"CPython {interpreter}:") + 1:]
        row = table_cells(table, "`service.table[5]`")
        for column, readme_row in rows.items():
            assert readme_row[interpreter] == row[column].split()[-1], (
                interpreter, column)


# --- links ---------------------------------------------------------------

LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]+)>?"
                  r"(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")


def github_anchor(heading):
    """The anchor GitHub gives a heading: its rendered text in lower case,
    with every character but letters, digits, '_', '-' and spaces removed
    and the spaces made hyphens."""
    text = INLINE_CODE.sub(lambda match: match.group(2), heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links: text
    text = re.sub(r"<[^>]+>", "", text)                      # HTML tags
    text = text.replace("*", "")                             # emphasis
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path):
    """Every anchor a link may name in the Markdown file `path`."""
    found = set()
    counts = {}
    for _, line in prose_lines(path):
        match = HEADING.match(line)
        if match:
            anchor = github_anchor(match.group(2))
            count = counts.get(anchor, 0)
            counts[anchor] = count + 1
            found.add(anchor if count == 0 else f"{anchor}-{count}")
        found.update(HTML_ANCHOR.findall(line))
    return found


def links(path):
    """(line number, target) of every link outside code."""
    for number, line in prose_lines(path):
        for match in LINK.finditer(INLINE_CODE.sub("", line)):
            yield number, match.group(2)


def test_github_anchor_rules():
    assert github_anchor("Known differences from the object itself") == \
        "known-differences-from-the-object-itself"
    assert github_anchor("`concurrent.futures`: a handle per worker") == \
        "concurrentfutures-a-handle-per-worker"
    assert github_anchor("`local_handle(obj)`: on demand — callbacks") == \
        "local_handleobj-on-demand--callbacks"
    assert github_anchor("**Bold** [link](x.md) and 3.14t") == \
        "bold-link-and-314t"


def test_relative_links_resolve():
    broken = []
    for path in markdown_files():
        for number, target in links(path):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):   # http:, mailto:
                continue
            where = f"{relative(path)}:{number}: {target}"
            file_part, _, anchor = target.partition("#")
            linked = (os.path.normpath(os.path.join(os.path.dirname(path),
                                                    file_part))
                      if file_part else path)
            if not os.path.exists(linked):
                broken.append(f"{where} (no such file)")
            elif anchor and linked.endswith(".md"):
                if anchor not in anchors(linked):
                    broken.append(f"{where} (no such heading)")
            elif anchor:
                broken.append(f"{where} (an anchor into a non-Markdown file)")
    assert not broken, "\n".join(broken)


# --- the reference --------------------------------------------------------

def load_make_reference():
    loader = importlib.machinery.SourceFileLoader("make_reference",
                                                  MAKE_REFERENCE)
    spec = importlib.util.spec_from_loader("make_reference", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_reference_is_generated_from_the_docstrings():
    make_reference = load_make_reference()
    with open(os.path.join(DOCS, "reference.md"), encoding="utf-8") as file:
        current = file.read()
    assert current == make_reference.render(), (
        "docs/reference.md differs from the docstrings: run make reference "
        "(python -P scripts/make-reference)")


def test_reference_has_what_a_user_looks_up():
    """The generator renders what the issue asked for (issue 24): a
    dataclass's fields, methods with signatures, ThreadHandle[X], the
    constants' meaning, the CLI's --help and the .pxd API."""
    text = load_make_reference().render()
    for expected in (
            "### `threadhandle.contention.Entry`",
            "- `refcount_changes: int`",          # a field, with its type
            "#### `Report.top`",                  # a method ...
            "top(n: int = 10)",                   # ... with its signature
            "#### `ThreadHandle[X]`",
            "\nFinder(\n",                        # a signature, one
            "    cap: int = ",                    # parameter a line
            "`MAX_HANDLES_PER_THREAD = ",
            "## `python -m threadhandle.contention`",
            "usage: python -m threadhandle.contention",
            "### `threadhandle/_threadhandle.pxd`",
            "cdef class ThreadHandle:"):
        assert expected in text, expected


def test_every_public_name_has_a_docstring_help_shows():
    make_reference = load_make_reference()
    entries = make_reference.public_names()
    names = {f"{module.__name__}.{name}" for module, name, _, _ in entries}
    # The names the issue lists, at least; the rest come from __all__.
    assert {"threadhandle.ThreadHandle", "threadhandle.unwrap",
            "threadhandle.local_handle", "threadhandle.release_local_handle",
            "threadhandle.clear_local_handles",
            "threadhandle.enable_deferred_refcount",
            "threadhandle.local.MAX_HANDLES_PER_THREAD"} <= names
    for module, name, value, _ in entries:
        qualified = f"{module.__name__}.{name}"
        if make_reference.is_constant(value):
            # An int has no docstring of its own: its module's says what
            # it means, and help(module) shows that.
            assert name in (module.__doc__ or ""), qualified
            shown = pydoc.plain(pydoc.render_doc(module))
            assert name in shown, qualified
            continue
        doc = make_reference.docstring(value)
        assert doc, f"{qualified} has no docstring"
        shown = pydoc.plain(pydoc.render_doc(value))
        last_line = doc.strip().splitlines()[-1].strip()
        assert last_line in shown, f"help({qualified}) does not show its doc"
