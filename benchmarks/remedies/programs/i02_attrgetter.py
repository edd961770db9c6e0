"""An operator.attrgetter global applied to each record."""
from operator import attrgetter

CATEGORY = "operator"
SHARED = {"SIZE_OF": None}
REMEDIES = ["deferred:SIZE_OF", "handle:SIZE_OF", "immortal:SIZE_OF",
            "read_once:SIZE_OF"]

SIZE_OF = attrgetter("size")


class Record:
    def __init__(self, size):
        self.size = size


def work(n):
    records = [Record(k) for k in range(8)]
    total = 0
    for i in range(n):
        total += SIZE_OF(records[i & 7])
    return total


def work_local(n):
    size_of = SIZE_OF
    records = [Record(k) for k in range(8)]
    total = 0
    for i in range(n):
        total += size_of(records[i & 7])
    return total


def remedy_read_once(mine, main):
    mine["work"] = mine["work_local"]
