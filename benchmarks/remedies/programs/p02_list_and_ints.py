"""A list of prices and its int items (above 256), read by both threads."""
CATEGORY = "joint"


def list_items(ns):
    return tuple(ns["PRICES"])


SHARED = {"PRICES": None, "PRICES items": list_items}
REMEDIES = ["deferred:PRICES", "immortal:PRICES items",
            "deferred:PRICES+immortal:PRICES items",
            "immortal_values:PRICES", "handle:PRICES"]

PRICES = [1000 + 17 * k for k in range(8)]


def work(n):
    total = 0
    for i in range(n):
        total += PRICES[i & 7]
    return total


def share(mine, main, own):
    if "PRICES" in own and "PRICES items" in own:
        return
    if "PRICES items" in own:
        raise NotOwnable("the shared list holds the shared ints")
    mine["PRICES"] = list(main["PRICES"]) if own else main["PRICES"]
