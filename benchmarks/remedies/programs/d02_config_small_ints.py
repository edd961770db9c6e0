"""A config instance read attribute by attribute (small ints: immortal)."""
CATEGORY = "instances"
SHARED = {"CONFIG": None}
REMEDIES = ["deferred:CONFIG", "handle:CONFIG", "immortal:CONFIG",
            "read_once:CONFIG"]


class Config:
    def __init__(self):
        self.retries = 3
        self.timeout = 30
        self.verbose = False


CONFIG = Config()


def work(n):
    total = 0
    for i in range(n):
        total += CONFIG.retries + CONFIG.timeout
    return total


def work_local(n):
    retries, timeout = CONFIG.retries, CONFIG.timeout
    total = 0
    for i in range(n):
        total += retries + timeout
    return total


def remedy_read_once(mine, main):
    mine["work"] = mine["work_local"]
