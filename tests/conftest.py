"""Helpers shared by the behaviour tests.

The tests compare what an operation does on an object with what it does
through a ThreadHandle of that object (or of an equal copy).
"""
import os
import subprocess
import sys
import sysconfig
import threading

from threadhandle import unwrap

FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
# Whether the GIL is on now (a GIL build, or PYTHON_GIL=1): then there is
# no reference-count contention for the finder's tests to find.
GIL = not FREE_THREADED or sys._is_gil_enabled()


# The finder's tests: what needs free-threading, and the mark of a module
# whose tests sample the whole process (never run by several threads).
def needs_free_threading_mark():
    import pytest
    return pytest.mark.skipif(
        GIL, reason="reference-count contention exists only without a GIL")


def samples_the_process_mark():
    import pytest
    return pytest.mark.thread_unsafe(
        reason="samples the whole process while its own threads run")
# Under ThreadSanitizer (make tsan) Python runs many times slower: the
# finder has too few sweeps for its findings to be checked, and its tests
# only run it (TSan checks the sampler and the finder for races).
UNDER_TSAN = "--with-thread-sanitizer" in (
    sysconfig.get_config_var("CONFIG_ARGS") or "")


def child_environment(**extra) -> dict:
    """os.environ for a Python process a test starts, with extra set.
    Under make asan's leak-checking leg (ASAN_OPTIONS detect_leaks=1),
    LeakSanitizer would report the CPython objects a child leaves at exit
    and set its exit status to 1: tests that compare a child's output and
    status keep ASan and UBSan on in it and turn leak checks off (the
    leak checks are for the extension, in the test process itself)."""
    env = dict(os.environ)
    if "ASAN_OPTIONS" in env:
        env["ASAN_OPTIONS"] = env["ASAN_OPTIONS"].replace(
            "detect_leaks=1", "detect_leaks=0")
    env.update(extra)
    return env


def finder_cli(*args, cwd, **extra_env):
    """python -P -m threadhandle.contention *args, run in cwd (with cwd on
    PYTHONPATH, for a test's -m modules): the CompletedProcess, text."""
    return subprocess.run(
        [sys.executable, "-P", "-m", "threadhandle.contention", *args],
        capture_output=True, text=True, timeout=120, cwd=cwd,
        env=child_environment(PYTHONPATH=str(cwd), **extra_env))


def check_findings():
    """Skip the rest of a finder test (its findings) under TSan."""
    if UNDER_TSAN:
        import pytest
        pytest.skip("ran under ThreadSanitizer, too slow for the findings "
                    "to be checked")

# Threads that do not finish within this many seconds count as hung.
THREAD_TIMEOUT = 60.0


def outcome(func, *args, **kwargs):
    """What func(*args, **kwargs) does, in a form that compares equal for
    the same behaviour: ("value", result) or ("raises", type, message).
    A result that is a handle is replaced by the object it handles."""
    try:
        result = func(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any exception is an outcome
        return ("raises", type(exc), str(exc))
    return ("value", unwrap(result))


def coarse_outcome(func, *args, **kwargs):
    """outcome() without the exception's message: ("value", result) or
    ("raises", type), for behaviour whose messages may differ."""
    return outcome(func, *args, **kwargs)[:2]


def same_value(a, b):
    """a and b are equal values of the same type (NaN equals NaN, and
    -0.0 differs from 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (float, complex)):
        return repr(a) == repr(b)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(map(same_value, a, b))
    return a == b


def same_outcome(a, b):
    """Two outcome() results describe the same behaviour."""
    if a[0] != b[0]:
        return False
    if a[0] == "raises":
        return a[1:] == b[1:]
    return same_value(a[1], b[1])


def refcount(obj):
    """sys.getrefcount(obj), as read before and after a handle uses obj: a
    handle never changes it (no deferred reference counting behind the
    user's back)."""
    return sys.getrefcount(obj)


def run_threads(target, count, timeout=THREAD_TIMEOUT):
    """Run target(index) in `count` threads; re-raise the first exception
    any of them raised, and fail if one is still running after `timeout`."""
    errors = []

    def run(index):
        try:
            target(index)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    hung = [thread for thread in threads if thread.is_alive()]
    assert not hung, f"{len(hung)} thread(s) still running after {timeout} s"
    if errors:
        raise errors[0]


def run_python(code, timeout=120, env=None):
    """Run `code` in a fresh interpreter (this one, with -P); the completed
    process, so a crash shows as a return code instead of killing pytest."""
    return subprocess.run(
        [sys.executable, "-P", "-c", code],
        capture_output=True, text=True, timeout=timeout, env=env,
    )
