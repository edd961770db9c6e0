"""A compiled pattern (module global) matched against each line."""
import re

CATEGORY = "regex"
SHARED = {"PATTERN": None}
REMEDIES = ["deferred:PATTERN", "handle:PATTERN", "immortal:PATTERN",
            "bind_once:PATTERN"]
# re.compile returns the cached pattern: an own copy is compiled past the
# cache (what no user code does; the ideal, not a remedy).
OWN_COPY = {"PATTERN": lambda p: re._compiler.compile(p.pattern, p.flags)}

PATTERN = re.compile(r"(\w+)=(\d+)")
LINES = ("retries=5", "timeout=30", "no match here", "backoff=2")


def work(n):
    total = 0
    for i in range(n):
        m = PATTERN.match(LINES[i & 3])
        if m:
            total += len(m.group(2))
    return total


def work_bound(n):
    match = PATTERN.match
    total = 0
    for i in range(n):
        m = match(LINES[i & 3])
        if m:
            total += len(m.group(2))
    return total


def remedy_bind_once(mine, main):
    mine["work"] = mine["work_bound"]
