"""A table (list) passed as an argument to a helper at every call."""
CATEGORY = "containers"
SHARED = {"WEIGHTS": None}
REMEDIES = ["deferred:WEIGHTS", "handle:WEIGHTS", "immortal:WEIGHTS",
            "read_once:WEIGHTS"]

WEIGHTS = [3, 1, 4, 1, 5, 9, 2, 6]


def score(weights, i):
    return weights[i & 7] * 2


def work(n):
    total = 0
    for i in range(n):
        total += score(WEIGHTS, i)
    return total


def work_local(n):
    # The helper inlined, the table read once: no argument to pass.
    weights = WEIGHTS
    total = 0
    for i in range(n):
        total += weights[i & 7] * 2
    return total


def remedy_read_once(mine, main):
    mine["work"] = mine["work_local"]
