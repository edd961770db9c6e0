"""A set of allowed names in a module global, tested per item (x in s)."""
import sys

import threadhandle

CATEGORY = "containers"
SHARED = {"ALLOWED": None}
REMEDIES = ["deferred:ALLOWED", "immortal:ALLOWED", "handle:ALLOWED",
            "frozen:ALLOWED"]

ALLOWED = {"alice", "bob", "carol", "dave"}
NAMES = ("alice", "mallory", "bob", "eve")


def long_lived(obj):
    """What the finder advises for a long-lived object after the change:
    deferral where there is one, else immortality."""
    if sys.version_info >= (3, 14):
        threadhandle.enable_deferred_refcount(obj)
    else:
        threadhandle.immortalize(obj)
    return obj


# The remedy for the set (on 3.13t and 3.14t every read locks a set): the
# same names as a frozenset, made long-lived as advised.
FROZEN_ALLOWED = long_lived(frozenset(ALLOWED))


def work(n):
    hits = 0
    for i in range(n):
        hits += NAMES[i & 3] in ALLOWED
    return hits


def remedy_frozen(mine, main):
    mine["ALLOWED"] = main["FROZEN_ALLOWED"]
