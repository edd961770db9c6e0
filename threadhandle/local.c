/* local_handle(obj): the calling thread's handle of obj, made on first use.
 *
 * Each thread keeps its handles in a dict of its own, id(obj) -> handle,
 * stored in the thread's state dict (PyThreadState_GetDict(), which CPython
 * clears when the thread ends).  Finding a cached handle touches only the
 * calling thread's objects: its state dict, its handle dict, the int made
 * for the key, the handle.  Never obj's reference count, so threads that
 * call local_handle(obj) on one shared object do not contend on it.
 *
 * The cached handle holds its object alive, so no other object can get the
 * same id while the entry exists.  The policy (limit, eviction order,
 * release) is documented in local.py, which holds the limit.
 */
#include "handle.h"
#include "compat.h"

/* Our key in each thread's state dict. */
static PyObject *state_key;

int
th_local_init(void)
{
    state_key = PyUnicode_InternFromString("threadhandle.local_handles");
    return state_key == NULL ? -1 : 0;
}

/* This thread's handle dict, as a new reference in *handles: made when
 * `create`, else NULL when there is none.  -1 on error. */
static int
thread_handles(int create, PyObject **handles)
{
    *handles = NULL;
    PyObject *state = PyThreadState_GetDict();  /* this thread's only */
    if (state == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_RuntimeError,
                            "local_handle() needs a thread state");
        }
        return -1;
    }
    if (PyDict_GetItemRef(state, state_key, handles) < 0) {
        return -1;
    }
    if (*handles != NULL) {
        if (!PyDict_CheckExact(*handles)) {
            Py_CLEAR(*handles);
            PyErr_SetString(PyExc_RuntimeError,
                            "the thread state entry of threadhandle was "
                            "replaced by something that is not a dict");
            return -1;
        }
        return 0;
    }
    if (!create) {
        return 0;
    }
    *handles = PyDict_New();
    if (*handles == NULL || PyDict_SetItem(state, state_key, *handles) < 0) {
        Py_CLEAR(*handles);
        return -1;
    }
    return 0;
}

/* id(obj) of the object a handle of obj would handle. */
static PyObject *
key_of(PyObject *obj)
{
    UNWRAP(obj);
    return PyLong_FromVoidPtr(obj);
}

/* threadhandle.local.MAX_HANDLES_PER_THREAD, read at every new entry so
 * that it may change at run time. */
static int
max_handles(Py_ssize_t *limit)
{
    PyObject *module = PyImport_ImportModule("threadhandle.local");
    if (module == NULL) {
        return -1;
    }
    PyObject *value = PyObject_GetAttrString(module,
                                             "MAX_HANDLES_PER_THREAD");
    Py_DECREF(module);
    if (value == NULL) {
        return -1;
    }
    *limit = PyLong_AsSsize_t(value);
    Py_DECREF(value);
    return (*limit == -1 && PyErr_Occurred()) ? -1 : 0;
}

/* Drop the oldest entry of `handles` (not empty). */
static int
evict_oldest(PyObject *handles)
{
    PyObject *key = NULL;
    Py_ssize_t pos = 0;
    Py_BEGIN_CRITICAL_SECTION(handles);
    if (PyDict_Next(handles, &pos, &key, NULL)) {
        Py_INCREF(key);
    }
    Py_END_CRITICAL_SECTION();
    if (key == NULL) {
        return 0;
    }
    /* May run a finalizer of the evicted object, i.e. any code. */
    int res = PyDict_DelItem(handles, key);
    Py_DECREF(key);
    return res;
}

/* Cache a new handle of obj under key; the caller found none. */
static PyObject *
new_local_handle(PyObject *handles, PyObject *key, PyObject *obj)
{
    Py_ssize_t limit;
    if (max_handles(&limit) < 0) {
        return NULL;
    }
    /* Evicting can run any code (which may call local_handle), hence the
     * loop and the second look-up. */
    while (PyDict_GET_SIZE(handles) > 0 && PyDict_GET_SIZE(handles) >= limit) {
        if (evict_oldest(handles) < 0) {
            return NULL;
        }
    }
    PyObject *handle;
    if (PyDict_GetItemRef(handles, key, &handle) != 0) {
        return handle;  /* NULL on error */
    }
    handle = th_new_handle(obj);
    if (handle != NULL && PyDict_SetItem(handles, key, handle) < 0) {
        Py_CLEAR(handle);
    }
    return handle;
}

PyObject *
th_local_handle(PyObject *obj)
{
    PyObject *handles, *handle = NULL;
    if (thread_handles(1, &handles) < 0) {
        return NULL;
    }
    PyObject *key = key_of(obj);
    if (key != NULL && PyDict_GetItemRef(handles, key, &handle) == 0) {
        handle = new_local_handle(handles, key, obj);
    }
    Py_XDECREF(key);
    Py_DECREF(handles);
    return handle;
}

int
th_release_local_handle(PyObject *obj)
{
    PyObject *handles;
    if (thread_handles(0, &handles) < 0) {
        return -1;
    }
    if (handles == NULL) {
        return 0;
    }
    PyObject *key = key_of(obj);
    int found = key == NULL ? -1 : PyDict_Contains(handles, key);
    if (found == 1 && PyDict_DelItem(handles, key) < 0) {
        found = -1;
    }
    Py_XDECREF(key);
    Py_DECREF(handles);
    return found;
}

int
th_clear_local_handles(void)
{
    PyObject *handles;
    if (thread_handles(0, &handles) < 0) {
        return -1;
    }
    if (handles == NULL) {
        return 0;
    }
    /* Unlink first: finalizers run by the old entries see an empty cache. */
    PyObject *state = PyThreadState_GetDict();
    int res = state == NULL ? -1 : PyDict_DelItem(state, state_key);
    if (res == 0) {
        PyDict_Clear(handles);
    }
    Py_DECREF(handles);
    return res;
}

PyObject *
th_thread_handles(void)
{
    PyObject *handles;
    if (thread_handles(1, &handles) < 0) {
        return NULL;
    }
    return handles;
}
