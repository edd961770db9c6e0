"""Another Cython module can `from threadhandle cimport ThreadHandle,
handled` against the INSTALLED package and reach the handled object at C
level.  The module in tests/cython_example/ and the Cython example of
docs/numpy-and-cython.md (a prange loop calling back into a shared Python
object through local_handle) are compiled once per test run, in a temporary
folder, with the installed package folder as include path."""
import importlib
import os
import re
import subprocess
import sys
import textwrap

import pytest

import threadhandle
from conftest import FREE_THREADED, run_threads
from threadhandle import ThreadHandle

pytest.importorskip("Cython", reason="cimporting threadhandle needs Cython")
pytest.importorskip("setuptools", reason="setuptools builds the test module")

EXAMPLE_DIR = os.path.join(os.path.dirname(__file__), "cython_example")
MODULE_NAME = "th_cimport_example"
# The folder that holds the installed threadhandle package (site-packages).
INSTALL_ROOT = os.path.dirname(os.path.dirname(threadhandle.__file__))

SETUP_PY = textwrap.dedent("""\
    from Cython.Build import cythonize
    from setuptools import setup

    setup(
        ext_modules=cythonize([{module!r} + ".pyx"],
                              include_path=[{include!r}]),
        script_args=["build_ext", "--inplace"],
    )
    """)


DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))), "docs", "numpy-and-cython.md")
DOC_MODULE_NAME = "th_doc_example"
# The lines of the doc's example that ask for OpenMP: left out where the
# compiler has none (prange then runs on the calling thread alone).
OPENMP_LINES = re.compile(r"^# distutils: extra_(compile|link)_args = "
                          r"-fopenmp\n", re.MULTILINE)


def build(build_dir, module_name, source):
    """Build module_name from source in build_dir against the installed
    threadhandle; (module, generated C source), or None with the build's
    output if it failed."""
    (build_dir / (module_name + ".pyx")).write_text(source)
    (build_dir / "setup.py").write_text(
        SETUP_PY.format(module=module_name, include=INSTALL_ROOT))
    result = subprocess.run(
        [sys.executable, "setup.py"], cwd=build_dir,
        capture_output=True, text=True, timeout=600,
    )
    if result.returncode != 0:
        return None, f"{result.stdout}\n{result.stderr}"
    sys.path.insert(0, str(build_dir))
    try:
        module = importlib.import_module(module_name)
    finally:
        sys.path.remove(str(build_dir))
    c_source = (build_dir / (module_name + ".c")).read_text()
    return module, c_source


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(module, generated C source) of the example, built in a temporary
    folder against the installed threadhandle."""
    with open(os.path.join(EXAMPLE_DIR, MODULE_NAME + ".pyx"),
              encoding="utf-8") as file:
        source = file.read()
    module, output = build(tmp_path_factory.mktemp("cython_example"),
                           MODULE_NAME, source)
    assert module is not None, f"building the example failed:\n{output}"
    return module, output


def doc_example_source():
    """The first ```cython block of docs/numpy-and-cython.md."""
    with open(DOC, encoding="utf-8") as file:
        text = file.read()
    match = re.search(r"^```cython\n(.*?)^```$", text, re.S | re.M)
    assert match, "docs/numpy-and-cython.md has no ```cython block"
    return match.group(1)


@pytest.fixture(scope="module")
def doc_example(tmp_path_factory):
    """(module, built with OpenMP) of the doc's example: with OpenMP where
    the compiler has it, else without (the same code, serial prange)."""
    if not os.path.isfile(DOC):
        pytest.skip("no docs/ folder (installed tests)")
    source = doc_example_source()
    module, output = build(tmp_path_factory.mktemp("doc_example"),
                           DOC_MODULE_NAME, source)
    if module is not None:
        return module, True
    module, serial_output = build(tmp_path_factory.mktemp("doc_serial"),
                                  DOC_MODULE_NAME,
                                  OPENMP_LINES.sub("", source))
    assert module is not None, (
        f"building the doc's example failed:\n{output}\n"
        f"--- without OpenMP:\n{serial_output}")
    return module, False


def test_pxd_files_are_installed():
    package_dir = os.path.dirname(threadhandle.__file__)
    for name in ("__init__.pxd", "_threadhandle.pxd"):
        assert os.path.isfile(os.path.join(package_dir, name)), name


