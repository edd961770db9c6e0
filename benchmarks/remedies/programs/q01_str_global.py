"""A str made at run time (a key prefix, module global) used per request."""
CATEGORY = "str"
SHARED = {"PREFIX": None}
# immortalize refuses a str (sys.intern is the tool): listed to show it.
# No handle: str.startswith takes a str only, not a handle of one.
REMEDIES = ["intern:PREFIX", "immortal:PREFIX", "read_once:PREFIX"]

# Made at run time, so not interned (a literal would be).
PREFIX = ":".join(["session", "user", ""])
KEYS = ("session:user:7", "cache:item:3", "session:user:9", "other")


def work(n):
    hits = 0
    for i in range(n):
        if KEYS[i & 3].startswith(PREFIX):
            hits += 1
    return hits


def work_local(n):
    prefix = PREFIX
    hits = 0
    for i in range(n):
        if KEYS[i & 3].startswith(prefix):
            hits += 1
    return hits


def remedy_read_once(mine, main):
    mine["work"] = mine["work_local"]
