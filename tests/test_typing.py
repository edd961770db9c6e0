"""The installed stubs: to a type checker a handle has its object's type.

A small typed example is checked with mypy (and pyright, when installed);
each `reveal_type` line says the type it must reveal, and each line marked
`# error:` must be reported as an error, so the types are real, not Any.

mypy takes the type from ThreadHandle.__new__ only from version 2.2; older
versions type a handle as ThreadHandle[T], which the stub makes usable as
anything: for them the example must check without any error."""
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

EXAMPLE = '''\
from concurrent.futures import ThreadPoolExecutor

import threadhandle
from threadhandle import (
    ThreadHandle, clear_local_handles, local_handle, release_local_handle,
    unwrap,
)
from threadhandle.contention import Report

table = {"a": 1}
handle = ThreadHandle(table)
reveal_type(handle)  # expect: dict[str, int]
reveal_type(unwrap(handle))  # expect: dict[str, int]
reveal_type(handle["a"])  # expect: int
reveal_type(ThreadHandle(ThreadHandle([1.5])))  # expect: list[float]
reveal_type(ThreadHandle[dict[str, int]]({}))  # expect: dict[str, int]
reveal_type(local_handle([1, 2]))  # expect: list[int]
reveal_type(release_local_handle(table))  # expect: bool
reveal_type(clear_local_handles())  # expect: None
reveal_type(threadhandle.__version__)  # expect: str

handle.append(1)  # error: a dict has no append


def total(counts: dict[str, int]) -> int:
    return sum(counts.values())


def work(key: str) -> int:
    counts = local_handle(table)
    counts[key] = counts.get(key, 0) + 1
    return total(counts)


with ThreadPoolExecutor(max_workers=2) as pool:
    results = list(pool.map(work, ["a", "b"]))
reveal_type(results)  # expect: list[int]

total(ThreadHandle({"x": "not an int"}))  # error: wrong value type


def summary(report: Report) -> None:
    top = report.top(1)
    reveal_type(top)  # expect: list[threadhandle.contention._report.Entry]
    entry = report.top(1)[0]
    reveal_type(entry.refcount_share)  # expect: float
    reveal_type(entry.where)  # expect: str
    reveal_type(entry.estimate)  # expect: float | None
'''

EXPECT = re.compile(r"reveal_type\((.*)\)  # expect: (.*)$")


def expectations():
    """{line number: expected revealed type}, {line numbers of errors}."""
    revealed, errors = {}, set()
    for number, line in enumerate(EXAMPLE.splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            revealed[number] = match.group(2)
        elif "# error:" in line:
            errors.add(number)
    return revealed, errors


def normalise(type_name):
    # pyright writes None for the None type, mypy "None"; both fine.
    return type_name.replace("builtins.", "")


@pytest.fixture
def example(tmp_path):
    path = tmp_path / "example.py"
    path.write_text(EXAMPLE)
    return path


def mypy_version():
    from importlib.metadata import version
    return tuple(int(part) for part in
                 re.findall(r"\d+", version("mypy"))[:2])


@pytest.mark.thread_unsafe(
    reason="writes example.py into a tmp_path shared by the threads")
def test_mypy_sees_handles_as_their_objects(example, tmp_path):
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (it is in the test extra)")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental",
         "--cache-dir", str(tmp_path / "cache"),
         "--python-executable", sys.executable,
         "--show-error-codes", "--no-color-output", "--no-error-summary",
         example.name],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    revealed, errors = {}, set()
    for line in result.stdout.splitlines():
        match = re.match(r"example\.py:(\d+): (\w+): (.*)", line)
        assert match, f"unexpected mypy output: {line}\n{result.stderr}"
        number, kind, message = int(match.group(1)), match.group(2), \
            match.group(3)
        if kind == "note" and message.startswith("Revealed type is "):
            revealed[number] = normalise(message[len('Revealed type is "'):-1])
        elif kind == "error":
            errors.add(number)
    expected_revealed, expected_errors = expectations()
    if mypy_version() >= (2, 2):
        assert revealed == expected_revealed, result.stdout
        assert errors == expected_errors, result.stdout
    else:
        assert revealed.keys() == expected_revealed.keys(), result.stdout
        for number, type_name in revealed.items():
            assert (type_name in (expected_revealed[number], "Any")
                    or type_name.startswith(
                        "threadhandle._threadhandle.ThreadHandle[")), (
                result.stdout)
        assert errors == set(), result.stdout


def test_pyright_sees_handles_as_their_objects(example, tmp_path):
    if importlib.util.find_spec("pyright") is None:
        pytest.skip("pyright is not installed")
    if shutil.which("node") is None:
        pytest.skip("pyright needs node, which is not installed")
    (tmp_path / "pyrightconfig.json").write_text(json.dumps({
        "pythonVersion": f"{sys.version_info[0]}.{sys.version_info[1]}",
        "typeCheckingMode": "strict",
    }))
    env = dict(os.environ, PYRIGHT_PYTHON_IGNORE_WARNINGS="1")
    result = subprocess.run(
        [sys.executable, "-m", "pyright", "--outputjson",
         "--pythonpath", sys.executable, example.name],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env,
    )
    report = json.loads(result.stdout)
    revealed, errors = {}, set()
    for diagnostic in report["generalDiagnostics"]:
        number = diagnostic["range"]["start"]["line"] + 1
        message = diagnostic["message"]
        if diagnostic["severity"] == "information":
            match = re.match(r'Type of ".*" is "(.*)"$', message)
            assert match, message
            revealed[number] = normalise(match.group(1))
        elif diagnostic["severity"] == "error":
            errors.add(number)
    expected_revealed, expected_errors = expectations()
    assert revealed == expected_revealed, result.stdout
    assert errors == expected_errors, result.stdout
