"""Under `python -m threadhandle.contention` a program prints, writes,
exits and fails exactly as under `python`: each program here runs both
ways, in two copies of its folder, and the two runs must give the same
stdout, the same stderr once the finder's lines are taken out (they all
start with "threadhandle.contention", the report running from its
"threadhandle.contention on" line to its "end of the report" line), the
same exit status and the same files.

The finder samples from the start (--warmup 0) with a short refresh, so
that programs of a fraction of a second are sampled while they run.  On a
build with the GIL on the finder runs the program without sampling, and the
same comparisons hold.  Every run is bounded in time; a forked child that
hung would fail the test, not block it (its session is killed)."""
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import textwrap
from importlib.machinery import EXTENSION_SUFFIXES

import pytest

import threadhandle
from conftest import FREE_THREADED, child_environment

GIL = not FREE_THREADED or sys._is_gil_enabled()
# Under ThreadSanitizer (make tsan) every program runs many times slower:
# only the tests of the finder's threads run there (TSan checks them).
UNDER_TSAN = "--with-thread-sanitizer" in (
    sysconfig.get_config_var("CONFIG_ARGS") or "")
TSAN_TESTS = {"test_finder_threads_are_not_the_programs",
              "test_fork_while_sampling", "test_extension_turns_the_gil_on"}
TIMEOUT = 300 if UNDER_TSAN else 90
FINDER = ["-m", "threadhandle.contention", "--warmup", "0", "-q",
          "--refresh", "0.2"]
TAG = "threadhandle.contention"

pytestmark = pytest.mark.thread_unsafe(
    reason="runs programs that fork, signal themselves and sample")


@pytest.fixture(autouse=True)
def few_under_tsan(request):
    if UNDER_TSAN and request.node.originalname not in TSAN_TESTS:
        pytest.skip("under ThreadSanitizer only the finder's threads are "
                    "tested (every run is many times slower)")


def split_stderr(text: str) -> tuple:
    """(the program's stderr, the finder's lines)."""
    program, finder, in_report = [], [], False
    for line in text.splitlines(keepends=True):
        if line.startswith(f"{TAG} on "):
            in_report = True
        if in_report or line.startswith(TAG):
            finder.append(line)
        else:
            program.append(line)
        if line.startswith(f"{TAG}: end of the report"):
            in_report = False
    return "".join(program), "".join(finder)


def files_in(folder) -> dict:
    found = {}
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as file:
                found[os.path.relpath(path, folder)] = file.read().replace(
                    os.fsencode(str(folder)), b"<dir>")
    return found


def run(argv, cwd, stdin=b"", env=None, wrap=()):
    """(exit status, stdout, stderr) of a run bounded in time; the whole
    session (forked children too) is killed if it runs over."""
    process = subprocess.Popen(
        [*wrap, *argv], cwd=cwd, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True, env=env)
    try:
        out, err = process.communicate(stdin, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"{argv} ran over {TIMEOUT} s (hung)")
    text = [re.sub(r"pid=\d+", "pid=N", data.decode(errors="replace")
                   .replace(str(cwd), "<dir>"))
            for data in (out, err)]
    return process.returncode, text[0], text[1]


def environment(**extra):
    """The test's environment without PYTHON* settings (see
    child_environment for leak checks under make asan)."""
    env = {key: value for key, value in child_environment().items()
           if not key.startswith("PYTHON")}
    env.update(extra)
    return env


def compare(tmp_path, files, args, *, flags=(), stdin=b"", env=None,
            wrap=(), finder_options=()):
    """Run the program directly and under the finder; assert that they did
    the same; return (status, stdout, program's stderr, finder's lines)."""
    env = environment() if env is None else env
    results = []
    for name, prefix in (("direct", []),
                         ("finder", [*FINDER, *finder_options])):
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        for path, text in files.items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_text(textwrap.dedent(text))
        status, out, err = run([sys.executable, *flags, *prefix, *args],
                               folder, stdin, env, wrap)
        program_err, finder_err = split_stderr(err)
        results.append((status, out, program_err, finder_err,
                        files_in(folder)))
    direct, finder = results
    assert direct[3] == "", direct
    assert finder[:3] == direct[:3], (direct, finder)
    assert finder[4] == direct[4]
    if GIL:
        assert "runs with" in finder[3] and "GIL" in finder[3], finder[3]
    return finder[:4]


