/* Attribute access: h.x, h.x = v, del h.x, and the method cache.
 *
 * Every attribute forwards to the object.  `h.get(5)` would normally make a
 * new bound method each time, and a bound method holds a strong reference to
 * the object: on a free-threaded build that is an incref and a decref of the
 * shared object's refcount per call.  So a handle keeps the bound methods it
 * has made in a small cache, used only by the thread that owns the handle.
 *
 * A cache entry is used only while all of these still hold:
 *   - the object's type is the type the entry was made for, with the same
 *     version tag (any change to the class or its bases changes the tag);
 *   - that type uses the generic attribute lookup (no __getattribute__ or
 *     __getattr__) and its instances have no __dict__ that could shadow
 *     the name (checked when the entry is made; both are part of the type
 *     and so covered by the version tag);
 *   - the name resolves on the type to a plain method: a function, a method
 *     descriptor or a slot wrapper descriptor (no property, no custom
 *     descriptor whose __get__ could answer differently each time).
 * Anything else takes the ordinary path, PyObject_GetAttr on the object.
 */
#include "handle.h"
#include "compat.h"

/* Direct-mapped by the address of the (interned) name: a hit costs one
 * compare of name, type and version.  Two hot names that map to the same
 * entry evict each other, which is slower but still correct. */
#define TH_CACHE_SIZE 8

typedef struct {
    PyObject *name;       /* interned attribute name, strong */
    PyTypeObject *type;   /* strong; compared by identity */
    unsigned int version; /* type's version tag when the entry was made */
    PyObject *method;     /* the bound method, strong */
} th_cache_entry;

struct th_method_cache {
    th_cache_entry entries[TH_CACHE_SIZE];
};

static inline th_cache_entry *
cache_entry_for(struct th_method_cache *cache, PyObject *name)
{
    /* Objects are 16-byte aligned: drop the bits that never vary. */
    uintptr_t bits = (uintptr_t)name >> 4;
    return &cache->entries[(bits ^ (bits >> 3)) % TH_CACHE_SIZE];
}

static inline int
type_allows_cache(PyTypeObject *tp)
{
    return tp->tp_getattro == PyObject_GenericGetAttr
           && tp->tp_dictoffset == 0
           && !PyType_HasFeature(tp, Py_TPFLAGS_MANAGED_DICT);
}

static inline int
is_plain_method(PyObject *descr)
{
    return PyFunction_Check(descr)
           || Py_IS_TYPE(descr, &PyMethodDescr_Type)
           || Py_IS_TYPE(descr, &PyWrapperDescr_Type);
}

/* h->cache is written only by the owning thread; other threads read it
 * only for sys.getsizeof() and the test helper, hence atomic accesses. */
static inline struct th_method_cache *
cache_load(ThreadHandleObject *h)
{
#ifdef Py_GIL_DISABLED
    return (struct th_method_cache *)_Py_atomic_load_ptr_relaxed(&h->cache);
#else
    return h->cache;
#endif
}

static inline void
cache_publish(ThreadHandleObject *h, struct th_method_cache *cache)
{
#ifdef Py_GIL_DISABLED
    _Py_atomic_store_ptr_relaxed(&h->cache, cache);
#else
    h->cache = cache;
#endif
}

static void
cache_store(ThreadHandleObject *h, PyObject *name, PyTypeObject *tp,
            unsigned int version, PyObject *method)
{
    struct th_method_cache *cache = h->cache;
    if (cache == NULL) {
        cache = PyMem_Calloc(1, sizeof(*cache));
        if (cache == NULL) {
            return;  /* no cache is only slower */
        }
        cache_publish(h, cache);
    }
    th_cache_entry *entry = cache_entry_for(cache, name);
    th_cache_entry old = *entry;
    entry->name = Py_NewRef(name);
    entry->type = (PyTypeObject *)Py_NewRef(tp);
    entry->version = version;
    entry->method = Py_NewRef(method);
    /* Last: dropping the old method may run arbitrary code. */
    Py_XDECREF(old.name);
    Py_XDECREF(old.type);
    Py_XDECREF(old.method);
}

/* A cache miss on a type that allows caching: the ordinary lookup,
 * remembering the result when it is a plain method.  Kept out of line so
 * that the hit path in th_getattro stays small. */
