/* local_handle(obj): the calling thread's handle of obj, made on first use.
 *
 * Each thread keeps its handles in a dict of its own, id(obj) -> handle,
 * held by a small "handle table" object stored in the thread's state dict
 * (PyThreadState_GetDict(), which CPython clears when the thread ends).
 * (Not to be confused with each handle's attribute cache in attributes.c.)
 * Finding a handle in the table touches only the calling thread's objects:
 * its state dict, its table, the int made for the key, the handle.  Never
 * obj's reference count, so threads that call local_handle(obj) on one
 * shared object do not contend on it.
 *
 * The handle in the table holds its object alive, so no other object can
 * get the same id while the entry exists.  The policy (limit, eviction
 * order, release) is documented in local.py, which holds the limit.
 */
#include "internals.h" /* first: it may define Py_BUILD_CORE */
#include "handle.h"
#include "compat.h"

/* Our key in each thread's state dict, and the module with the limit. */
static PyObject *state_key;
static PyObject *policy_module_name;

/* The handle table: a heap type of its own, so that it knows when it is
 * torn down. */
typedef struct {
    PyObject_HEAD
    PyObject *handles; /* id(obj) -> handle, or NULL once taken */
} HandleTable;

static PyTypeObject *table_type;

/* Non-zero while this thread tears a table down (thread end).  The
 * entries' finalizers may call local_handle(); a table they made while
 * CPython clears the thread state would never be freed, so they get
 * handles that are not cached. */
static TH_THREAD_LOCAL int tables_closing;

#if PY_VERSION_HEX < 0x030C0000
/* The thread state of this OS thread whose state dict holds a table of
 * ours, by address and id (an address may be reused). */
static TH_THREAD_LOCAL PyThreadState *table_in;
static TH_THREAD_LOCAL uint64_t table_in_id;

static int
had_table(PyThreadState *tstate)
{
    return table_in == tstate && table_in_id == PyThreadState_GetID(tstate);
}

static void
set_had_table(PyThreadState *tstate)
{
    table_in = tstate;
    table_in_id = tstate != NULL ? PyThreadState_GetID(tstate) : 0;
}
#endif

/* Whether CPython is tearing the thread state down.  It clears the state
 * dict (and with it our table) before other parts, such as the thread's
 * context; finalizers run from those may ask for handles, and a table
 * made then (in a new state dict) would never be freed. */
static int
thread_ending(PyThreadState *tstate)
{
#if PY_VERSION_HEX >= 0x030C0000
    /* Set when PyThreadState_Clear() starts. */
    return tstate->_status.finalizing;
#else
    /* 3.11 has no such flag; but a state dict that is gone after we put a
     * table in it (and clear_local_handles() did not take it out) was
     * cleared by the thread's teardown.  (A thread that never cached a
     * handle cannot tell: the table it makes then is freed by the
     * thread-end hook below, where internals.h enables it.) */
    return tstate->dict == NULL && had_table(tstate);
#endif
}

#if TH_THREAD_END_HOOK
/* The thread-end hook (3.11; see internals.h): a thread state's on_delete,
 * called at the very end of PyThreadState_Clear(), frees a table that was
 * made after the state dict was cleared (by a finalizer run from the
 * teardown), which nothing else would free.
 *
 * 3.11's _thread module believes on_delete_data is a strong reference it
 * may drop: _thread._set_sentinel() (run by `import threading` and in a
 * child after fork()) decrefs whatever is there and installs its own hook.
 * So on_delete_data is a small object of ours that the thread state owns,
 * and that owns the hook it replaced (_thread's weak reference or nothing):
 * if _set_sentinel() drops it, it drops that in turn, as _set_sentinel()
 * would have; the tables are not touched either way. */
typedef struct {
    PyObject_HEAD
    PyThreadState *tstate;
    void (*next)(void *);
    void *next_data; /* a strong reference, or NULL */
} ThreadEndHook;

static PyTypeObject *hook_type;

static void
hook_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    /* Not called: dropped by _set_sentinel(), which replaced the whole
     * chain; what we held of it goes too. */
    Py_XDECREF((PyObject *)((ThreadEndHook *)self)->next_data);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyType_Slot hook_slots[] = {
    {Py_tp_dealloc, hook_dealloc},
    {0, NULL},
};

static PyType_Spec hook_spec = {
    .name = "threadhandle._ThreadEndHook",
    .basicsize = sizeof(ThreadEndHook),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = hook_slots,
};

