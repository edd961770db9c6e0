# cython: language_level=3
# cython: freethreading_compatible=True
# cython: embedsignature=True
# cython: binding=False
# (binding=False: methods are method descriptors, which check the type of
# self, so ThreadHandle.__enter__(None) raises TypeError instead of crashing.)
"""ThreadHandle: a thread-local proxy that removes reference-count contention
on shared objects in free-threaded CPython.

The class is declared here; its slots (attribute access, calls, operators,
containers, iteration, async, buffer) are C functions in forward.c and
attributes.c, installed when this module initialises (install.c; handle.h
maps the C files).  The methods below are the special methods CPython looks
up on the type rather than through attribute access.
"""
cimport cython

import builtins
import copy
import copyreg
import math
import operator
import os
import types

cdef extern from "Python.h":
    ctypedef struct PyTypeObject
    ctypedef struct PyObject
    object PyObject_Vectorcall(object callable, PyObject **args, size_t nargsf,
                               PyObject *kwnames)

cdef extern from "compat.h":
    int th_enable_deferred_refcount(object op)
    int th_is_immortal(object op)

cdef extern from "internals.h":
    # 1 where attributes.c reads inline values (3.14t, 3.15t), else 0.
    int TH_INLINE_VALUES
    # 1 where local.c hooks the end of thread states (3.11), else 0.
    int TH_THREAD_END_HOOK
    # 1 where immortal.c makes objects immortal through CPython internals
    # (3.13t, 3.14t, 3.15t), else 0.
    int TH_SET_IMMORTAL

cdef extern from "handle.h":
    int th_lookup_init() except -1
    int th_install_slots(PyTypeObject *type) except -1
    int th_check_forward_slots(PyTypeObject *type) except -1
    object th_unwrap(object op)
    int th_check_proxy_chain(object obj) except -1
    object th_special_method(object obj, object name, object dflt)
    int th_has_len(object obj)
    void *th_vectorcall_for(object obj)
    void th_attr_cache_free(void *h)
    Py_ssize_t th_attr_cache_sizeof(void *h)
    object th_attr_cache_names(void *h)
    int th_local_init() except -1
    object th_local_handle(object obj)
    int th_release_local_handle(object obj) except -1
    int th_clear_local_handles() except -1
    object th_thread_handles()
    const int th_can_immortalize
    int th_immortalize(object op) except -1
    # 0, or a compile error if handle.h and _threadhandle.pxd disagree on
    # the instance layout.
    # (Cython names the struct __pyx_obj_<module path>_<class>.)
    int TH_LAYOUT_MATCHES "TH_LAYOUT_MATCHES(__pyx_obj_12threadhandle_13_threadhandle_ThreadHandle)"
    # contention/_sampler.c
    ctypedef struct th_sampler
    int th_sampler_init() except -1
    int th_sampler_available()
    th_sampler *th_sampler_new(double duty, double max_rate) except NULL
    int th_sampler_start(th_sampler *s) except -1
    object th_sampler_swap(th_sampler *s, object objects)
    void th_sampler_resume(th_sampler *s)
    object th_sampler_stats(th_sampler *s)
    void th_sampler_stop(th_sampler *s)
    void th_sampler_free(th_sampler *s)


def _no_length_hint():
    """What ThreadHandle.__length_hint__ gives when the object has no
    hint: operator.length_hint then returns its default."""
    return NotImplemented


