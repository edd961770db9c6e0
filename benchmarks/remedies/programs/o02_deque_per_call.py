"""A bounded deque made per call: each instance counts the deque type."""
from collections import deque

CATEGORY = "C-type instances"
SHARED = {"deque type": lambda ns: (deque,)}
REMEDIES = ["fewer_instances:deque type"]
WINDOWS = ((1, 2, 3), (4, 5), (6,), (7, 8, 9, 10))


def work(n):
    total = 0
    for i in range(n):
        window = deque(WINDOWS[i & 3], maxlen=3)
        total += window[-1] + len(window)
    return total


def work_fewer(n):
    # One deque per thread, cleared and refilled.
    window = deque(maxlen=3)
    total = 0
    for i in range(n):
        window.clear()
        window.extend(WINDOWS[i & 3])
        total += window[-1] + len(window)
    return total


def remedy_fewer_instances(mine, main):
    mine["work"] = mine["work_fewer"]