/* tstate's on_delete, once per thread state.  The state dict was cleared
 * at the start of PyThreadState_Clear(): one that exists now was made
 * after that, and nothing clears it.  Take our table out of it (freeing
 * the dict too if that leaves it empty), then call the hook we replaced. */
static void
at_thread_end(void *data)
{
    ThreadEndHook *hook = data;
    PyThreadState *tstate = hook->tstate;
    void (*next)(void *) = hook->next;
    void *next_data = hook->next_data;
    hook->next = NULL;
    hook->next_data = NULL;
    /* The hooks are called now: nothing of them may be called again. */
    if (tstate->on_delete == at_thread_end && tstate->on_delete_data == hook) {
        tstate->on_delete = NULL;
        tstate->on_delete_data = NULL;
    }

    PyObject *exc_type, *exc_value, *exc_tb;
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
    PyObject *state = tstate->dict;
    if (state != NULL) {
        Py_INCREF(state);
        int found = PyDict_Contains(state, state_key);
        if (found > 0 && PyDict_DelItem(state, state_key) < 0) {
            found = -1;
        }
        if (found < 0) {
            PyErr_WriteUnraisable(NULL);
        }
        if (tstate->dict == state && PyDict_GET_SIZE(state) == 0) {
            Py_CLEAR(tstate->dict);
        }
        Py_DECREF(state); /* may free the table and its entries */
    }
    PyErr_Restore(exc_type, exc_value, exc_tb);
    Py_DECREF(hook); /* the thread state's reference */
    if (next != NULL) {
        next(next_data);
    }
}

/* Make sure tstate's teardown ends with at_thread_end(): a table is being
 * put in its state dict.  0, or -1 with an exception. */
static int
hook_thread_end(PyThreadState *tstate)
{
    if (tstate->on_delete == at_thread_end) {
        return 0;
    }
    ThreadEndHook *hook = PyObject_New(ThreadEndHook, hook_type);
    if (hook == NULL) {
        return -1;
    }
    hook->tstate = tstate;
    hook->next = tstate->on_delete;
    hook->next_data = tstate->on_delete_data;
    tstate->on_delete = at_thread_end;
    tstate->on_delete_data = hook;
    return 0;
}
#endif

static void
table_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject *handles = ((HandleTable *)self)->handles;
    tables_closing++;
    Py_XDECREF(handles);
    tables_closing--;
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyType_Slot table_slots[] = {
    {Py_tp_dealloc, table_dealloc},
    {0, NULL},
};

static PyType_Spec table_spec = {
    .name = "threadhandle._HandleTable",
    .basicsize = sizeof(HandleTable),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = table_slots,
};

int
th_local_init(void)
{
    state_key = PyUnicode_InternFromString("threadhandle.local_handles");
    policy_module_name = PyUnicode_InternFromString("threadhandle.local");
    table_type = (PyTypeObject *)PyType_FromSpec(&table_spec);
#if TH_THREAD_END_HOOK
    hook_type = (PyTypeObject *)PyType_FromSpec(&hook_spec);
    if (hook_type == NULL) {
        return -1;
    }
#endif
    return (state_key && policy_module_name && table_type) ? 0 : -1;
}

/* This thread's state dict (borrowed: no other thread uses it) and the
 * table in it (a new reference, or NULL when there is none).  Both NULL
 * while the thread ends: no table may be made then.  -1 on error. */
static int
thread_table(PyObject **state, PyObject **table)
{
    *table = NULL;
    *state = NULL;
    PyThreadState *tstate = PyThreadState_Get();
    if (thread_ending(tstate)) {
        return 0;
    }
    *state = PyThreadState_GetDict();
    if (*state == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_RuntimeError,
                            "local_handle() needs a thread state");
        }
        return -1;
    }
    if (PyDict_GetItemRef(*state, state_key, table) < 0) {
        return -1;
    }
    if (*table != NULL && !Py_IS_TYPE(*table, table_type)) {
        Py_CLEAR(*table);
        PyErr_SetString(PyExc_RuntimeError,
                        "the thread state entry of threadhandle was "
                        "replaced by something that is not its handle table");
        return -1;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (*table == NULL && had_table(tstate)) {
        /* Cleared with the state dict, which someone made again since. */
        *state = NULL;
    }
#endif
    return 0;
}

/* This thread's handle dict, as a new reference in *handles: made when
 * `create`, else NULL when there is none; also NULL while a table is torn
 * down or the thread ends.  -1 on error. */
