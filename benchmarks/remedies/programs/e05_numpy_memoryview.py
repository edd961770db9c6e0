"""A memoryview taken of an array global at every call (a Cython double[:])."""
REQUIRES = ("numpy",)
import numpy as np

CATEGORY = "numpy"
SHARED = {"A": None}
REMEDIES = ["immortal:A", "handle:A", "deferred:A", "bind_once:A"]

A = np.arange(100, dtype=np.float64)


def work(n):
    total = 0
    for i in range(n):
        total += int(memoryview(A)[i % 100])
    return total


def work_view_once(n):
    view = memoryview(A)
    total = 0
    for i in range(n):
        total += int(view[i % 100])
    return total


def remedy_bind_once(mine, main):
    mine["work"] = mine["work_view_once"]
