"""struct.unpack(format, record): struct's cache gives the Struct."""
import gc
import struct

CATEGORY = "struct"
FORMAT = "<IHHd"


def cached_struct(ns):
    # struct's cache is not reachable from Python: the Struct objects of
    # this format that the GC knows (the cached one among them).
    struct.unpack(FORMAT, ns["RECORD"])
    return tuple(o for o in gc.get_objects()
                 if type(o) is struct.Struct and o.format == FORMAT)


SHARED = {"struct cache Struct": cached_struct}
REMEDIES = ["bind_once:struct cache Struct"]
RECORD = struct.pack(FORMAT, 7, 1, 2, 0.5)


def work(n):
    total = 0
    for i in range(n):
        total += struct.unpack(FORMAT, RECORD)[i & 1]
    return total


def work_with(unpack, n):
    total = 0
    for i in range(n):
        total += unpack(RECORD)[i & 1]
    return total


def share(mine, main, own):
    if own:
        unpack = struct.Struct(FORMAT).unpack
        mine["work"] = lambda n: work_with(unpack, n)


def remedy_bind_once(mine, main):
    # A Struct made once per thread (struct.Struct() does not cache).
    unpack = struct.Struct(FORMAT).unpack
    mine["work"] = lambda n: mine["work_with"](unpack, n)
