"""A router's routes dict read as an attribute of a shared instance."""
import copy

CATEGORY = "containers"


def routes(ns):
    return (ns["ROUTER"].routes,)


SHARED = {"ROUTER": None, "routes dict": routes}
REMEDIES = ["deferred:ROUTER", "deferred:routes dict",
            "deferred:ROUTER+deferred:routes dict", "handle:ROUTER",
            "read_once:routes dict"]


class Router:
    def __init__(self):
        self.routes = {"/": 1, "/login": 2, "/items": 3, "/cart": 4}

    def resolve(self, path):
        return self.routes.get(path, 0)


ROUTER = Router()
PATHS = ("/", "/items", "/nope", "/cart")


def work(n):
    total = 0
    for i in range(n):
        total += ROUTER.routes.get(PATHS[i & 3], 0)
    return total


def work_local(n):
    table = ROUTER.routes
    total = 0
    for i in range(n):
        total += table.get(PATHS[i & 3], 0)
    return total


def share(mine, main, own):
    if "ROUTER" in own and "routes dict" in own:
        return
    if "routes dict" in own:
        raise NotOwnable("the shared router holds the shared dict")
    # An own router holding the shared dict, or the shared router.
    mine["ROUTER"] = copy.copy(main["ROUTER"]) if own else main["ROUTER"]


def remedy_read_once(mine, main):
    mine["work"] = mine["work_local"]
