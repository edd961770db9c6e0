"""Build of the threadhandle extension: the Cython class and its C slots,
compiled into one module.  Metadata is in pyproject.toml."""
import os
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

# Below threadhandle/: the handle's files, and the finder's sampling thread
# next to the finder (compiled into the same extension: it reads no state
# of its own module, and one extension keeps one build and one import).
C_SOURCES = [
    "handles.c", "lookup.c", "attributes.c", "forward.c", "install.c",
    "local.c", "immortal.c", "contention/_sampler.c",
]
HEADERS = ["handle.h", "compat.h", "internals.h"]

# THREADHANDLE_NO_INTERNALS=1: build only the public-API paths, also where
# internals.h would use CPython internals (make test runs the suite on such a
# build, so the fallback is always tested).
DEFINE_MACROS = (
    [("TH_NO_INTERNALS", "1")]
    if os.environ.get("THREADHANDLE_NO_INTERNALS", "") not in ("", "0")
    else []
)

extension = Extension(
    "threadhandle._threadhandle",
    sources=["threadhandle/_threadhandle.pyx"]
    + [os.path.join("threadhandle", name) for name in C_SOURCES],
    include_dirs=["threadhandle"],
    depends=[os.path.join("threadhandle", name) for name in HEADERS],
    define_macros=DEFINE_MACROS,
    # Only PyInit needs exporting; hidden symbols let the C files reach
    # each other (and th_type) directly instead of through the GOT/PLT.
    extra_compile_args=(
        [] if sys.platform == "win32" else ["-fvisibility=hidden"]
    ),
)

setup(
    ext_modules=cythonize([extension]),
    # A build folder of its own, so that object files compiled with the
    # internals are never reused for a build without them (or back).
    options=(
        {"build": {"build_base": "build/no-internals"}}
        if DEFINE_MACROS
        else {}
    ),
)
