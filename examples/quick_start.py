"""Quick start: give each thread its own handle of a shared object.

A ThreadHandle behaves like the object it handles.  On free-threaded
CPython, reading a shared object through a handle that only one thread uses
does not touch the object's shared reference count, so threads do not
contend on it.  On GIL builds the handle works the same, just without a
speed-up.
"""
import sys
import threading

from threadhandle import ThreadHandle, unwrap

prices = {"apple": 3, "pear": 5, "plum": 2}   # shared, read by all threads
orders = [["apple", "plum"], ["pear"], ["plum", "plum", "apple"], ["pear"]]
totals = [0] * len(orders)


def checkout(index):
    table = ThreadHandle(prices)        # this thread's own handle
    total = 0
    for _ in range(1000):               # hot loop: the handle, not prices
        total = sum(table[item] for item in orders[index])
    totals[index] = total


threads = [threading.Thread(target=checkout, args=(i,))
           for i in range(len(orders))]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()

handle = ThreadHandle(prices)
print("totals:", totals)
print("handle == object:", handle == prices)
print("isinstance(handle, dict):", isinstance(handle, dict))
print("unwrap(handle) is prices:", unwrap(handle) is prices)
print("type(handle).__name__:", type(handle).__name__)
gil = getattr(sys, "_is_gil_enabled", lambda: True)()
print("build:", "GIL" if gil else "free-threaded", file=sys.stderr)