# The handled object is set once and never changes, not even by the GC: a
# cycle through a handle is broken at the other objects in it.  The
# trashcan keeps dropping a long chain (handle -> partial -> handle ...)
# from overflowing the C stack.
@cython.no_gc_clear
@cython.trashcan(True)
cdef class ThreadHandle:
    """ThreadHandle(obj)

    A thread-local handle of ``obj``.  It behaves exactly like the object it
    handles, and provides some performance benefits: on free-threaded
    CPython, operations through a handle do not touch ``obj``'s shared
    reference count, so threads that each use their own handle of one
    shared object do not contend on it.  Make one handle per thread.

    Attribute access, calls, operators, comparisons, hashing, containers,
    iteration, ``with``/``async with``, ``await``, the buffer protocol,
    ``str()``, ``format()``, ``copy`` and ``pickle`` all forward to ``obj``.
    ``h.__class__`` is ``obj``'s class, so ``isinstance(h, type(obj))``
    holds, while ``type(h) is ThreadHandle``.  In-place operators keep a
    handle: ``h += 1`` rebinds ``h`` to a handle of the result.

    A handle of a handle handles the underlying object.  The handled object
    is fixed when the handle is made; ``threadhandle.unwrap(h)`` returns it.
    Bound methods read through a handle are cached per handle, for the
    thread that made it, so ``h.get is h.get`` can be true.
    """

    def __cinit__(self, *args, **kwargs):
        if kwargs:
            raise TypeError("ThreadHandle() takes no keyword arguments")
        if len(args) != 1:
            raise TypeError(
                "ThreadHandle() takes exactly one argument (the object to "
                f"handle), {len(args)} given")
        obj = th_unwrap(args[0])
        th_check_proxy_chain(obj)
        self.obj = obj
        self.vectorcall = th_vectorcall_for(self.obj)

    def __dealloc__(self):
        th_attr_cache_free(<void *>self)

    def __repr__(self):
        return f"ThreadHandle({self.obj!r})"

    def __sizeof__(self):
        """Size of the handle itself, with its attribute cache."""
        return object.__sizeof__(self) + th_attr_cache_sizeof(<void *>self)

    @classmethod
    def __class_getitem__(cls, item):
        return _HandleAlias(cls, item)

    # --- isinstance(x, h) and issubclass(c, h) with a handle of a class:
    # CPython looks these up on type(h); isinstance(h, cls) does not use
    # them.  A handle of a non-class raises what the object would.

    def __instancecheck__(self, instance):
        return isinstance(instance, self.obj)

    def __subclasscheck__(self, subclass):
        return issubclass(subclass, self.obj)

    # --- context managers: looked up on type(obj), as `with obj` would.

    def __enter__(self):
        enter = _context_method(self.obj, "__enter__", "__exit__",
                                "the context manager protocol")
        return enter()

    def __exit__(self, exc_type, exc_value, traceback):
        exit_ = _context_method(self.obj, "__exit__", "__enter__",
                                "the context manager protocol")
        return exit_(exc_type, exc_value, traceback)

    def __aenter__(self):
        aenter = _context_method(self.obj, "__aenter__", "__aexit__",
                                 "the asynchronous context manager protocol")
        return aenter()

    def __aexit__(self, exc_type, exc_value, traceback):
        aexit = _context_method(self.obj, "__aexit__", "__aenter__",
                                "the asynchronous context manager protocol")
        return aexit(exc_type, exc_value, traceback)

    # --- the builtins that look these up on the type: each calls the same
    # builtin on obj, so its fallbacks and errors are the object's own.

    def __round__(self, *ndigits):
        return round(self.obj, *ndigits)

    def __trunc__(self):
        return math.trunc(self.obj)

    def __floor__(self):
        return math.floor(self.obj)

    def __ceil__(self):
        return math.ceil(self.obj)

    def __complex__(self):
        return complex(self.obj)

    def __bytes__(self):
        return bytes(self.obj)

    def __format__(self, format_spec):
        # Untyped: format() passes any str, subclasses included.  The
        # builtin itself (Cython inlines format() with errors of its own),
        # so that what it refuses is refused with its own TypeError.
        return _builtin_format(self.obj, format_spec)

    def __fspath__(self):
        return os.fspath(self.obj)

    def __reversed__(self):
        return reversed(self.obj)

    @property
    def __length_hint__(self):
        # operator.length_hint(h) has tried len(h) already.  A property,
        # not a method: length_hint checks what the hint returns and, on
        # 3.15, names the type it was given in its errors (ThreadHandle),
        # and it takes a TypeError raised by the call for "no hint", while
        # an error raised in looking the hint up reaches the caller.  So
        # here, in the lookup, length_hint runs on the object itself, whose
        # errors name the object's type; the call returns its answer.  Not
        # when the object has a length (its len() raised TypeError):
        # length_hint(obj) would call that again, so the object's own hint
        # is returned, for length_hint to call.
        obj = self.obj
        if th_has_len(obj):
            hint = th_special_method(obj, "__length_hint__", None)
            return _no_length_hint if hint is None else hint
        length = operator.length_hint(obj, -1)
        return _no_length_hint if length < 0 else (lambda: length)

    def __dir__(self):
        return dir(self.obj)

    # --- copy and pickle give the object, not a handle.  pickle and
    # copy.deepcopy look their hooks up on the instance, which would reach
    # the object's own; so the module registers these for the type too
    # (bottom of this file).

    def __copy__(self):
        return copy.copy(self.obj)

    def __deepcopy__(self, memo):
        return copy.deepcopy(self.obj, memo)

    def __reduce__(self):
        # getitem([obj], 0): the object is pickled as itself (shared with
        # other references to it), and loading needs no threadhandle.
        return (operator.getitem, ([self.obj], 0))

    def __reduce_ex__(self, protocol):
        return ThreadHandle.__reduce__(self)

    # --- numpy's function dispatch (NEP 18) looks __array_function__ up on
    # type(h), so every handle has it.  It passes the call on with the
    # objects in place of the handles, so numpy answers exactly as for the
    # objects (a handle of a list stays a list to numpy), and a handle of
    # an array costs what the array costs instead of numpy converting the
    # handle to a new array through the buffer protocol.  h.__array_function__
    # (attribute access) is still the object's own, or AttributeError.
    # numpy looks up __array__, __array_interface__ and __array_struct__ on
    # the instance, where a handle answers for its object, and tries the
    # buffer first: conversions (np.asarray(h), ufunc operands) are in the
    # known differences (docs/forwarding.md).

    def __array_function__(self, func, types, args, kwargs):
        # np.dot(h, x), np.sum(h), np.concatenate([h, ...]): the function
        # called with the objects in place of the handles: numpy's own
        # implementation if no argument overrides it (what numpy itself
        # would call), else the function, which dispatches again.
        cdef int state = 0
        cdef PyObject *stack[_MAX_FAST_ARGS]
        cdef Py_ssize_t i, n = len(args)
        cdef list keep = None
        implementation = getattr(func, "_implementation", None)
        if implementation is None:
            # np.asarray(x, like=h), np.zeros(2, like=h) (NEP 35): numpy
            # passes the public function, `like` taken out of kwargs.  What
            # numpy does for like=obj is what the function does when called
            # again with it (for an array: the function itself).
            args = _unwrap_nested(args, 0, &state)
            kwargs = {name: _unwrap_nested(value, 1, &state)
                      for name, value in kwargs.items()}
            kwargs["like"] = self.obj
            return func(*args, **kwargs)
        if not kwargs and n <= _MAX_FAST_ARGS:
            # Positional arguments only (most calls): no tuple to build.
            for i in range(n):
                item = args[i]
                new = _unwrap_nested(item, 1, &state)
                if new is not item and type(item) is not ThreadHandle:
                    if keep is None:
                        keep = []
                    keep.append(new)  # a rebuilt list or tuple
                stack[i] = <PyObject *>new
            if state & _FOUND:
                return PyObject_Vectorcall(
                    _dispatch_target(func, implementation, types, state),
                    stack, n, NULL)
        else:
            args = _unwrap_nested(args, 0, &state)
            if kwargs:
                kwargs = {name: _unwrap_nested(value, 1, &state)
                          for name, value in kwargs.items()}
            if state & _FOUND:
                return _dispatch_target(func, implementation, types,
                                        state)(*args, **kwargs)
        # The handle numpy found is somewhere this does not look (another
        # kind of container): numpy's implementation converts it, unless
        # another argument overrides the function.
        if _types_override(types):
            return NotImplemented
        return implementation(*args, **kwargs)


