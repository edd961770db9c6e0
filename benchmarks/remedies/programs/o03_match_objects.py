"""A pattern's Match objects: each one counts re.Match and the pattern."""
import re

CATEGORY = "C-type instances"
SHARED = {"TOKEN": None, "re.Match type": lambda ns: (re.Match,)}
REMEDIES = ["deferred:TOKEN", "handle:TOKEN", "fullmatch_test:TOKEN"]
OWN_COPY = {"TOKEN": lambda p: re._compiler.compile(p.pattern, p.flags)}

TOKEN = re.compile(r"[a-z]+")
WORDS = ("alpha", "beta", "9lives", "gamma")


def work(n):
    hits = 0
    for i in range(n):
        if TOKEN.match(WORDS[i & 3]) is not None:
            hits += 1
    return hits


def work_no_match_objects(n):
    # Asking str methods what the pattern asks: no Match is made.
    hits = 0
    for i in range(n):
        word = WORDS[i & 3]
        if word[:1].isalpha() and word[:1].islower():
            hits += 1
    return hits


def remedy_fullmatch_test(mine, main):
    mine["work"] = mine["work_no_match_objects"]
