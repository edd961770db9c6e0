"""Build of the threadhandle extension: the Cython class and its C slots,
compiled into one module.  Metadata is in pyproject.toml."""
import os
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

C_SOURCES = ["forward.c", "attributes.c", "install.c", "local.c"]
HEADERS = ["handle.h", "compat.h"]

extension = Extension(
    "threadhandle._threadhandle",
    sources=["threadhandle/_threadhandle.pyx"]
    + [os.path.join("threadhandle", name) for name in C_SOURCES],
    include_dirs=["threadhandle"],
    depends=[os.path.join("threadhandle", name) for name in HEADERS],
    # Only PyInit needs exporting; hidden symbols let the C files reach
    # each other (and th_type) directly instead of through the GOT/PLT.
    extra_compile_args=[] if sys.platform == "win32" else ["-fvisibility=hidden"],
)

setup(ext_modules=cythonize([extension]))