# How many positional arguments __array_function__ passes on without
# building a tuple, and how deep it looks into nested lists and tuples of
# its arguments (numpy's own nesting limit is 64 dimensions).
cdef enum:
    _MAX_FAST_ARGS = 8
    _MAX_UNWRAP_DEPTH = 64

# What _unwrap_nested found: a handle, and whether an object that replaced
# one overrides numpy's functions (__array_function__ of its own).
cdef enum:
    _FOUND = 1
    _OVERRIDES = 2


cdef object _unwrap_nested(object value, int depth, int *state):
    """value with the handles in it replaced by their objects, looking into
    lists and tuples (rebuilt only if they held a handle); sets the bits of
    *state."""
    cdef type kind = type(value)
    if kind is ThreadHandle:
        obj = (<ThreadHandle>value).obj
        state[0] |= _FOUND
        if not _default_dispatch(type(obj)):
            state[0] |= _OVERRIDES
        return obj
    if (kind is not list and kind is not tuple) or depth >= _MAX_UNWRAP_DEPTH:
        return value
    cdef int inner = 0
    items = [_unwrap_nested(item, depth + 1, &inner) for item in value]
    state[0] |= inner
    if not inner & _FOUND:
        return value
    return items if kind is list else tuple(items)


cdef bint _types_override(object types):
    """Whether a type numpy found among the arguments, other than
    ThreadHandle, overrides numpy's functions."""
    for kind in types:
        if kind is not ThreadHandle and not _default_dispatch(kind):
            return True
    return False