static int
thread_handles(int create, PyObject **handles)
{
    PyObject *state, *table;
    *handles = NULL;
    if (tables_closing) {
        return 0;
    }
    if (thread_table(&state, &table) < 0) {
        return -1;
    }
    if (table != NULL) {
        *handles = Py_XNewRef(((HandleTable *)table)->handles);
        Py_DECREF(table);
        return 0;
    }
    if (!create || state == NULL) {
        return 0;
    }
    table = PyType_GenericAlloc(table_type, 0);
    if (table == NULL) {
        return -1;
    }
    ((HandleTable *)table)->handles = PyDict_New();
    if (((HandleTable *)table)->handles == NULL
#if TH_THREAD_END_HOOK
        || hook_thread_end(PyThreadState_Get()) < 0
#endif
        || PyDict_SetItem(state, state_key, table) < 0)
    {
        Py_DECREF(table);
        return -1;
    }
    *handles = Py_NewRef(((HandleTable *)table)->handles);
    Py_DECREF(table);
#if PY_VERSION_HEX < 0x030C0000
    set_had_table(PyThreadState_Get());
#endif
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
 * that it may change at run time: 1 with *limit set, 0 when the module is
 * gone (interpreter shutdown: nothing is cached then), -1 on error. */
static int
max_handles(Py_ssize_t *limit)
{
    PyObject *module = PyImport_GetModule(policy_module_name);
    if (module == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    PyObject *value = PyObject_GetAttrString(module, "MAX_HANDLES_PER_THREAD");
    Py_DECREF(module);
    if (value == NULL) {
        return -1;
    }
    if (!PyIndex_Check(value)) {
        PyErr_Format(PyExc_TypeError,
                     "threadhandle.local.MAX_HANDLES_PER_THREAD must be an "
                     "integer, not '%.100s'",
                     Py_TYPE(value)->tp_name);
        Py_DECREF(value);
        return -1;
    }
    /* Clamped: a limit beyond any memory is as good as none. */
    *limit = PyNumber_AsSsize_t(value, NULL);
    Py_DECREF(value);
    return (*limit == -1 && PyErr_Occurred()) ? -1 : 1;
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

/* A handle of obj, cached under key unless the limit or a table being
 * torn down says otherwise; the caller found none in `handles`. */
static PyObject *
new_local_handle(PyObject *handles, PyObject *key, PyObject *obj)
{
    Py_ssize_t limit;
    int known = max_handles(&limit);
    if (known < 0) {
        return NULL;
    }
    if (known == 0) {
        return th_new_handle(obj);
    }
    /* Evicting runs finalizers, i.e. any code: it may call local_handle()
     * or clear this table.  Hence the loop, and the look-up again in the
     * thread's table as it is afterwards. */
    while (PyDict_GET_SIZE(handles) > 0 && PyDict_GET_SIZE(handles) >= limit) {
        if (evict_oldest(handles) < 0) {
            return NULL;
        }
    }
    PyObject *current, *handle = NULL;
    if (thread_handles(1, &current) < 0) {
        return NULL;
    }
    if (current == NULL || limit <= 0) {
        /* A table being torn down, or a limit of 0: nothing is cached. */
        Py_XDECREF(current);
        return th_new_handle(obj);
    }
    if (PyDict_GetItemRef(current, key, &handle) == 0) {
        handle = th_new_handle(obj);
        if (handle != NULL && PyDict_SetItem(current, key, handle) < 0) {
            Py_CLEAR(handle);
        }
    }
    Py_DECREF(current);
    return handle;
}

PyObject *
th_local_handle(PyObject *obj)
{
    PyObject *handles, *handle = NULL;
    if (thread_handles(1, &handles) < 0) {
        return NULL;
    }
    if (handles == NULL) {
        return th_new_handle(obj); /* a table is being torn down */
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
    PyObject *state, *table;
    if (tables_closing) {
        return 0;
    }
    if (thread_table(&state, &table) < 0) {
        return -1;
    }
    if (table == NULL) {
        return 0;
    }
    /* Unlink the table and take its entries before dropping them: their
     * finalizers see an empty table, and may start a new one. */
    int res = PyDict_DelItem(state, state_key);
#if PY_VERSION_HEX < 0x030C0000
    if (res == 0) {
        set_had_table(NULL);
    }
#endif
    PyObject *handles = ((HandleTable *)table)->handles;
    ((HandleTable *)table)->handles = NULL;
    Py_DECREF(table);
    if (handles != NULL) {
        PyDict_Clear(handles);
        Py_DECREF(handles);
    }
    return res;
}

PyObject *
th_thread_handles(void)
{
    PyObject *handles;
    if (thread_handles(1, &handles) < 0) {
        return NULL;
    }
    return handles != NULL ? handles : PyDict_New();
}
