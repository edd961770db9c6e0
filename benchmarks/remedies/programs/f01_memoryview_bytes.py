"""A memoryview taken of a bytes payload global at every parse."""
CATEGORY = "bytes"
SHARED = {"PAYLOAD": None}
REMEDIES = ["immortal:PAYLOAD", "handle:PAYLOAD", "bind_once:PAYLOAD"]

PAYLOAD = bytes(range(256)) * 4


def work(n):
    total = 0
    for i in range(n):
        total += memoryview(PAYLOAD)[i & 1023]
    return total


def work_view_once(n):
    view = memoryview(PAYLOAD)
    total = 0
    for i in range(n):
        total += view[i & 1023]
    return total


def remedy_bind_once(mine, main):
    mine["work"] = mine["work_view_once"]
