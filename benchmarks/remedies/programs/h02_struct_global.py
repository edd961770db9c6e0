"""A struct.Struct header format kept as a module global."""
import struct

CATEGORY = "struct"
SHARED = {"HEADER": None}
REMEDIES = ["deferred:HEADER", "handle:HEADER", "immortal:HEADER",
            "bind_once:HEADER"]

HEADER = struct.Struct("<IHH")
RECORD = HEADER.pack(9, 3, 4)


def work(n):
    total = 0
    for i in range(n):
        total += HEADER.unpack(RECORD)[i & 1]
    return total


def work_bound(n):
    unpack = HEADER.unpack
    total = 0
    for i in range(n):
        total += unpack(RECORD)[i & 1]
    return total


def remedy_bind_once(mine, main):
    mine["work"] = mine["work_bound"]
