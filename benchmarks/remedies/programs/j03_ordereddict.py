"""An OrderedDict of handlers looked up by name."""
from collections import OrderedDict

CATEGORY = "collections"
SHARED = {"HANDLERS": None}
REMEDIES = ["deferred:HANDLERS", "handle:HANDLERS", "immortal:HANDLERS",
            "read_once:HANDLERS"]

HANDLERS = OrderedDict([("get", 1), ("put", 2), ("post", 3), ("delete", 4)])
VERBS = ("get", "post", "put", "patch")


def work(n):
    total = 0
    for i in range(n):
        total += HANDLERS.get(VERBS[i & 3], 0)
    return total


def work_local(n):
    handlers = HANDLERS
    total = 0
    for i in range(n):
        total += handlers.get(VERBS[i & 3], 0)
    return total


def remedy_read_once(mine, main):
    mine["work"] = mine["work_local"]
