/* What every other file needs of handles themselves: the type, making a
 * handle, unwrapping one, and how deep handles may nest.  Depends on no
 * other C file of the package.
 */
#include "handle.h"
#include "compat.h"

/* Set once by th_install_slots() at module initialisation. */
PyTypeObject *th_type = NULL;

PyObject *
th_unwrap(PyObject *op)
{
    return Py_NewRef(TH_CHECK(op) ? TH_OBJ(op) : op);
}

/* A new handle of obj, made the way ThreadHandle(obj) makes one. */
PyObject *
th_new_handle(PyObject *obj)
{
    return PyObject_CallOneArg((PyObject *)th_type, obj);
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
    PyObject *referent = NULL; /* holds obj from the second step on */
    int depth = 0, res = 0;
    while (PyWeakref_CheckProxy(obj)) {
        if (++depth > TH_MAX_PROXY_DEPTH) {
            PyErr_Format(PyExc_RecursionError,
                         "handles and weak proxies of handles nested more "
                         "than %d deep",
                         TH_MAX_PROXY_DEPTH);
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
