"""A set of allowed names kept in a closure, the filter called per item."""
CATEGORY = "containers"


def allowed_set(ns):
    return (ns["IS_ALLOWED"].__closure__[0].cell_contents,)


def filter_and_cell(ns):
    return (ns["IS_ALLOWED"], ns["IS_ALLOWED"].__closure__[0])


# The filter stands for the function and its closure cell (a thread's own
# filter has both); the set alone cannot be owned.
SHARED = {"IS_ALLOWED": filter_and_cell, "allowed set": allowed_set}
REMEDIES = ["deferred:IS_ALLOWED", "deferred:allowed set",
            "deferred:IS_ALLOWED+deferred:allowed set",
            "handle:IS_ALLOWED", "bind_once:IS_ALLOWED"]


def make_filter(allowed):
    def is_allowed(name):
        return name in allowed
    return is_allowed


IS_ALLOWED = make_filter({"alice", "bob", "carol", "dave"})
NAMES = ("alice", "mallory", "bob", "eve")


def work(n):
    hits = 0
    for i in range(n):
        hits += IS_ALLOWED(NAMES[i & 3])
    return hits


def share(mine, main, own):
    if "IS_ALLOWED" not in own:
        if own:
            raise NotOwnable("the shared filter holds the shared set")
        mine["IS_ALLOWED"] = main["IS_ALLOWED"]
    elif "allowed set" not in own:
        # Its own function and cell, the shared set.
        mine["IS_ALLOWED"] = mine["make_filter"](allowed_set(main)[0])


def remedy_bind_once(mine, main):
    # Each thread makes its own filter over the shared set.
    mine["IS_ALLOWED"] = mine["make_filter"](allowed_set(main)[0])
