"""A module logger whose debug() calls are off (the common case)."""
import logging

CATEGORY = "logging"


def logger_and_cache(ns):
    return (ns["LOG"], ns["LOG"]._cache)


SHARED = {"LOG": logger_and_cache}
REMEDIES = ["deferred:LOG", "handle:LOG", "bind_once:LOG"]


def own_logger(log):
    # getLogger returns the registered logger: an own one is made apart.
    own = logging.Logger(log.name, log.level)
    own.parent = log.parent
    return own


OWN_COPY = {"LOG": own_logger}
LOG = logging.getLogger("remedy-suite.app")
LOG.setLevel(logging.WARNING)


def work(n):
    done = 0
    for i in range(n):
        LOG.debug("item %d", i)
        done += 1
    return done


def work_bound(n):
    debug = LOG.debug
    done = 0
    for i in range(n):
        debug("item %d", i)
        done += 1
    return done


def remedy_bind_once(mine, main):
    mine["work"] = mine["work_bound"]
