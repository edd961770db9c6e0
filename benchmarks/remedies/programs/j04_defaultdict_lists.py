"""A defaultdict(list) index whose list values are read per lookup."""
from collections import defaultdict

CATEGORY = "collections"


def index_lists(ns):
    return tuple(ns["INDEX"].values())


SHARED = {"INDEX": None, "index lists": index_lists}
REMEDIES = ["deferred:INDEX", "deferred:index lists",
            "deferred:INDEX+deferred:index lists", "handle:INDEX"]

INDEX = defaultdict(list, {"a": [1, 2], "b": [3], "c": [4, 5, 6], "d": []})
KEYS = ("a", "b", "c", "d")


def work(n):
    total = 0
    for i in range(n):
        total += len(INDEX[KEYS[i & 3]])
    return total


def share(mine, main, own):
    if "INDEX" in own and "index lists" in own:
        return
    if "index lists" in own:
        raise NotOwnable("the shared index holds the shared lists")
    # An own index holding the shared lists, or the shared index.
    mine["INDEX"] = (defaultdict(list, main["INDEX"]) if own
                     else main["INDEX"])
