/* Wiring ThreadHandle's slots to the C functions, and lookups of special
 * methods on a type, as the interpreter does them.
 *
 * Cython declares the class; at module initialisation, before any instance
 * exists, th_install_slots() points its slots at the functions listed in
 * th_forward_slots (forward.c) and adds the matching slot wrappers
 * (ThreadHandle.__add__, __getitem__, ...) to the class dict, so the class
 * looks as if it had been written in C.
 */
#include "handle.h"
#include "compat.h"

PyTypeObject *th_type = NULL;

/* ThreadHandle's slot tables: copies of those PyType_FromSpec fills for a
 * helper type made from th_forward_slots (see th_install_slots). */
static PyNumberMethods th_as_number;
static PySequenceMethods th_as_sequence;
static PyMappingMethods th_as_mapping;
static PyAsyncMethods th_as_async;
static PyBufferProcs th_as_buffer;

/* type.__dict__["__mro__"], the getter of the MRO the interpreter uses
 * (tp_mro): `cls.__mro__` would look in the metaclass first, where a
 * property may answer anything, and run user code. */
static PyObject *mro_getter = NULL;

/* Cython's tp_traverse visits obj; ours adds the method cache. */
static traverseproc cython_traverse = NULL;

static int
th_traverse(PyObject *self, visitproc visit, void *arg)
{
    int err = cython_traverse(self, visit, arg);
    if (err) {
        return err;
    }
    return th_cache_traverse((ThreadHandleObject *)self, visit, arg);
}

/* Give `type` a wrapper descriptor for each slot wrapper of slot_source
 * whose name it does not define itself.  The new descriptors point at
 * CPython's static slot definitions, not into slot_source. */
static int
add_slot_wrappers(PyTypeObject *type, PyTypeObject *slot_source)
{
    PyObject *source = PyType_GetDict(slot_source);
    PyObject *target = PyType_GetDict(type);
    int result = -1;
    if (source == NULL || target == NULL) {
        goto done;
    }
    Py_ssize_t pos = 0;
    PyObject *name, *value;
    while (PyDict_Next(source, &pos, &name, &value)) {
        if (!Py_IS_TYPE(value, &PyWrapperDescr_Type)) {
            continue;
        }
        int present = PyDict_Contains(target, name);
        if (present < 0) {
            goto done;
        }
        if (present) {
            continue;  /* defined in _threadhandle.pyx */
        }
        PyWrapperDescrObject *wrapper = (PyWrapperDescrObject *)value;
        PyObject *descr = PyDescr_NewWrapper(type, wrapper->d_base,
                                             wrapper->d_wrapped);
        if (descr == NULL || PyDict_SetItem(target, name, descr) < 0) {
            Py_XDECREF(descr);
            goto done;
        }
        Py_DECREF(descr);
    }
    result = 0;
done:
    Py_XDECREF(source);
    Py_XDECREF(target);
    return result;
}

int
th_install_slots(PyTypeObject *type)
{
    if (th_type != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "ThreadHandle slots installed twice");
        return -1;
    }
    /* A helper type with the handle's layout, made only to have CPython
     * build the slot tables and wrappers from th_forward_slots.  An
     * instance of it would have no object, so none may exist: no
     * instantiation, no subclasses, and the type is dropped once its
     * tables are copied (it goes at the next collection). */
    PyType_Spec spec = {
        .name = "threadhandle._slot_source",
        .basicsize = sizeof(ThreadHandleObject),
        .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
        .slots = th_forward_slots,
    };
    PyObject *type_dict = PyType_GetDict(&PyType_Type);
    PyObject *mro_name = PyUnicode_FromString("__mro__");
    int found = -1;
    if (type_dict != NULL && mro_name != NULL) {
        found = PyDict_GetItemRef(type_dict, mro_name, &mro_getter);
    }
    Py_XDECREF(type_dict);
    Py_XDECREF(mro_name);
    if (found < 0) {
        return -1;
    }
    if (found == 0 || Py_TYPE(mro_getter)->tp_descr_get == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "type.__mro__ is not a getter");
        return -1;
    }
    PyTypeObject *slot_source = (PyTypeObject *)PyType_FromSpec(&spec);
    if (slot_source == NULL) {
        return -1;
    }
    th_as_number = *slot_source->tp_as_number;
    th_as_sequence = *slot_source->tp_as_sequence;
    th_as_mapping = *slot_source->tp_as_mapping;
    th_as_async = *slot_source->tp_as_async;
    th_as_buffer = *slot_source->tp_as_buffer;
    type->tp_as_number = &th_as_number;
    type->tp_as_sequence = &th_as_sequence;
    type->tp_as_mapping = &th_as_mapping;
    type->tp_as_async = &th_as_async;
    type->tp_as_buffer = &th_as_buffer;
    type->tp_getattro = slot_source->tp_getattro;
    type->tp_setattro = slot_source->tp_setattro;
    type->tp_call = slot_source->tp_call;
    type->tp_richcompare = slot_source->tp_richcompare;
    type->tp_hash = slot_source->tp_hash;
    type->tp_str = slot_source->tp_str;
    type->tp_iter = slot_source->tp_iter;
    type->tp_iternext = slot_source->tp_iternext;
    type->tp_vectorcall_offset = offsetof(ThreadHandleObject, vectorcall);
    type->tp_flags |= Py_TPFLAGS_HAVE_VECTORCALL;
    cython_traverse = type->tp_traverse;
    type->tp_traverse = th_traverse;
    th_type = type;
    int res = add_slot_wrappers(type, slot_source);
    Py_DECREF(slot_source);
    if (res < 0) {
        return -1;
    }
    PyType_Modified(type);
    return 0;
}

