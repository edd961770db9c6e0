# cython: language_level=3
"""What other Cython modules may cimport: the ThreadHandle class and its
handled object at C level.

    from threadhandle cimport ThreadHandle, handled

    cdef ThreadHandle h = ThreadHandle(d)
    d2 = h.obj          # C struct access, no attribute lookup
    d3 = handled(x)     # the handled object, or x if x is not a handle
"""
cimport cython


@cython.final
cdef class ThreadHandle:
    # Same order and types as ThreadHandleObject in handle.h (checked at
    # compile time by _threadhandle.pyx).
    cdef object obj
    cdef void *vectorcall
    cdef void *attr_cache
    cdef object __weakref__


cdef inline object handled(object x):
    """The object `x` handles, or `x` itself if it is not a ThreadHandle."""
    if type(x) is ThreadHandle:
        return (<ThreadHandle>x).obj
    return x
