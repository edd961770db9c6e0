"""re.match(pattern_string, line): the re module's cache gives the pattern."""
import re

CATEGORY = "regex"
RX = r"(\w+)=(\d+)"


def cached_pattern(ns):
    return (re.compile(ns["RX"]),)


SHARED = {"re._cache pattern": cached_pattern}
REMEDIES = ["deferred:re._cache pattern", "immortal:re._cache pattern",
            "bind_once:re._cache pattern"]
LINES = ("retries=5", "timeout=30", "no match here", "backoff=2")


def work(n):
    total = 0
    for i in range(n):
        m = re.match(RX, LINES[i & 3])
        if m:
            total += len(m.group(2))
    return total


def work_with(match, n):
    total = 0
    for i in range(n):
        m = match(LINES[i & 3])
        if m:
            total += len(m.group(2))
    return total


def share(mine, main, own):
    if own:
        # The thread's own pattern, compiled past the cache.
        match = re._compiler.compile(RX, 0).match
        mine["work"] = lambda n: work_with(match, n)


def remedy_bind_once(mine, main):
    # What user code can do: compile once per thread (re.compile still
    # returns the cached pattern) and bind its match.
    match = re.compile(RX).match
    mine["work"] = lambda n: mine["work_with"](match, n)