cdef object _dispatch_target(object func, object implementation,
                             object types, int state):
    """What to call once handles are replaced: numpy's implementation if
    nobody overrides the function, else the function (numpy dispatches to
    the override, as without handles)."""
    if state & _OVERRIDES or _types_override(types):
        return func
    return implementation


cdef bint _default_dispatch(type kind):
    """Whether numpy's functions treat objects of this type without an
    override: no __array_function__, or ndarray's own (which calls the
    implementation).  ndarray's is told by the descriptor's owner, read
    from the descriptor itself: no module state, which threads calling at
    once would race on (a cache filled at first use did)."""
    method = getattr(kind, "__array_function__", None)
    if method is None:
        return True
    owner = getattr(method, "__objclass__", None)
    return (owner is not None
            and getattr(owner, "__name__", None) == "ndarray"
            and getattr(owner, "__module__", None) == "numpy")


_builtin_format = builtins.format


class _HandleAlias(types.GenericAlias):
    """ThreadHandle[T]: calling it makes a handle without setting
    __orig_class__, which the handle would forward to the object."""

    def __call__(self, *args, **kwargs):
        return ThreadHandle(*args, **kwargs)


cdef object _context_method(object obj, str name, str partner, str protocol):
    """obj's bound `name`, if its type has both `name` and `partner`."""
    method = th_special_method(obj, name, None)
    if method is None or th_special_method(obj, partner, None) is None:
        raise TypeError(
            f"'{type(obj).__name__}' object does not support {protocol}")
    return method


def unwrap(x):
    """The object that ``x`` handles, or ``x`` itself if it is not a
    ThreadHandle."""
    return th_unwrap(x)


# --- local_handle() and its handle table: local.c; the policy and the limit
# are documented in threadhandle/local.py, which re-exports these.

