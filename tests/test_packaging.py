"""The sdist holds what is needed to build and use the package, and
installs, in a fresh venv of the interpreter running the tests, into a
working package with its stubs and Cython declarations.

Slow (an isolated build fetches setuptools and Cython, then compiles the
extension): set THREADHANDLE_SKIP_PACKAGING=1 to skip it in quick local
runs.  CI runs it."""
import os
import subprocess
import sys
import sysconfig
import tarfile
import textwrap
import tomllib

import pytest

import threadhandle

pytestmark = pytest.mark.skipif(
    os.environ.get("THREADHANDLE_SKIP_PACKAGING") == "1",
    reason="THREADHANDLE_SKIP_PACKAGING=1",
)

SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))

# Files the sdist must hold (paths below the sdist's top folder).
SDIST_FILES = {
    "pyproject.toml", "setup.py", "LICENSE", "README.md", "PKG-INFO",
    "threadhandle/__init__.py", "threadhandle/local.py",
    "threadhandle/_threadhandle.pyx",
    "threadhandle/_threadhandle.pxd", "threadhandle/__init__.pxd",
    "threadhandle/__init__.pyi", "threadhandle/_threadhandle.pyi",
    "threadhandle/local.pyi", "threadhandle/py.typed",
    "threadhandle/forward.c", "threadhandle/attributes.c",
    "threadhandle/install.c", "threadhandle/handles.c",
    "threadhandle/lookup.c", "threadhandle/local.c",
    "threadhandle/contention/_sampler.c",
    "threadhandle/contention/__init__.py",
    "threadhandle/contention/__main__.py",
    "CHANGELOG.md",
    "threadhandle/handle.h", "threadhandle/compat.h",
    "threadhandle/internals.h",
    # The docs, and what tests/test_docs.py needs to check them there.
    "docs/guide.md", "docs/forwarding.md", "docs/reference.md",
    "docs/benchmark.md", "docs/internals.md", "docs/numpy-and-cython.md",
    "scripts/make-reference",
    "benchmarks/results/scaling-3.14t.png",
    "benchmarks/results/scaling-3.13t.png",
}
# Files an installed package must hold besides its modules.
INSTALLED_DATA = {
    "__init__.pyi", "_threadhandle.pyi", "local.pyi", "py.typed",
    "__init__.pxd", "_threadhandle.pxd",
}


def run(args, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True,
                            timeout=900, **kwargs)
    assert result.returncode == 0, (
        f"{' '.join(map(str, args))} failed:\n{result.stdout}\n"
        f"{result.stderr}")
    return result


@pytest.fixture(scope="module")
def sdist(tmp_path_factory):
    """Path of an sdist built from the source tree."""
    pytest.importorskip("build", reason="'build' makes the sdist")
    out = tmp_path_factory.mktemp("dist")
    # No isolation: the test environment has the build requirements
    # (setuptools, Cython); the install below builds in isolation.
    run([sys.executable, "-m", "build", "--sdist", "--no-isolation",
         "--outdir", str(out), SOURCE_ROOT])
    (path,) = out.glob("threadhandle-*.tar.gz")
    return path


def sdist_names(path):
    """The sdist's file names, below its top folder."""
    with tarfile.open(path) as archive:
        names = [member.name for member in archive.getmembers()
                 if member.isfile()]
    top = os.path.commonpath(names)
    return {os.path.relpath(name, top) for name in names}


def test_sdist_holds_the_sources(sdist):
    names = sdist_names(sdist)
    missing = SDIST_FILES - names
    assert not missing, f"missing from the sdist: {sorted(missing)}"


def test_sdist_holds_no_build_products(sdist):
    names = sdist_names(sdist)
    products = {name for name in names
                if name.endswith((".so", ".pyd", ".o", ".pyc"))}
    # Cython's output must be made from the .pyx at build time: a shipped
    # one, newer than the .pyx, would be compiled as it is.
    products |= {"threadhandle/_threadhandle.c"} & names
    assert not products


def test_sdist_version_is_the_package_version(sdist):
    assert sdist.name == f"threadhandle-{threadhandle.__version__}.tar.gz"


def test_pyproject_metadata():
    with open(os.path.join(SOURCE_ROOT, "pyproject.toml"), "rb") as file:
        pyproject = tomllib.load(file)
    project = pyproject["project"]
    # One source of truth for the version: threadhandle.__version__.
    assert "version" not in project
    assert "version" in project["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "threadhandle.__version__"}
    assert ("Programming Language :: Python :: Free Threading"
            in project["classifiers"])
    package_data = pyproject["tool"]["setuptools"]["package-data"]
    assert {"*.pxd", "*.pyi", "py.typed"} <= set(package_data["threadhandle"])


CHECK_INSTALLED = textwrap.dedent("""\
    import os, sys, threading
    import threadhandle
    from threadhandle import ThreadHandle, local_handle, unwrap

    assert threadhandle.__version__ == {version!r}, threadhandle.__version__
    folder = os.path.dirname(threadhandle.__file__)
    assert folder.startswith(sys.prefix), folder
    names = set(os.listdir(folder))
    missing = {data!r} - names
    assert not missing, missing
    sources = sorted(n for n in names if n.endswith((".c", ".h", ".pyx")))
    assert not sources, sources

    table = {{"a": 1}}
    handles = []

    def work():
        handle = local_handle(table)
        assert handle == table and handle["a"] == 1
        assert local_handle(table) is handle
        handles.append(handle)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({{id(h) for h in handles}}) == 4
    assert all(unwrap(h) is table for h in handles)
    assert type(ThreadHandle(table)) is ThreadHandle
    if {free_threaded!r}:
        assert not sys._is_gil_enabled(), "importing re-enabled the GIL"
    print("installed ok")
    """)


def test_install_from_sdist(sdist, tmp_path):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python = str(venv / "bin" / "python")
    # An isolated build: pip fetches setuptools and Cython itself.
    run([python, "-m", "pip", "install", "--no-cache-dir", str(sdist)],
        cwd=tmp_path)
    code = CHECK_INSTALLED.format(
        version=threadhandle.__version__, data=INSTALLED_DATA,
        free_threaded=FREE_THREADED)
    result = run([python, "-P", "-c", code], cwd=tmp_path)
    assert result.stdout.strip() == "installed ok"
