/* Every use of CPython internals, each gated here by the exact minor
 * versions and build it was written against: TH_INLINE_VALUES (the
 * attribute cache in attributes.c, 3.14t and 3.15t), TH_THREAD_END_HOOK
 * (local.c, 3.11) and TH_SET_IMMORTAL (immortal.c, 3.13t to 3.15t).  Each
 * is 0 on every other version, and when setup.py defines TH_NO_INTERNALS
 * (THREADHANDLE_NO_INTERNALS=1): the public-API path then runs.  The
 * policy, and why the public API cannot do each of these:
 * docs/internals.md, "internals.h and its policy".  Here, at each gate:
 * what it uses and what was checked on which CPython.
 *
 * Include this file first: Py_BUILD_CORE must be defined before Python.h.
 */
#ifndef THREADHANDLE_INTERNALS_H
#define THREADHANDLE_INTERNALS_H

#include <pyconfig.h>   /* Py_GIL_DISABLED */
#include <patchlevel.h> /* PY_VERSION_HEX */

/* The instance's inline values, read at an index found once, as the
 * interpreter's LOAD_ATTR_INSTANCE_VALUE and LOAD_ATTR_METHOD_WITH_VALUES
 * (Python/bytecodes.c) read them.  Written against 3.14.7; 3.15.0rc2 has
 * its PyDictValues, PyDictKeysObject, PyHeapTypeObject,
 * _PyObject_InlineValues and _Py_TryIncrefCompare unchanged, and its
 * LOAD_ATTR_INSTANCE_VALUE and _GUARD_DORV_VALUES_INST_ATTR_FROM_DICT read
 * them as 3.14's do. */
#if defined(Py_GIL_DISABLED) && PY_VERSION_HEX >= 0x030E0000 \
    && PY_VERSION_HEX < 0x03100000 && !defined(TH_NO_INTERNALS)
#  define TH_INLINE_VALUES 1
#else
#  define TH_INLINE_VALUES 0
#endif

/* The thread state's on_delete hook, on 3.11 only: a field of
 * PyThreadState that _thread uses to release Thread.join(), called at the
 * very end of PyThreadState_Clear.  local.c passes the call on to the
 * previous hook, and follows the protocol 3.11's _thread module assumes
 * for that field (_set_sentinel() drops on_delete_data as a strong
 * reference): on_delete_data is an object of ours that the thread state
 * owns. */
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000 \
    && !defined(TH_NO_INTERNALS)
#  define TH_THREAD_END_HOOK 1
#else
#  define TH_THREAD_END_HOOK 0
#endif

/* _Py_SetImmortal, on the free-threaded 3.13, 3.14 and 3.15: 3.14.7 and
 * 3.15.0rc2 export it (PyAPI_FUNC in internal/pycore_object.h); on 3.13.15
 * it is a hidden symbol of the interpreter, and th_set_immortal does what
 * its body does, through public names only.  Which path runs where:
 * immortal.c. */
#if defined(Py_GIL_DISABLED) && PY_VERSION_HEX >= 0x030D0000 \
    && PY_VERSION_HEX < 0x03100000 && !defined(TH_NO_INTERNALS)
#  define TH_SET_IMMORTAL 1
#else
#  define TH_SET_IMMORTAL 0
#endif

#if TH_INLINE_VALUES
#  ifndef Py_BUILD_CORE
#    define Py_BUILD_CORE
#  endif
#  include <Python.h>
#  include <internal/pycore_dict.h>   /* PyDictValues, DK_UNICODE_ENTRIES */
#  include <internal/pycore_object.h> /* _PyObject_InlineValues,
                                          _Py_TryIncrefCompare */

/* Whether instances of tp keep their attributes in inline values. */
static inline int
th_has_inline_values(PyTypeObject *tp)
{
    return PyType_HasFeature(tp, Py_TPFLAGS_INLINE_VALUES);
}

/* Whether obj's inline values are its attributes: false once its __dict__
 * was replaced or outgrew the class's shared keys. */
static inline int
th_inline_values_valid(PyObject *obj)
{
    return FT_ATOMIC_LOAD_UINT8(_PyObject_InlineValues(obj)->valid);
}

/* The class's shared keys: the names its instances' inline values hold.
 * Set when the class is made and kept until it dies; keys are only ever
 * appended, so a name keeps its index. */
