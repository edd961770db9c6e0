"""Counter lookups with keys made at run time (word counts by name)."""
import sys
from collections import Counter

CATEGORY = "collections"
SHARED = {"COUNTS": None}
REMEDIES = ["deferred:COUNTS", "intern_keys:COUNTS",
            "deferred:COUNTS+intern_keys:COUNTS", "handle:COUNTS"]

COUNTS = Counter({f"w{k}": k + 1 for k in range(8)})


def work(n):
    total = 0
    for i in range(n):
        total += COUNTS["w" + str(i & 7)]
    return total


def work_interned(n):
    intern = sys.intern
    total = 0
    for i in range(n):
        total += COUNTS[intern("w" + str(i & 7))]
    return total


def remedy_intern_keys(mine, main):
    mine["work"] = mine["work_interned"]
