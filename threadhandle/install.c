/* Wiring ThreadHandle's slots to the C functions of th_forward_slots.
 *
 * Cython declares the class; at module initialisation, before any instance
 * exists, th_install_slots() points its slots at the functions listed in
 * th_forward_slots (forward.c) and adds the matching slot wrappers
 * (ThreadHandle.__add__, __getitem__, ...) to the class dict, so the class
 * looks as if it had been written in C.
 */
#include "handle.h"
#include "compat.h"

/* ThreadHandle's slot tables: copies of those PyType_FromSpec fills for a
 * helper type made from th_forward_slots (see th_install_slots). */
static PyNumberMethods th_as_number;
static PySequenceMethods th_as_sequence;
static PyMappingMethods th_as_mapping;
static PyAsyncMethods th_as_async;
static PyBufferProcs th_as_buffer;

/* Cython's tp_traverse visits obj; ours adds the attribute cache. */
static traverseproc cython_traverse = NULL;

static int
th_traverse(PyObject *self, visitproc visit, void *arg)
{
    int err = cython_traverse(self, visit, arg);
    if (err) {
        return err;
    }
    return th_attr_cache_traverse((ThreadHandleObject *)self, visit, arg);
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
            continue; /* defined in _threadhandle.pyx */
        }
        PyWrapperDescrObject *wrapper = (PyWrapperDescrObject *)value;
        PyObject *descr =
            PyDescr_NewWrapper(type, wrapper->d_base, wrapper->d_wrapped);
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

/* 0 if `type` has every slot of th_forward_slots, else -1 with an error
 * naming the first one missing.  th_install_slots() copies the tp_* slots
 * by name: a new entry in the table does nothing until it is copied too,
 * and this makes the import fail until it is. */
int
th_check_forward_slots(PyTypeObject *type)
{
    for (int i = 0; th_forward_slots[i].slot != 0; i++) {
        PyType_Slot *entry = &th_forward_slots[i];
        void *installed = PyType_GetSlot(type, entry->slot);
        if (installed == NULL && PyErr_Occurred()) {
            return -1;
        }
        if (installed != entry->pfunc) {
            PyErr_Format(PyExc_RuntimeError,
                         "%.100s lacks entry %d of th_forward_slots (slot "
                         "id %d in Include/typeslots.h): "
                         "threadhandle/install.c does not install it",
                         type->tp_name, i, entry->slot);
            return -1;
        }
    }
    return 0;
}

int
th_install_slots(PyTypeObject *type)
{
    if (th_type != NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "ThreadHandle slots installed twice");
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
    return th_check_forward_slots(type);
}