static inline PyDictKeysObject *
th_shared_keys(PyTypeObject *tp)
{
    return ((PyHeapTypeObject *)tp)->ht_cached_keys;
}

static inline Py_ssize_t
th_shared_keys_length(PyTypeObject *tp)
{
    return FT_ATOMIC_LOAD_SSIZE_RELAXED(th_shared_keys(tp)->dk_nentries);
}

/* The index of `name` in tp's shared keys and, in *length, how many keys
 * there were: -1 if name was not among them, -2 if a key being added by
 * another thread could not be read yet (then nothing is known).  Other
 * threads may append keys meanwhile, never change or remove one. */
static inline Py_ssize_t
th_shared_key_index(PyTypeObject *tp, PyObject *name, Py_ssize_t *length)
{
    PyDictKeysObject *keys = th_shared_keys(tp);
    if (keys == NULL || keys->dk_kind != DICT_KEYS_SPLIT) {
        return -2;
    }
    Py_ssize_t n = th_shared_keys_length(tp);
    PyDictUnicodeEntry *entries = DK_UNICODE_ENTRIES(keys);
    *length = n;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *key = _Py_atomic_load_ptr_acquire(&entries[i].me_key);
        if (key == NULL) {
            return -2;
        }
        /* Keys set through a dict need not be interned. */
        if (key == name || PyUnicode_Compare(key, name) == 0) {
            return i;
        }
    }
    return -1;
}

/* Whether index i is within obj's inline values. */
static inline int
th_inline_index_fits(PyObject *obj, Py_ssize_t i)
{
    return i >= 0 && i < _PyObject_InlineValues(obj)->capacity;
}

/* A new reference to the value at index i of obj's inline values, or NULL
 * (no error set) if the values are no longer valid, the slot is empty, or
 * a concurrent write replaced the value while we took our reference: the
 * caller then takes the ordinary path.  As LOAD_ATTR_INSTANCE_VALUE does
 * on free-threaded builds. */
static inline PyObject *
th_inline_value(PyObject *obj, Py_ssize_t i)
{
    PyDictValues *values = _PyObject_InlineValues(obj);
    if (!FT_ATOMIC_LOAD_UINT8(values->valid)) {
        return NULL;
    }
    PyObject **slot = &values->values[i];
    PyObject *value = _Py_atomic_load_ptr_acquire(slot);
    if (value == NULL || !_Py_TryIncrefCompare(slot, value)) {
        return NULL;
    }
    return value;
}

/* Whether obj's own attributes (its inline values, still valid) lack the
 * name that had index i in its class's shared keys, or that was not among
 * the first `length` keys (i == -1).  Then a method found on the class is
 * what obj.name gives. */
static inline int
th_instance_lacks(PyObject *obj, Py_ssize_t i, Py_ssize_t length)
{
    PyDictValues *values = _PyObject_InlineValues(obj);
    if (!FT_ATOMIC_LOAD_UINT8(values->valid)) {
        return 0;
    }
    if (i >= 0) {
        return _Py_atomic_load_ptr_relaxed(&values->values[i]) == NULL;
    }
    return th_shared_keys_length(Py_TYPE(obj)) == length;
}

#else /* !TH_INLINE_VALUES */
#  include <Python.h>

static inline int
th_has_inline_values(PyTypeObject *tp)
{
    (void)tp;
    return 0;
}
#endif

#if TH_SET_IMMORTAL
#  if PY_VERSION_HEX >= 0x030E0000
/* Declared here rather than through internal/pycore_object.h, which needs
 * Py_BUILD_CORE; the same declaration as there. */
PyAPI_FUNC(void) _Py_SetImmortal(PyObject *op);
#  endif

/* Make op immortal, as CPython's _Py_SetImmortal does.  The caller has
 * checked that op is owned by the calling thread and that no other thread
 * holds a reference to it (immortal.c). */
static inline void
th_set_immortal(PyObject *op)
{
#  if PY_VERSION_HEX >= 0x030E0000
    _Py_SetImmortal(op);
#  else
    if (PyObject_IS_GC(op) && PyObject_GC_IsTracked(op)) {
        PyObject_GC_UnTrack(op);
    }
    op->ob_tid = _Py_UNOWNED_TID;
    op->ob_ref_local = _Py_IMMORTAL_REFCNT_LOCAL;
    op->ob_ref_shared = 0;
#  endif
}
#endif

#endif /* THREADHANDLE_INTERNALS_H */
