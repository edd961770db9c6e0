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
#include "internals.h"  /* first: it may define Py_BUILD_CORE */
#include "handle.h"
#include "compat.h"

/* Our key in each thread's state dict, and the module with the limit. */
static PyObject *state_key;
static PyObject *policy_module_name;

/* The handle table: a heap type of its own, so that it knows when it is
 * torn down. */
typedef struct {
    PyObject_HEAD
    PyObject *handles;  /* id(obj) -> handle, or NULL once taken */
#if TH_THREAD_END_HOOK
    /* The thread state whose on_delete calls table_at_thread_end(self),
     * the hook it replaced, and whether the state dict was made for this
     * table (see internals.h). */
    PyThreadState *hooked;
    void (*next_on_delete)(void *);
    void *next_on_delete_data;
    int made_state_dict;
#endif
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
static void table_at_thread_end(void *data);

/* Give the thread state its previous on_delete back, if it still has ours
 * (threading's _set_sentinel() may have replaced it since). */
static void
unhook_thread_end(HandleTable *table)
{
    PyThreadState *tstate = table->hooked;
    if (tstate == NULL) {
        return;
    }
    table->hooked = NULL;
    if (tstate->on_delete == table_at_thread_end
        && tstate->on_delete_data == table)
    {
        tstate->on_delete = table->next_on_delete;
        tstate->on_delete_data = table->next_on_delete_data;
    }
}

/* Have the end of PyThreadState_Clear(tstate) free `table`, which is in
 * tstate's state dict: a no-op when the thread ends normally (clearing the
 * state dict freed the table first, which unhooks it), the only way the
 * table is freed when it was made after that (by a finalizer). */
static void
hook_thread_end(HandleTable *table, PyThreadState *tstate, int made_dict)
{
    if (tstate->on_delete == table_at_thread_end) {
        /* An earlier table still hooked (someone holds it): take over. */
        HandleTable *earlier = tstate->on_delete_data;
        table->next_on_delete = earlier->next_on_delete;
        table->next_on_delete_data = earlier->next_on_delete_data;
        earlier->hooked = NULL;
    }
    else {
        table->next_on_delete = tstate->on_delete;
        table->next_on_delete_data = tstate->on_delete_data;
    }
    table->hooked = tstate;
    table->made_state_dict = made_dict;
    tstate->on_delete = table_at_thread_end;
    tstate->on_delete_data = table;
}

/* The thread state's on_delete: the table outlived the clearing of the
 * state dict, so it sits in a dict made after it, which nothing will
 * clear.  Drop it (the whole dict if it was made for the table), then
 * call the hook we replaced. */
static void
table_at_thread_end(void *data)
{
    HandleTable *table = data;
    PyThreadState *tstate = table->hooked;
    void (*next)(void *) = table->next_on_delete;
    void *next_data = table->next_on_delete_data;
    int made_dict = table->made_state_dict;
    unhook_thread_end(table);

    PyObject *exc_type, *exc_value, *exc_tb;
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
    PyObject *state = tstate->dict, *entry = NULL;
    if (state != NULL && PyDict_GetItemRef(state, state_key, &entry) > 0
        && entry == (PyObject *)table)
    {
        if (made_dict) {
            /* Nothing else clears it: freeing it is the teardown's job. */
            Py_CLEAR(tstate->dict);
        }
        else if (PyDict_DelItem(state, state_key) < 0) {
            PyErr_WriteUnraisable(NULL);
        }
    }
    Py_XDECREF(entry);  /* may free the table */
    PyErr_Clear();
    PyErr_Restore(exc_type, exc_value, exc_tb);
    if (next != NULL) {
        next(next_data);
    }
}
#endif

static void
table_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
#if TH_THREAD_END_HOOK
    unhook_thread_end((HandleTable *)self);
#endif
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
#if TH_THREAD_END_HOOK
    /* Whether thread_table() makes the state dict (PyThreadState_GetDict
     * makes it on first use). */
    int made_dict = PyThreadState_Get()->dict == NULL;
#endif
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
        || PyDict_SetItem(state, state_key, table) < 0)
    {
        Py_DECREF(table);
        return -1;
    }
    *handles = Py_NewRef(((HandleTable *)table)->handles);
#if TH_THREAD_END_HOOK
    hook_thread_end((HandleTable *)table, PyThreadState_Get(), made_dict);
#endif
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
    PyObject *value = PyObject_GetAttrString(module,
                                             "MAX_HANDLES_PER_THREAD");
    Py_DECREF(module);
    if (value == NULL) {
        return -1;
    }
    if (!PyIndex_Check(value)) {
        PyErr_Format(PyExc_TypeError,
                     "threadhandle.local.MAX_HANDLES_PER_THREAD must be an "
                     "integer, not '%.100s'", Py_TYPE(value)->tp_name);
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
        return th_new_handle(obj);  /* a table is being torn down */
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
