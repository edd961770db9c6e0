"""An operator.itemgetter global used as a sort/extract key per row."""
from operator import itemgetter

CATEGORY = "operator"
SHARED = {"SECOND": None}
REMEDIES = ["deferred:SECOND", "handle:SECOND", "immortal:SECOND",
            "read_once:SECOND"]

SECOND = itemgetter(1)


def work(n):
    rows = [(k, k * 2, k * 3) for k in range(8)]
    total = 0
    for i in range(n):
        total += SECOND(rows[i & 7])
    return total


def work_local(n):
    second = SECOND
    rows = [(k, k * 2, k * 3) for k in range(8)]
    total = 0
    for i in range(n):
        total += second(rows[i & 7])
    return total


def remedy_read_once(mine, main):
    mine["work"] = mine["work_local"]