# --------------------------------------------------------------------------
# __main__, sys.path, sys.argv, compiling (items 3, 4, 5)
# --------------------------------------------------------------------------

MAIN_INFO = """\
    import sys, threading, time
    def show(value):
        kind = type(value).__name__
        name = getattr(value, 'name', None)
        return f"{kind}:{name}:{getattr(value, 'path', None)}"
    print(__name__, sys.argv)
    print(sorted(globals()))
    for key in ("__file__", "__package__", "__cached__", "__doc__"):
        print(key, repr(globals().get(key)))
    print("__loader__", show(__loader__))
    print("__spec__", __spec__ and (__spec__.name, __spec__.origin))
    print("__builtins__", type(__builtins__).__name__)
    print("sys.path[0]", sys.path[0])
    import bisect          # the current folder's bisect.py must not shadow it
    print("bisect", bisect.__name__, hasattr(bisect, "insort"))
    print("main module", sys.modules["__main__"] is sys.modules[__name__])
    """
SHADOW = {"bisect.py": "print('the folder shadowed the stdlib')\n"}


@pytest.mark.parametrize("flags", [(), ("-P",)], ids=["plain", "safe-path"])
def test_script_main_module_and_sys_path(tmp_path, flags):
    """Item 4: __main__ as python makes it, sys.path[0] the script's folder
    (not the current one)."""
    files = {"prog/main_info.py": MAIN_INFO, **SHADOW}
    _, out, _, _ = compare(tmp_path, files, ["prog/main_info.py", "a", "-q"],
                           flags=flags)
    assert "bisect bisect True" in out


def test_symlinked_script(tmp_path):
    """sys.path[0] is the folder of the file a symbolic link points to."""
    for name in ("direct", "finder"):
        (tmp_path / name / "real").mkdir(parents=True)
        (tmp_path / name / "link.py").symlink_to("real/main_info.py")
    compare(tmp_path, {"real/main_info.py": MAIN_INFO}, ["link.py"])


def test_module_takes_every_argument_after_it(tmp_path):
    """Items 4, 5: -m pkg.app with relative imports; -q --top 3 after it
    are the module's."""
    files = {
        "pkg/__init__.py": "",
        "pkg/helper.py": "VALUE = 'relative import works'\n",
        "pkg/app.py": ("from .helper import VALUE\nprint(VALUE)\n"
                       + textwrap.dedent(MAIN_INFO)),
        **SHADOW,
    }
    _, out, _, _ = compare(tmp_path, files,
                           ["-m", "pkg.app", "-q", "--top", "3", "x"])
    assert "['<dir>/pkg/app.py', '-q', '--top', '3', 'x']" in out
    assert "__builtins__ module" in out


def test_package_main_and_folder(tmp_path):
    """-m pkg runs pkg/__main__.py; a folder runs its __main__.py."""
    files = {"pkg/__init__.py": "", "pkg/__main__.py": MAIN_INFO,
             "app/__main__.py": MAIN_INFO}
    compare(tmp_path, files, ["-m", "pkg", "1"])
    shutil.rmtree(tmp_path / "direct")
    shutil.rmtree(tmp_path / "finder")
    compare(tmp_path, files, ["app", "2"])


def test_compiled_without_the_finders_future_imports(tmp_path):
    """Item 3: annotations are evaluated (no `from __future__ import
    annotations` inherited from the finder): singledispatch by annotation
    works."""
    program = """\
        from functools import singledispatch
        def local():
            class Local: pass
            @singledispatch
            def show(x): return "object"
            @show.register
            def _(x: Local): return "Local"
            return show(Local())
        def f(x: int) -> str: pass
        print(f.__annotations__, local())
        """
    _, out, _, _ = compare(tmp_path, {"prog.py": program}, ["prog.py"])
    assert "Local" in out.split()[-1]


