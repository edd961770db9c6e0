"""A memoryview global (made once) indexed by both threads."""
CATEGORY = "bytes"


def payload(ns):
    return (ns["VIEW"].obj,)


SHARED = {"VIEW": None, "payload": payload}
REMEDIES = ["immortal:VIEW", "handle:VIEW", "immortal:VIEW+immortal:payload",
            "read_once:VIEW"]

VIEW = memoryview(bytes(range(256)) * 4)


def work(n):
    total = 0
    for i in range(n):
        total += VIEW[i & 1023]
    return total


def work_local(n):
    view = VIEW
    total = 0
    for i in range(n):
        total += view[i & 1023]
    return total


def share(mine, main, own):
    if "VIEW" in own and "payload" in own:
        return
    if "payload" in own:
        raise NotOwnable("the shared view holds the shared bytes")
    # An own view of the shared bytes, or the shared view.
    mine["VIEW"] = memoryview(main["VIEW"].obj) if own else main["VIEW"]


def remedy_read_once(mine, main):
    mine["work"] = mine["work_local"]
