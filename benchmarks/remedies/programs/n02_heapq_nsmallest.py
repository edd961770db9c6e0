"""heapq.nsmallest over a shared heap of deadlines (ints above 256)."""
import heapq

CATEGORY = "bisect/heapq"


def heap_ints(ns):
    return tuple(ns["DEADLINES"])


SHARED = {"DEADLINES": None, "heap ints": heap_ints}
REMEDIES = ["deferred:DEADLINES", "immortal:heap ints",
            "deferred:DEADLINES+immortal:heap ints", "handle:DEADLINES"]

DEADLINES = [1000 + 37 * k % 500 for k in range(12)]
heapq.heapify(DEADLINES)


def work(n):
    total = 0
    for i in range(n):
        total += heapq.nsmallest(2, DEADLINES)[i & 1]
    return total


def share(mine, main, own):
    if "DEADLINES" in own and "heap ints" in own:
        return
    if "heap ints" in own:
        raise NotOwnable("the shared heap holds the shared ints")
    mine["DEADLINES"] = (list(main["DEADLINES"]) if own
                         else main["DEADLINES"])
