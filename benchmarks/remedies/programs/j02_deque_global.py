"""A deque of recent values (module global) read by index."""
from collections import deque

CATEGORY = "collections"
SHARED = {"RECENT": None}
REMEDIES = ["deferred:RECENT", "handle:RECENT", "immortal:RECENT",
            "read_once:RECENT"]

RECENT = deque(range(16), maxlen=16)


def work(n):
    total = 0
    for i in range(n):
        total += RECENT[i & 15]
    return total


def work_local(n):
    recent = RECENT
    total = 0
    for i in range(n):
        total += recent[i & 15]
    return total


def remedy_read_once(mine, main):
    mine["work"] = mine["work_local"]