def test_obj_is_read_from_the_struct_not_by_attribute_lookup(built):
    _, c_source = built
    assert "->obj" in c_source
    # Cython names the interned string of an attribute __pyx_n_s_<name>
    # (__pyx_n_u_<name> in 3.1+); none exists for "obj".
    assert not re.search(r"__pyx_n_[su]_obj\b", c_source)


@pytest.mark.skipif(not FREE_THREADED, reason="free-threaded builds only")
def test_import_keeps_the_gil_disabled(built):
    # The example declares freethreading_compatible; cimporting threadhandle
    # adds nothing that would make importing it re-enable the GIL.
    assert not sys._is_gil_enabled()


def test_handle_made_in_cython(built):
    module, _ = built
    table = {"a": 1, "b": 2}
    handle = module.make_handle(table)
    assert type(handle) is ThreadHandle
    assert handle == table
    assert module.is_thread_handle(handle)
    assert not module.is_thread_handle(table)


def test_handled_field(built):
    module, _ = built
    table = {"a": 1}
    assert module.handled_field(ThreadHandle(table)) is table
    assert module.handled_field(ThreadHandle(ThreadHandle(table))) is table
    with pytest.raises(TypeError):
        module.handled_field(table)  # not a ThreadHandle


@pytest.mark.parametrize("value", [{"a": 1}, [1, 2], None, 5, "text"])
def test_handled_inline(built, value):
    module, _ = built
    assert module.handled_inline(ThreadHandle(value)) is value
    assert module.handled_inline(value) is value


def test_each_thread_with_its_own_handle(built):
    module, _ = built
    table = {str(i): i for i in range(100)}
    keys = list(table)
    expected = sum(table.values())
    results = [None] * 4

    def work(index):
        handle = ThreadHandle(table)
        results[index] = [module.sum_through_handle(handle, keys)
                          for _ in range(200)]

    run_threads(work, len(results))
    assert results == [[expected] * 200] * len(results)


# --- the example of docs/numpy-and-cython.md -----------------------------

class Model:
    """A shared object with a Python method, as a model would be."""

    def __init__(self, scale):
        self.scale = scale

    def predict(self, x):
        return self.scale * x


def test_doc_example_row_sums(doc_example):
    np = pytest.importorskip("numpy")
    module, _ = doc_example
    w = np.arange(12, dtype=np.float64).reshape(3, 4)
    out = np.zeros(3)
    module.row_sums(w, out)
    assert out.tolist() == w.sum(axis=1).tolist()


def test_doc_example_prange_uses_one_handle_per_os_thread(doc_example):
    np = pytest.importorskip("numpy")
    module, openmp = doc_example
    model = Model(2.0)
    xs = np.arange(64, dtype=np.float64)
    out = np.zeros(64)
    # A chunk per item: 64 calls of local_handle, from every thread.
    used = module.predict_all(model, xs, out, 1)
    assert out.tolist() == (2.0 * xs).tolist()
    assert all(threadhandle.unwrap(h) is model for h in used)
    assert all(type(h) is ThreadHandle for h in used)
    # The handles are alive (in `used`), so distinct ids are distinct
    # handles: at most one per thread of the team, not one per call of
    # local_handle.
    handles = {id(h) for h in used}
    if openmp:
        assert len(handles) <= (os.cpu_count() or 1)
    else:
        assert handles == {id(threadhandle.local_handle(model))}


def test_doc_example_prange_from_several_threads(doc_example):
    np = pytest.importorskip("numpy")
    module, _ = doc_example
    model = Model(3.0)
    xs = np.arange(32, dtype=np.float64)
    results = [None] * 3

    def work(index):
        out = np.zeros(32)
        for _ in range(20):
            module.predict_all(model, xs, out, 4)
        results[index] = out.tolist()

    run_threads(work, len(results))
    assert results == [(3.0 * xs).tolist()] * len(results)


def test_doc_example_handled(doc_example):
    module, _ = doc_example
    table = {"a": 1}
    assert module.handled_object(ThreadHandle(table)) is table
    assert module.any_object(ThreadHandle(table)) is table
    assert module.any_object(table) is table
