"""bisect on a shared sorted list of bucket bounds (ints above 256)."""
from bisect import bisect_left

CATEGORY = "bisect/heapq"


def bound_ints(ns):
    return tuple(ns["BOUNDS"])


SHARED = {"BOUNDS": None, "bound ints": bound_ints}
# No handle: bisect refuses one (no sq_item; docs/forwarding.md).
REMEDIES = ["deferred:BOUNDS", "immortal:bound ints",
            "deferred:BOUNDS+immortal:bound ints", "immortal_values:BOUNDS"]

BOUNDS = [300 + 100 * k for k in range(8)]


def work(n):
    total = 0
    for i in range(n):
        total += bisect_left(BOUNDS, 250 + (i & 1023))
    return total


def share(mine, main, own):
    if "BOUNDS" in own and "bound ints" in own:
        return
    if "bound ints" in own:
        raise NotOwnable("the shared list holds the shared ints")
    mine["BOUNDS"] = list(main["BOUNDS"]) if own else main["BOUNDS"]
