"""An array global summed with a.sum() (a method of the array)."""
REQUIRES = ("numpy",)
import numpy as np

CATEGORY = "numpy"
SHARED = {"A": None}
REMEDIES = ["immortal:A", "handle:A", "deferred:A", "bind_once:A"]

A = np.arange(100, dtype=np.float64)


def work(n):
    total = 0
    for i in range(n):
        total += int(A.sum())
    return total


def work_bound(n):
    total_of = A.sum
    total = 0
    for i in range(n):
        total += int(total_of())
    return total


def remedy_bind_once(mine, main):
    mine["work"] = mine["work_bound"]
