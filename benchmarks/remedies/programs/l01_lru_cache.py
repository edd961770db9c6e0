"""An lru_cache'd function (module global) called with repeating keys."""
from functools import lru_cache

CATEGORY = "functools"
SHARED = {"price": None}
REMEDIES = ["deferred:price", "handle:price", "local_handle:price",
            "read_once:price"]


@lru_cache(maxsize=64)
def price(item):
    return item * 7 + 3


def work(n):
    total = 0
    for i in range(n):
        total += price(i & 15)
    return total


def work_local(n):
    cached = price
    total = 0
    for i in range(n):
        total += cached(i & 15)
    return total


def remedy_read_once(mine, main):
    mine["work"] = mine["work_local"]
