"""Another Cython module can `from threadhandle cimport ThreadHandle,
handled` against the INSTALLED package and reach the handled object at C
level.  The module in tests/cython_example/ is compiled once per test run,
in a temporary folder, with the installed package folder as include path."""
import importlib
import os
import re
import shutil
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


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(module, generated C source) of the example, built in a temporary
    folder against the installed threadhandle."""
    build_dir = tmp_path_factory.mktemp("cython_example")
    shutil.copy(os.path.join(EXAMPLE_DIR, MODULE_NAME + ".pyx"), build_dir)
    (build_dir / "setup.py").write_text(
        SETUP_PY.format(module=MODULE_NAME, include=INSTALL_ROOT))
    result = subprocess.run(
        [sys.executable, "setup.py"], cwd=build_dir,
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, (
        f"building the example failed:\n{result.stdout}\n{result.stderr}")
    sys.path.insert(0, str(build_dir))
    try:
        module = importlib.import_module(MODULE_NAME)
    finally:
        sys.path.remove(str(build_dir))
    c_source = (build_dir / (MODULE_NAME + ".c")).read_text()
    return module, c_source


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