def local_handle(obj, /):
    """The calling thread's ``ThreadHandle`` of ``obj``: made on the first
    call from this thread, the same handle on later calls.

    A handle of a handle is the handle of the underlying object.  The handle
    keeps ``obj`` alive until the thread ends, until
    ``release_local_handle(obj)`` or ``clear_local_handles()`` is called on
    this thread, or until ``MAX_HANDLES_PER_THREAD`` newer entries push it
    out.
    """
    return th_local_handle(obj)


def release_local_handle(obj, /):
    """Drop the calling thread's cached handle of ``obj``, if it has one.

    Returns True if there was one.  Handles already given out stay valid.
    """
    return th_release_local_handle(obj) == 1


def clear_local_handles():
    """Drop all the calling thread's cached handles.

    Handles already given out stay valid.
    """
    th_clear_local_handles()


def enable_deferred_refcount(obj, /):
    """Turn on deferred reference counting for ``obj``, so that threads
    using it through plain references (module globals, locals, ``self`` in
    its methods) no longer contend on its reference count.  Returns True if
    this call turned it on.

    Free-threaded CPython 3.14 and later only: elsewhere, for objects the
    garbage collector does not track (ints, floats, strings, most C objects)
    and for objects that have it already, this does nothing and returns
    False.  Where it returns True it cannot be undone, and it has a price:
    ``obj`` is then freed by the cyclic garbage collector (``gc.collect()``,
    or the next automatic collection) rather than as soon as its last
    reference goes, so its finalizer and weakref callbacks run later, and
    ``sys.getrefcount(obj)`` counts a few extra references.  Meant for
    long-lived shared objects: a model, a router, a settings object.  For
    objects it cannot reach, and for references taken in C code, use a
    ``ThreadHandle``.  Given a ThreadHandle, it turns it on for the handled
    object.

    (CPython's ``PyUnstable_Object_EnableDeferredRefcount``.)
    """
    return th_enable_deferred_refcount(th_unwrap(obj)) == 1


def immortalize(obj, /):
    """Make ``obj`` immortal: no thread changes its reference count again,
    and it is never freed.  Returns True if ``obj`` is immortal after the
    call (made so now, or immortal already); False where this interpreter
    cannot make objects immortal, and then nothing is done.

    The price is plain: an immortal object lives until the interpreter
    exits, with everything it refers to; its finalizer never runs and weak
    references to it never die.  Meant for objects that live for the whole
    program and that threads share: a weight matrix, a lookup table, a
    float constant read by every thread.  For those, threads reading it
    (from Python, or C code such as numpy taking its own references)
    scale like threads that each own a copy.

    Call it in the thread that made ``obj``, before other threads can
    reach it.  What is checked is the object's header, and only that:
    ValueError if the owner it names (the thread id of the thread that
    made it) is not the calling thread's, or if its reference count is
    shared: other threads hold or dropped references to it, or its
    counting is deferred (classes, functions, modules, objects given
    ``enable_deferred_refcount``).  A reference another thread could take
    later (through a global or a container) cannot be seen, nor whether
    the owner is the caller or an ended thread whose id the caller was
    given (on Linux a new thread often gets the id of one that has ended,
    and then an object that thread made passes): that part is the
    caller's contract.  A
    ``str`` is refused with TypeError (CPython keeps immortal strings
    interned: ``sys.intern(s)`` makes one immortal on free-threaded
    builds).  Given a ThreadHandle, it makes the handled object immortal.

    Only the object itself: immortalizing a dict, list or instance does
    not immortalize the values it holds, whose counts threads reading them
    still change (immortalize those too if they are long-lived shared
    values).  An immortal container is no longer tracked by the garbage
    collector, so what it refers to stays alive for good.  Its value,
    type, hash and attributes do not change; ``sys.getrefcount(obj)``
    then reads a large constant.

    Free-threaded builds only: CPython 3.13t, 3.14t and 3.15t (CPython's
    internal ``_Py_SetImmortal``).  Built with
    ``THREADHANDLE_NO_INTERNALS=1``: False on 3.13t and 3.14t; on 3.15t
    (and later) CPython's public ``PyUnstable_SetImmortal``, which demands
    a uniquely referenced object: one that a global, a container or a
    second name also refers to is refused with ValueError.  On builds
    with a GIL it returns False: threads there take turns, so a shared
    count costs nothing to gain back.
    """
    return th_immortalize(obj) == 1


