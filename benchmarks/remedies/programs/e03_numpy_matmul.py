"""A weight matrix used with the @ operator on each input."""
REQUIRES = ("numpy",)
import numpy as np

CATEGORY = "numpy"
SHARED = {"W": None}
REMEDIES = ["immortal:W", "handle:W", "deferred:W"]

W = np.arange(64, dtype=np.float64).reshape(8, 8) / 64


def work(n):
    x = np.ones(8)
    total = 0
    for i in range(n):
        y = W @ x
        total += int(y[i & 7] * 64)
    return total
