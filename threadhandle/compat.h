/* What the C files need from CPython that not every supported version
 * (3.11 to 3.15, GIL and free-threaded builds) has in the same form: the
 * public APIs of newer versions for older ones (PyDict_GetItemRef,
 * PyWeakref_GetRef, PyType_GetDict, PyGen_GetCode, critical sections),
 * and small helpers that read the same on every build: a type's version
 * tag and an object's owner without a data race, deferred reference
 * counting, immortality, a thread-local variable.  CPython internals
 * proper are in internals.h, not here. */
#ifndef THREADHANDLE_COMPAT_H
#define THREADHANDLE_COMPAT_H

#include <Python.h>

#if PY_VERSION_HEX < 0x030D0000
static inline int
PyDict_GetItemRef(PyObject *mp, PyObject *key, PyObject **result)
{
    /* Under the GIL a borrowed reference taken and increfed at once is safe. */
    PyObject *item = PyDict_GetItemWithError(mp, key);
    if (item != NULL) {
        *result = Py_NewRef(item);
        return 1;
    }
    *result = NULL;
    return PyErr_Occurred() ? -1 : 0;
}
#endif

#if PY_VERSION_HEX < 0x030C0000
static inline PyCodeObject *
PyGen_GetCode(PyGenObject *gen)
{
    return (PyCodeObject *)Py_NewRef(gen->gi_code);
}
#endif

#if PY_VERSION_HEX < 0x030D0000
static inline int
PyWeakref_GetRef(PyObject *ref, PyObject **pobj)
{
    /* Under the GIL a borrowed reference taken and increfed at once is safe. */
    PyObject *obj = PyWeakref_GetObject(ref);
    if (obj == NULL) {
        *pobj = NULL;
        return -1;
    }
    *pobj = obj == Py_None ? NULL : Py_NewRef(obj);
    return *pobj != NULL;
}
#endif

/* Critical sections arrived with free threading (3.13); under a GIL they
 * have nothing to do. */
#if PY_VERSION_HEX < 0x030D0000
#  define Py_BEGIN_CRITICAL_SECTION(op) {
#  define Py_END_CRITICAL_SECTION() }
#endif

#if PY_VERSION_HEX < 0x030C0000
static inline PyObject *
PyType_GetDict(PyTypeObject *type)
{
    return Py_XNewRef(type->tp_dict);
}
#endif

/* The type's version tag, read without a data race: other threads may
 * invalidate it while we read. */
static inline unsigned int
th_type_version(PyTypeObject *type)
{
#ifdef Py_GIL_DISABLED
    return __atomic_load_n(&type->tp_version_tag, __ATOMIC_RELAXED);
#else
    return type->tp_version_tag;
#endif
}

/* Whether the current thread may use per-handle state of `op`: on
 * free-threaded builds only the thread that created it; with a GIL, any. */
static inline int
th_owned_by_current_thread(PyObject *op)
{
#ifdef Py_GIL_DISABLED
    return _Py_IsOwnedByCurrentThread(op);
#else
    (void)op;
    return 1;
#endif
}

/* A variable of which each thread has its own copy. */
#if defined(_MSC_VER)
#  define TH_THREAD_LOCAL __declspec(thread)
#else
#  define TH_THREAD_LOCAL _Thread_local
#endif

/* Let the interpreter skip the reference count of `op` when code holds it
 * in a global, a local or a frame's self: on free-threaded 3.14+ every
 * thread using it would otherwise contend on its count.  1 if this call
 * turned it on; 0 where deferred reference counting does not exist, for
 * objects the GC does not track, and where it was on already. */
static inline int
th_enable_deferred_refcount(PyObject *op)
{
#if defined(Py_GIL_DISABLED) && PY_VERSION_HEX >= 0x030E0000
    return PyUnstable_Object_EnableDeferredRefcount(op);
#else
    (void)op;
    return 0;
#endif
}

/* Whether op is immortal: its reference count is never changed and it is
 * never freed.  3.11 has no immortal objects. */
static inline int
th_is_immortal(PyObject *op)
{
#if PY_VERSION_HEX >= 0x030E0000
    return PyUnstable_IsImmortal(op);
#elif PY_VERSION_HEX >= 0x030C0000
    return _Py_IsImmortal(op);
#else
    (void)op;
    return 0;
#endif
}

#endif /* THREADHANDLE_COMPAT_H */
