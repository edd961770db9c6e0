"""A functools.partial global (a bound configuration) called per item."""
from functools import partial

CATEGORY = "functools"
SHARED = {"POWER_OF_TWO": None}
REMEDIES = ["deferred:POWER_OF_TWO", "handle:POWER_OF_TWO",
            "immortal:POWER_OF_TWO", "read_once:POWER_OF_TWO"]

POWER_OF_TWO = partial(pow, 2)


def work(n):
    total = 0
    for i in range(n):
        total += POWER_OF_TWO(i & 7)
    return total


def work_local(n):
    power = POWER_OF_TWO
    total = 0
    for i in range(n):
        total += power(i & 7)
    return total


def remedy_read_once(mine, main):
    mine["work"] = mine["work_local"]
