"""A frozenset of stop words tested for membership as a module global."""
CATEGORY = "containers"
SHARED = {"STOP_WORDS": None}
REMEDIES = ["deferred:STOP_WORDS", "immortal:STOP_WORDS",
            "handle:STOP_WORDS", "read_once:STOP_WORDS"]

STOP_WORDS = frozenset({"a", "an", "the", "of", "to", "in"})
WORDS = ("the", "cat", "of", "mat")


def work(n):
    kept = 0
    for i in range(n):
        if WORDS[i & 3] not in STOP_WORDS:
            kept += 1
    return kept


def work_local(n):
    stop = STOP_WORDS
    kept = 0
    for i in range(n):
        if WORDS[i & 3] not in stop:
            kept += 1
    return kept


def remedy_read_once(mine, main):
    mine["work"] = mine["work_local"]