# --------------------------------------------------------------------------
# Failing and exiting (item 4)
# --------------------------------------------------------------------------

PROGRAMS = {
    "exception": """\
        import atexit
        atexit.register(print, "atexit ran")
        def f():
            try:
                {}["missing"]
            except KeyError as exc:
                raise ValueError("from a KeyError") from exc
        f()
        """,
    "excepthook": """\
        import sys
        def hook(kind, value, tb):
            print("custom hook:", kind.__name__, value,
                  tb.tb_frame.f_code.co_name)
        sys.excepthook = hook
        def g():
            raise RuntimeError("boom")
        g()
        """,
    "syntax_error": "x = 1\ndef (:\n    pass\n",
    "exit_message": "import sys\nprint('out')\nsys.exit('bad thing')\n",
    "exit_status": "import sys\nsys.exit(7)\n",
    "os_exit": "import os, sys\nprint('flushed', flush=True)\nos._exit(9)\n",
    "keyboard_interrupt": """\
        import atexit, threading, time
        atexit.register(print, "atexit ran")
        worker = threading.Thread(target=time.sleep, args=(0.3,))
        worker.start()
        time.sleep(0.2)
        raise KeyboardInterrupt
        """,
    "sigint": """\
        import os, signal, time
        # As in a shell's foreground job: a background job (CI's, say)
        # starts with SIGINT ignored, and python then leaves it so.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(30)
        """,
    "sigterm": """\
        import os, signal, time
        print("before", flush=True)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
        """,
    "exit_from_thread": """\
        import sys, threading
        t = threading.Thread(target=sys.exit, args=(3,))
        t.start(); t.join()
        print("still running"); open("out.txt", "w").write("written\\n")
        """,
    "daemon_left_running": """\
        import threading, time
        def forever():
            while True:
                time.sleep(0.01)
        threading.Thread(target=forever, daemon=True).start()
        time.sleep(0.3)
        print("main code done")
        """,
    "stdin": """\
        import sys
        data = sys.stdin.read()
        print(data.upper(), end="")
        print(len(data), file=sys.stderr)
        """,
}
EXPECTED_STATUS = {
    "exception": 1, "excepthook": 1, "syntax_error": 1, "exit_message": 1,
    "exit_status": 7, "os_exit": 9, "keyboard_interrupt": -signal.SIGINT,
    "sigint": -signal.SIGINT, "sigterm": -signal.SIGTERM,
    "exit_from_thread": 0, "daemon_left_running": 0, "stdin": 0,
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_ends_as_under_python(tmp_path, name):
    status, out, err, _ = compare(tmp_path, {"prog.py": PROGRAMS[name]},
                                  ["prog.py"], stdin=b"some input\n")
    assert status == EXPECTED_STATUS[name], (status, err)
    if status == 1 and name != "exit_message":
        assert "threadhandle" not in err and "runpy" not in err, err


# --------------------------------------------------------------------------
# Threads and processes (items 1, 2)
# --------------------------------------------------------------------------

def test_finder_threads_are_not_the_programs(tmp_path):
    """Item 2: joining every thread of threading.enumerate() and waiting
    for active_count() to be 1 end; the finder's threads are never listed
    (not even as a _DummyThread after a refresh)."""
    program = """\
        import threading, time
        def work(): time.sleep(0.3)
        for _ in range(2): threading.Thread(target=work).start()
        for thread in threading.enumerate():
            if thread is not threading.current_thread():
                thread.join(timeout=5)
        deadline = time.monotonic() + 3
        while threading.active_count() > 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.5)          # the finder refreshes meanwhile
        print([t.name for t in threading.enumerate()],
              threading.active_count())
        """
    compare(tmp_path, {"prog.py": program}, ["prog.py"],
            finder_options=["--refresh", "0.1"])


@pytest.mark.parametrize("threads", [0, 1], ids=["alone", "with-a-thread"])
def test_fork_while_sampling(tmp_path, threads):
    """Item 1: a child forked while the finder samples prints no report and
    exits as it would without the finder (sys.exit, an exception).  os.fork()
    warns that the process is multi-threaded only where python would: not
    because of the finder's threads."""
    if UNDER_TSAN and not threads:
        # ThreadSanitizer's runtime starts a thread of its own with the
        # first thread a process makes (the finder's): the process's
        # thread count, which os.fork() reads, then has one more than the
        # program and the finder made, and the fork warns.
        pytest.skip("TSan's own thread makes os.fork() warn")
    program = """\
        import os, sys, threading, time, warnings
        filters = list(warnings.filters)
        stop = threading.Event()
        if int(sys.argv[1]):
            threading.Thread(target=stop.wait).start()
        time.sleep(0.5)
        for how in ("exit", "raise", "return"):
            pid = os.fork()
            if pid == 0:
                print("child", how, flush=True)
                if how == "exit":
                    sys.exit(3)
                if how == "raise":
                    raise ValueError("in the child")
                break
            _, status = os.waitpid(pid, 0)
            print("child ended", os.waitstatus_to_exitcode(status), flush=True)
        stop.set()
        print("filters as before:", warnings.filters == filters)
        """
    _, out, err, finder = compare(tmp_path, {"prog.py": program},
                                  ["prog.py", str(threads)])
    if sys.version_info >= (3, 12):     # the warning's first version
        assert ("multi-threaded" in err) == bool(threads), err
    assert "filters as before: True" in out
    assert out.count("child ended") == 3
    assert finder.count(f"{TAG} on ") <= 1


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver", "pool"])
def test_multiprocessing(tmp_path, method):
    program = f"""\
        import multiprocessing, sys
        from concurrent.futures import ProcessPoolExecutor
        def square(x):
            return x * x
        if __name__ == "__main__":
            if "{method}" == "pool":
                with ProcessPoolExecutor(2) as pool:
                    print(list(pool.map(square, range(5))))
            else:
                context = multiprocessing.get_context("{method}")
                with context.Pool(2) as pool:
                    print(pool.map(square, range(5)))
            sys.exit(4)
        """
    status, out, _, _ = compare(tmp_path, {"prog.py": program}, ["prog.py"])
    assert status == 4 and "[0, 1, 4, 9, 16]" in out


# --------------------------------------------------------------------------
# stdout gone (item 6)
# --------------------------------------------------------------------------

def read_first_line(argv, folder, stdin=None):
    """(exit status, the first line of stdout, stderr) of a run whose
    reader goes away after one line (as `| head -1` does)."""
    process = subprocess.Popen(
        argv, cwd=folder, stdin=None if stdin is None else subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment(),
        start_new_session=True)
    try:
        if stdin is not None:
            process.stdin.write(stdin)
            process.stdin.close()
        first = process.stdout.readline()
        process.stdout.close()
        err = process.stderr.read().decode()
        process.wait(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode, first, err


def test_broken_pipe(tmp_path):
    """| head: the reader goes away; the program fails as it would, and the
    finder adds no traceback of its own."""
    # Each line flushed: a pipe write under PIPE_BUF is all or nothing, so
    # the line the reader's close refuses stays buffered and python exits
    # 120 every time.  With 8 KiB writes, whether the close cuts one short
    # is a race of the reader's speed: 1 or 120, with the finder or without.
    program = """\
        import sys
        print(sys.argv[1:], flush=True)
        while True:
            print("x" * 100, flush=True)
        """
    results = []
    for name, prefix in (("direct", []), ("finder", FINDER)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "prog.py").write_text(textwrap.dedent(program))
        status, first, err = read_first_line(
            [sys.executable, *prefix, "prog.py", "a"], folder)
        results.append((status, first,
                        split_stderr(err.replace(str(folder), "<dir>"))[0]))
    assert results[1] == results[0]
    assert "BrokenPipeError" in results[0][2]


def test_closed_stdout(tmp_path):
    """>&-: sys.stdout is None; the report goes to stderr and -o."""
    program = """\
        import sys
        print("nowhere")
        print("stdout is", sys.stdout, file=sys.stderr)
        sys.exit(5)
        """
    wrap = ["/bin/sh", "-c", 'exec "$@" >&-', "sh"]
    status, _, _, finder = compare(
        tmp_path, {"prog.py": program}, ["prog.py"], wrap=wrap)
    assert status == 5
    # The finder's own lines reached stderr: its report (or, had the
    # program ended before sampling began, the line that says so).
    if not GIL:
        assert (f"{TAG}: end of the report" in finder
                or "ended before sampling began" in finder), finder


@pytest.mark.parametrize("head", [False, True], ids=["whole", "head"])
def test_json_tool(tmp_path, head):
    """-m json.tool, whole and piped into a reader that goes away."""
    data = b'{"b": [1, 2, {"c": null}], "a": "text"}\n'
    if not head:
        status, out, _, _ = compare(tmp_path, {}, ["-m", "json.tool",
                                                   "--sort-keys"], stdin=data)
        assert status == 0 and '"a": "text"' in out
        return
    big = b"[" + b",".join(b'{"key": "%d"}' % i for i in range(100000)) + b"]"
    results = []
    for name, prefix in (("direct", []), ("finder", FINDER)):
        folder = tmp_path / name
        folder.mkdir()
        status, first, err = read_first_line(
            [sys.executable, *prefix, "-m", "json.tool"], folder, big)
        results.append((status, first, split_stderr(err)[0]))
    assert results[1] == results[0]


# --------------------------------------------------------------------------
# The GIL turned on (item 7)
# --------------------------------------------------------------------------

GIL_PROGRAM = """\
    import sys, threading, time
    def work():
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            pass
    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads: t.start()
    time.sleep(1.5)
    import _testmultiphase_null_slots
    print("GIL on:", sys._is_gil_enabled())
    for t in threads: t.join()
    sys.exit(6)
    """


def gil_taking_extension(folder):
    """A copy of CPython's _testmultiphase under the name of its init
    function that declares nothing about the GIL."""
    import _testmultiphase
    name = "_testmultiphase_null_slots" + EXTENSION_SUFFIXES[0]
    shutil.copy(_testmultiphase.__file__, folder / name)


@pytest.mark.skipif(GIL, reason="the GIL is on already")
def test_extension_turns_the_gil_on(tmp_path):
    pytest.importorskip("_testmultiphase")
    for name in ("direct", "finder"):
        (tmp_path / name).mkdir()
        gil_taking_extension(tmp_path / name)
    status, out, err, finder = compare(tmp_path, {"prog.py": GIL_PROGRAM},
                                       ["prog.py"])
    assert status == 6 and "GIL on: True" in out
    assert "RuntimeWarning" in err            # Python's own, kept
    assert "the GIL came on" in finder, finder
    assert "importing _testmultiphase_null_slots" in finder, finder
    assert "PYTHON_GIL=0" in finder


@pytest.mark.skipif(not FREE_THREADED, reason="PYTHON_GIL needs a "
                    "free-threaded build")
def test_python_gil_1(tmp_path):
    program = "import sys\nprint(sys._is_gil_enabled())\nsys.exit(2)\n"
    status, out, _, finder = compare(tmp_path, {"prog.py": program},
                                     ["prog.py"],
                                     env=environment(PYTHON_GIL="1"))
    assert status == 2 and out == "True\n"
    assert "GIL on" in finder and "PYTHON_GIL=0" in finder
    assert "free-threaded build" not in finder


# --------------------------------------------------------------------------
# The source tree hides the install (item 13)
# --------------------------------------------------------------------------

def test_clone_root_says_what_to_do(tmp_path):
    package = tmp_path / "threadhandle"
    package.mkdir()
    shutil.copy(threadhandle.__file__, package / "__init__.py")
    (package / "_threadhandle.pyx").write_text("# the Cython source\n")
    (tmp_path / "prog.py").write_text("print('ran')\n")
    status, out, err = run(
        [sys.executable, "-m", "threadhandle.contention", "prog.py"],
        tmp_path, env=environment())
    assert status == 1 and out == ""
    assert "source tree" in err and "-P" in err, err
    assert "pip install -e ." in err
