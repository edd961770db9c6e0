"""local_handle() in callbacks: code that is handed the shared object on
every call, on whatever thread runs it, and cannot keep state per thread
itself.  local_handle(obj) returns this thread's handle of obj, made on the
first call and reused afterwards.
"""
from concurrent.futures import ThreadPoolExecutor

from threadhandle import local_handle, unwrap

inventory = {"bolts": 120, "nuts": 300, "washers": 80}


def on_order(stock, order):
    """A callback: gets the shared dict itself each time."""
    table = local_handle(stock)          # the same handle on this thread
    return all(table[item] >= count for item, count in order.items()), table


orders = [{"bolts": 10 * (i % 15), "nuts": 20 * (i % 17)} for i in range(60)]

with ThreadPoolExecutor(max_workers=3) as pool:
    outcomes = list(pool.map(lambda order: on_order(inventory, order),
                             orders))
# Each worker's cached handles were dropped when the pool shut its threads
# down; a thread can drop its own sooner with release_local_handle(obj) or
# clear_local_handles().

handles = {id(table) for _, table in outcomes}
print("orders that can be filled:", sum(ok for ok, _ in outcomes))
print("at most one handle per worker:", len(handles) <= 3)
print("all handle the inventory:",
      all(unwrap(table) is inventory for _, table in outcomes))
print("main thread reuses its own:",
      local_handle(inventory) is local_handle(inventory))
