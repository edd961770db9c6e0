"""A dataclass instance and its float fields, read by both threads."""
import copy
from dataclasses import dataclass

CATEGORY = "joint"


def point_values(ns):
    return (ns["ORIGIN"].x, ns["ORIGIN"].y)


SHARED = {"ORIGIN": None, "ORIGIN values": point_values}
REMEDIES = ["deferred:ORIGIN", "immortal:ORIGIN values",
            "deferred:ORIGIN+immortal:ORIGIN values",
            "immortal_values:ORIGIN", "handle:ORIGIN", "read_once:ORIGIN"]


@dataclass
class Point:
    x: float
    y: float


# Floats made at run time: constants would be shared by the code object.
ORIGIN = Point(float("1.5"), float("2.25"))


def work(n):
    total = 0.0
    for i in range(n):
        total += ORIGIN.x * ORIGIN.y
    return total


def work_local(n):
    x, y = ORIGIN.x, ORIGIN.y
    total = 0.0
    for i in range(n):
        total += x * y
    return total


def share(mine, main, own):
    if "ORIGIN" in own and "ORIGIN values" in own:
        return
    if "ORIGIN values" in own:
        raise NotOwnable("the shared instance holds the shared floats")
    # An own instance holding the shared floats, or the shared instance.
    mine["ORIGIN"] = copy.copy(main["ORIGIN"]) if own else main["ORIGIN"]


def remedy_read_once(mine, main):
    mine["work"] = mine["work_local"]