/* ------------------------------------------------------------- helpers */

PyObject *
th_unwrap(PyObject *op)
{
    return Py_NewRef(TH_CHECK(op) ? TH_OBJ(op) : op);
}

/* How deep handles and weak proxies of handles may nest. */
#define TH_MAX_PROXY_DEPTH 1000

/* 0 if a handle of obj may be made, -1 with RecursionError if obj is the
 * top of a chain handle -> weakref.proxy -> handle -> ... deeper than
 * TH_MAX_PROXY_DEPTH.  A proxy forwards every operation to its referent
 * without a recursion check, and so does a handle: a long enough chain
 * would overflow the C stack on most operations.  (CPython itself has no
 * proxies of proxies.)  The chain below a handle never changes. */
int
th_check_proxy_chain(PyObject *obj)
{
    PyObject *referent = NULL;  /* holds obj from the second step on */
    int depth = 0, res = 0;
    while (PyWeakref_CheckProxy(obj)) {
        if (++depth > TH_MAX_PROXY_DEPTH) {
            PyErr_Format(PyExc_RecursionError,
                         "handles and weak proxies of handles nested more "
                         "than %d deep", TH_MAX_PROXY_DEPTH);
            res = -1;
            break;
        }
        PyObject *next;
        int alive = PyWeakref_GetRef(obj, &next);
        Py_XSETREF(referent, next);
        if (alive <= 0 || !TH_CHECK(referent)) {
            res = alive < 0 ? -1 : 0;
            break;
        }
        obj = TH_OBJ(referent);
    }
    Py_XDECREF(referent);
    return res;
}

/* A new handle of obj, made the way ThreadHandle(obj) makes one. */
PyObject *
th_new_handle(PyObject *obj)
{
    return PyObject_CallOneArg((PyObject *)th_type, obj);
}

/* The attribute `name` found on the type's MRO (not bound, not the
 * metaclass's), or NULL without an error if there is none.  The MRO is the
 * one the interpreter uses, read without running user code.  Strong
 * references only: another thread may change the class dicts meanwhile. */
PyObject *
th_type_lookup(PyTypeObject *type, PyObject *name)
{
    PyObject *mro = Py_TYPE(mro_getter)->tp_descr_get(
        mro_getter, (PyObject *)type, (PyObject *)Py_TYPE(type));
    if (mro == NULL || !PyTuple_Check(mro)) {
        Py_XDECREF(mro);
        PyErr_Clear();
        return NULL;
    }
    PyObject *found = NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro) && found == NULL; i++) {
        PyObject *base = PyTuple_GET_ITEM(mro, i);
        PyObject *dict = PyType_Check(base) ? PyType_GetDict((PyTypeObject *)base) : NULL;
        if (dict == NULL) {
            continue;
        }
        if (PyDict_GetItemRef(dict, name, &found) < 0) {
            PyErr_Clear();  /* a key that fails to compare is not there */
        }
        Py_DECREF(dict);
    }
    Py_DECREF(mro);
    return found;
}

/* obj's special method `name`, looked up on its type and bound to obj as
 * the interpreter does for `with`, `async with` and friends; `dflt` (new
 * reference) if the type has none. */
PyObject *
th_special_method(PyObject *obj, PyObject *name, PyObject *dflt)
{
    PyObject *descr = th_type_lookup(Py_TYPE(obj), name);
    if (descr == NULL) {
        return Py_NewRef(dflt);
    }
    descrgetfunc get = Py_TYPE(descr)->tp_descr_get;
    if (get == NULL) {
        return descr;
    }
    PyObject *bound = get(descr, obj, (PyObject *)Py_TYPE(obj));
    Py_DECREF(descr);
    return bound;
}
