"""np.asarray on an array global (what library entry points do first)."""
REQUIRES = ("numpy",)
import numpy as np

CATEGORY = "numpy"
SHARED = {"A": None}
REMEDIES = ["immortal:A", "handle:A", "deferred:A", "read_once:A"]

A = np.arange(100, dtype=np.float64)


def work(n):
    total = 0
    for i in range(n):
        total += np.asarray(A).shape[0]
    return total


def work_local(n):
    a = np.asarray(A)
    total = 0
    for i in range(n):
        total += a.shape[0]
    return total


def remedy_read_once(mine, main):
    mine["work"] = mine["work_local"]