static Py_NO_INLINE PyObject *
getattr_and_cache(ThreadHandleObject *h, PyObject *name)
{
    PyObject *obj = h->obj;
    PyTypeObject *tp = Py_TYPE(obj);
    if (!th_owned_by_current_thread((PyObject *)h)) {
        return PyObject_GetAttr(obj, name);
    }
#if PY_VERSION_HEX >= 0x030C0000
    PyUnstable_Type_AssignVersionTag(tp);
#else
    /* 3.11 assigns version tags as a side effect of type lookups. */
    (void)_PyType_Lookup(tp, name);
#endif
    unsigned int version = th_type_version(tp);
    PyObject *value = PyObject_GenericGetAttr(obj, name);
    /* Names from code are interned, so the cache compares pointers; other
     * names would only churn it. */
    if (value == NULL || version == 0 || !PyUnicode_CheckExact(name)
        || !PyUnicode_CHECK_INTERNED(name))
    {
        return value;
    }
    PyObject *descr = th_type_lookup(tp, name);
    if (descr != NULL && is_plain_method(descr)
        && Py_IS_TYPE(obj, tp) && th_type_version(tp) == version)
    {
        cache_store(h, name, tp, version, value);
    }
    Py_XDECREF(descr);
    return value;
}

/* An entry can only exist for a type that allowed caching (generic lookup,
 * no instance dict) at that version tag; changing either changes the tag. */
PyObject *
th_getattro(PyObject *self, PyObject *name)
{
    ThreadHandleObject *h = (ThreadHandleObject *)self;
    PyObject *obj = h->obj;
    PyTypeObject *tp = Py_TYPE(obj);
    /* Ownership first: only the owner may look at h->cache here. */
    struct th_method_cache *cache;
    if (th_owned_by_current_thread(self) && (cache = h->cache) != NULL) {
        th_cache_entry *entry = cache_entry_for(cache, name);
        if (entry->name == name && entry->type == tp
            && entry->version == th_type_version(tp))
        {
            return Py_NewRef(entry->method);
        }
    }
    if (!type_allows_cache(tp)) {
        /* Instance attributes and custom lookups: straight to the object
         * (through PyObject_GetAttr for types with only a tp_getattr). */
        return tp->tp_getattro != NULL ? tp->tp_getattro(obj, name)
                                       : PyObject_GetAttr(obj, name);
    }
    return getattr_and_cache(h, name);
}

int
th_setattro(PyObject *self, PyObject *name, PyObject *value)
{
    return PyObject_SetAttr(TH_OBJ(self), name, value);
}

/* ------------------------------------------------ lifetime of the cache */

int
th_cache_traverse(ThreadHandleObject *h, visitproc visit, void *arg)
{
    struct th_method_cache *cache = h->cache;
    if (cache != NULL) {
        for (int i = 0; i < TH_CACHE_SIZE; i++) {
            Py_VISIT(cache->entries[i].type);
            Py_VISIT(cache->entries[i].method);
        }
    }
    return 0;
}

void
th_cache_free(ThreadHandleObject *h)
{
    struct th_method_cache *cache = h->cache;
    if (cache == NULL) {
        return;
    }
    h->cache = NULL;
    for (int i = 0; i < TH_CACHE_SIZE; i++) {
        Py_XDECREF(cache->entries[i].name);
        Py_XDECREF(cache->entries[i].type);
        Py_XDECREF(cache->entries[i].method);
    }
    PyMem_Free(cache);
}

Py_ssize_t
th_cache_sizeof(ThreadHandleObject *h)
{
    if (cache_load(h) == NULL) {
        return 0;
    }
    return (Py_ssize_t)sizeof(struct th_method_cache);
}

/* The names cached in h, for tests: from the owning thread, or once the
 * owner no longer uses h. */
PyObject *
th_cache_names(ThreadHandleObject *h)
{
    PyObject *names = PyList_New(0);
    struct th_method_cache *cache = cache_load(h);
    if (names == NULL || cache == NULL) {
        return names;
    }
    for (int i = 0; i < TH_CACHE_SIZE; i++) {
        PyObject *name = cache->entries[i].name;
        if (name != NULL && PyList_Append(names, name) < 0) {
            Py_DECREF(names);
            return NULL;
        }
    }
    return names;
}