def _thread_handles():
    """The calling thread's handle table, id(obj) -> handle (for tests)."""
    return th_thread_handles()


def _attr_cache_names(ThreadHandle h):
    """Names in h's attribute cache (for tests)."""
    return th_attr_cache_names(<void *>h)


def _check_forward_slots(type cls):
    """RuntimeError unless cls has every slot of th_forward_slots, as
    ThreadHandle must (checked at import; here for tests)."""
    th_check_forward_slots(<PyTypeObject *>cls)


# --- the contention finder's sampler (contention/_sampler.c);
# threadhandle.contention drives it and documents it.

cdef class _Sampler:
    """_Sampler(duty, max_rate): a thread that reads the reference counts
    and locks of a set of candidate objects over and over (free-threaded
    builds only; elsewhere RuntimeError).  It takes at most `duty` of one
    core and sweeps at most `max_rate` times a second.

    swap(objects) hands it a new tuple of candidates (None: none) and
    returns the previous set's counts (None if none), a SamplerCounts
    record: sweeps, and per candidate, lists in the order of that tuple,
    changes, locked (the reads that found threads parked waiting for the
    object's lock), burst_changes and burst_seconds (the changes seen, and
    the seconds spent, reading the object's count back to back in
    bursts); sampling is
    then paused until resume(), so that the caller can drop the references it
    took meanwhile without them being counted.  stats() is a SamplerStats
    record: sweeps (over all sets), busy_seconds, candidates (now); stop()
    ends the thread.  In
    a child of os.fork() the sampler has no thread: its calls return at
    once (swap() still returns the counts; start() raises).
    """
    cdef th_sampler *sampler

    def __cinit__(self, double duty, double max_rate):
        self.sampler = th_sampler_new(duty, max_rate)

    def __dealloc__(self):
        th_sampler_free(self.sampler)

    def start(self):
        th_sampler_start(self.sampler)

    def swap(self, objects):
        return th_sampler_swap(self.sampler, objects)

    def resume(self):
        th_sampler_resume(self.sampler)

    def stats(self):
        return th_sampler_stats(self.sampler)

    def stop(self):
        th_sampler_stop(self.sampler)


th_sampler_init()
_SAMPLER_AVAILABLE = bool(th_sampler_available())


def _is_immortal(obj):
    """Whether obj is immortal (its reference count is never changed)."""
    return bool(th_is_immortal(obj))


cdef int _layout_matches = TH_LAYOUT_MATCHES
# Whether this build reads inline values through CPython internals (for
# tests; internals.h gates them, docs/internals.md says why).
_INLINE_VALUES = bool(TH_INLINE_VALUES)
_THREAD_END_HOOK = bool(TH_THREAD_END_HOOK)
_SET_IMMORTAL = bool(TH_SET_IMMORTAL)
# Whether immortalize() can make objects immortal in this build.
_CAN_IMMORTALIZE = bool(th_can_immortalize)
th_lookup_init()
th_install_slots(<PyTypeObject *>ThreadHandle)
th_local_init()
# Called from module globals by every thread, often in loops.
for _function in (local_handle, release_local_handle, clear_local_handles,
                  unwrap, enable_deferred_refcount, immortalize):
    th_enable_deferred_refcount(_function)
del _function

copyreg.pickle(ThreadHandle, ThreadHandle.__reduce__)
# copy.deepcopy consults this table (by exact type) before the instance's
# __deepcopy__; it has done so since Python 2.
copy._deepcopy_dispatch[ThreadHandle] = ThreadHandle.__deepcopy__
