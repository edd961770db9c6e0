# cython: language_level=3
# cython: freethreading_compatible=True
"""A module built against the installed threadhandle, the way another
package would use it: the handled object is read at C level, without a
Python attribute lookup."""
from threadhandle cimport ThreadHandle, handled


def make_handle(target):
    """A ThreadHandle made from Cython, typed as one."""
    cdef ThreadHandle h = ThreadHandle(target)
    return h


def handled_field(ThreadHandle h):
    """h.obj: a C struct access."""
    return h.obj


def handled_inline(x):
    """handled(x): the handled object, or x itself."""
    return handled(x)


def is_thread_handle(x):
    return isinstance(x, ThreadHandle)


def sum_through_handle(ThreadHandle h, keys):
    """Sum h[k] over keys, the object reached through the C field."""
    cdef object table = h.obj
    cdef long total = 0
    for k in keys:
        total += table[k]
    return total
