"""A settings dict read as a module global in every request."""
CATEGORY = "containers"
SHARED = {"SETTINGS": None}
REMEDIES = ["deferred:SETTINGS", "handle:SETTINGS", "local_handle:SETTINGS",
            "immortal:SETTINGS", "read_once:SETTINGS"]

SETTINGS = {"timeout": 30, "retries": 5, "backoff": 2, "debug": False}


def work(n):
    total = 0
    for i in range(n):
        total += SETTINGS["timeout"] + SETTINGS.get("retries", 0)
    return total


def work_local(n):
    settings = SETTINGS
    total = 0
    for i in range(n):
        total += settings["timeout"] + settings.get("retries", 0)
    return total


def remedy_read_once(mine, main):
    mine["work"] = mine["work_local"]
