/* Lookups of attributes on a type, as the interpreter does them: on the
 * real MRO (tp_mro), not the metaclass's, without running user code.
 * Used by attributes.c (is a name a method?) and by _threadhandle.pyx
 * (special methods such as __enter__ and __length_hint__).  Depends on no
 * other C file of the package.
 */
#include "handle.h"
#include "compat.h"

/* type.__dict__["__mro__"], the getter of the MRO the interpreter uses
 * (tp_mro): `cls.__mro__` would look in the metaclass first, where a
 * property may answer anything, and run user code. */
static PyObject *mro_getter = NULL;

int
th_lookup_init(void)
{
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
    return 0;
}

/* The attribute `name` found on the type's MRO (not bound, not the
 * metaclass's), or NULL without an error if there is none.  Strong
 * references only: another thread may change the class dicts meanwhile. */
PyObject *
th_type_lookup(PyTypeObject *type, PyObject *name)
{
    descrgetfunc get = Py_TYPE(mro_getter)->tp_descr_get;
    PyObject *mro =
        get(mro_getter, (PyObject *)type, (PyObject *)Py_TYPE(type));
    if (mro == NULL || !PyTuple_Check(mro)) {
        Py_XDECREF(mro);
        PyErr_Clear();
        return NULL;
    }
    PyObject *found = NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro) && found == NULL; i++) {
        PyObject *base = PyTuple_GET_ITEM(mro, i);
        if (!PyType_Check(base)) {
            continue;
        }
        PyObject *dict = PyType_GetDict((PyTypeObject *)base);
        if (dict == NULL) {
            continue;
        }
        if (PyDict_GetItemRef(dict, name, &found) < 0) {
            PyErr_Clear(); /* a key that fails to compare is not there */
        }
        Py_DECREF(dict);
    }
    Py_DECREF(mro);
    return found;
}

/* Whether obj's type has a length slot: what CPython's length_hint asks
 * before it calls len(obj). */
int
th_has_len(PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);
    return (tp->tp_as_sequence != NULL
            && tp->tp_as_sequence->sq_length != NULL)
           || (tp->tp_as_mapping != NULL
               && tp->tp_as_mapping->mp_length != NULL);
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
