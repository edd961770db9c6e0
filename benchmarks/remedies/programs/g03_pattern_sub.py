"""A compiled pattern global used with .sub to normalise each string."""
import re

CATEGORY = "regex"
SHARED = {"SPACES": None}
REMEDIES = ["deferred:SPACES", "handle:SPACES", "bind_once:SPACES"]
OWN_COPY = {"SPACES": lambda p: re._compiler.compile(p.pattern, p.flags)}

SPACES = re.compile(r"\s+")
TEXTS = ("a  b", "c\td  e", "f", "g \n h")


def work(n):
    total = 0
    for i in range(n):
        total += len(SPACES.sub(" ", TEXTS[i & 3]))
    return total


def work_bound(n):
    sub = SPACES.sub
    total = 0
    for i in range(n):
        total += len(sub(" ", TEXTS[i & 3]))
    return total


def remedy_bind_once(mine, main):
    mine["work"] = mine["work_bound"]
