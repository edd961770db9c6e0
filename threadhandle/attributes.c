/* Attribute access: h.x, h.x = v, del h.x, and the attribute cache.
 *
 * Every attribute forwards to the object.  `h.get(5)` would normally make a
 * new bound method each time, and a bound method holds a strong reference to
 * the object: on a free-threaded build that is an incref and a decref of the
 * shared object's refcount per call.  So a handle keeps what it has looked
 * up in a small cache, used only by the thread that owns the handle.  An
 * entry is one of:
 *
 *   BOUND_METHOD     a bound method, for instances without a __dict__;
 *   UNLESS_SHADOWED  a bound method, for instances whose attributes live in
 *                    inline values (3.14t, 3.15t: internals.h), used while the
 *                    instance has no attribute of that name;
 *   INSTANCE_VALUE   the index of an instance attribute in the inline
 *                    values (3.14t, 3.15t), read afresh at every use.
 *
 * An entry is used only while all of these still hold:
 *   - the object's type is the type the entry was made for, with the same
 *     version tag (any change to the class or its bases changes the tag);
 *   - that type uses the generic attribute lookup (no __getattribute__ or
 *     __getattr__), and its instances have no __dict__ or keep their
 *     attributes in inline values (checked when the entry is made; both are
 *     part of the type and so covered by the version tag);
 *   - for a method, the name resolves on the type to a plain method: a
 *     function, a method descriptor or a slot wrapper descriptor (no
 *     property, no custom descriptor whose __get__ could answer differently
 *     each time); for an instance value, the name is not on the type at all;
 *   - for the inline-values kinds, the values are still the instance's
 *     attributes (no __dict__ assigned, none that outgrew them), checked at
 *     every use, as the interpreter's LOAD_ATTR_METHOD_WITH_VALUES and
 *     LOAD_ATTR_INSTANCE_VALUE do.
 * Anything else takes the ordinary path, PyObject_GetAttr on the object.
 *
 * A cached entry holds the bound method it gives, made from the descriptor
 * found on the type for this object; never whatever the lookup returned,
 * which an instance attribute shadowing the method at that moment may have
 * answered.
 *
 * Calling a Python method makes a frame that holds a new reference to the
 * object (self): on free-threaded builds that touches the object's shared
 * count whatever the handle does.  The handle leaves that alone: turning on
 * deferred reference counting would change when the object dies, which is
 * the user's call (enable_deferred_refcount; docs/guide.md: "Which tool
 * for which object").
 */
#include "internals.h" /* first: it may define Py_BUILD_CORE */
#include "handle.h"
#include "compat.h"

/* Two-way set-associative by the address of the (interned) name: a hit
 * costs one or two compares of the name, then one of type and version.
 * Any two names can be cached together (with one entry per name, two names
 * that mapped to the same entry would evict each other at every use, by
 * the luck of where they were allocated); a third name of the same set
 * evicts the one stored less recently. */
#define TH_CACHE_SETS 4
#define TH_CACHE_SIZE (2 * TH_CACHE_SETS)

enum th_entry_kind {
    BOUND_METHOD,
    UNLESS_SHADOWED,
    INSTANCE_VALUE,
};

typedef struct {
    PyObject *name;       /* interned attribute name, strong */
    PyTypeObject *type;   /* strong; compared by identity */
    unsigned int version; /* type's version tag when the entry was made */
    enum th_entry_kind kind;
    /* UNLESS_SHADOWED, INSTANCE_VALUE: the name's index in the inline
     * values, or -1 if the class's shared keys did not have it when they
     * were `keys_length` long. */
    Py_ssize_t index;
    Py_ssize_t keys_length;
    PyObject *method; /* the bound method, strong; NULL for values */
} th_attr_cache_entry;

struct th_attr_cache {
    th_attr_cache_entry entries[TH_CACHE_SIZE];
};

/* The two entries where `name` may be, the most recently stored first. */
static inline th_attr_cache_entry *
cache_set_for(struct th_attr_cache *cache, PyObject *name)
{
    /* Objects are 16-byte aligned: drop the bits that never vary. */
    uintptr_t bits = (uintptr_t)name >> 4;
    return &cache->entries[((bits ^ (bits >> 3)) % TH_CACHE_SETS) * 2];
}

/* name's entry, or NULL if it has none. */
static inline th_attr_cache_entry *
cache_find(struct th_attr_cache *cache, PyObject *name)
{
    th_attr_cache_entry *set = cache_set_for(cache, name);
    if (set[0].name == name) {
        return &set[0];
    }
    if (set[1].name == name) {
        return &set[1];
    }
    return NULL;
}

/* Whether lookups on obj may be cached: the generic lookup, and no
 * instance dict to look in (or inline values that are still valid). */
static inline int
allows_cache(PyObject *obj, PyTypeObject *tp)
{
    if (tp->tp_getattro != PyObject_GenericGetAttr) {
        return 0;
    }
    if (tp->tp_dictoffset == 0
        && !PyType_HasFeature(tp, Py_TPFLAGS_MANAGED_DICT))
    {
        return 1;
    }
#if TH_INLINE_VALUES
    return th_has_inline_values(tp) && th_inline_values_valid(obj);
#else
    (void)obj;
    return 0;
#endif
}

static inline int
is_plain_method(PyObject *descr)
{
    return PyFunction_Check(descr) || Py_IS_TYPE(descr, &PyMethodDescr_Type)
           || Py_IS_TYPE(descr, &PyWrapperDescr_Type);
}

/* h->attr_cache is written only by the owning thread; other threads read it
 * only for sys.getsizeof() and the test helper, hence atomic accesses. */
static inline struct th_attr_cache *
cache_load(ThreadHandleObject *h)
{
#ifdef Py_GIL_DISABLED
    return (struct th_attr_cache *)_Py_atomic_load_ptr_relaxed(&h->attr_cache);
#else
    return h->attr_cache;
#endif
}

static inline void
cache_publish(ThreadHandleObject *h, struct th_attr_cache *cache)
{
#ifdef Py_GIL_DISABLED
    _Py_atomic_store_ptr_relaxed(&h->attr_cache, cache);
#else
    h->attr_cache = cache;
#endif
}

/* Store `fresh` in h's cache (which takes references of its own). */
static void
cache_store(ThreadHandleObject *h, th_attr_cache_entry fresh)
{
    struct th_attr_cache *cache = h->attr_cache;
    if (cache == NULL) {
        cache = PyMem_Calloc(1, sizeof(*cache));
        if (cache == NULL) {
            return; /* no cache is only slower */
        }
        cache_publish(h, cache);
    }
    th_attr_cache_entry *set = cache_set_for(cache, fresh.name);
    /* `fresh` goes first.  What goes is the name's old entry if it was
     * first, else the second one (the name's old entry, or the one stored
     * less recently), after the first moves to its place. */
    th_attr_cache_entry old = set[0];
    if (set[0].name != fresh.name) {
        old = set[1];
        set[1] = set[0];
    }
    Py_INCREF(fresh.name);
    Py_INCREF(fresh.type);
    Py_XINCREF(fresh.method);
    set[0] = fresh;
    /* Last: dropping the old method may run arbitrary code. */
    Py_XDECREF(old.name);
    Py_XDECREF(old.type);
    Py_XDECREF(old.method);
}

/* The bound method that descr (found on tp, obj's type) gives for obj:
 * what obj.name is while obj has no attribute of that name. */
static PyObject *
bind_method(PyObject *descr, PyObject *obj, PyTypeObject *tp)
{
    descrgetfunc get = Py_TYPE(descr)->tp_descr_get;
    return get != NULL ? get(descr, obj, (PyObject *)tp) : Py_NewRef(descr);
}

/* The entry to remember for obj.name, whose lookup gave `value` while
 * obj's type was `tp` at `version`: 1 if it is worth caching (the entry
 * then holds new references), 0 if not, -1 on error. */
static int
make_entry(PyObject *obj, PyTypeObject *tp, PyObject *name, PyObject *value,
           th_attr_cache_entry *entry)
{
    *entry = (th_attr_cache_entry){.name = name, .type = tp, .index = -1};
    PyObject *descr = th_type_lookup(tp, name);
    int cacheable = 0;
    if (descr != NULL && is_plain_method(descr)) {
        entry->kind = BOUND_METHOD;
        cacheable = 1;
    }
#if TH_INLINE_VALUES
    if (th_has_inline_values(tp)) {
        /* The instance's own attributes come first, or not at all. */
        Py_ssize_t length = 0;
        Py_ssize_t index = th_shared_key_index(tp, name, &length);
        entry->index = index;
        entry->keys_length = length;
        if (index < -1 || (index >= 0 && !th_inline_index_fits(obj, index))) {
            cacheable = 0;
        }
        else if (cacheable) {
            entry->kind = UNLESS_SHADOWED;
            cacheable = th_instance_lacks(obj, index, length);
        }
        else if (descr == NULL && index >= 0) {
            PyObject *current = th_inline_value(obj, index);
            entry->kind = INSTANCE_VALUE;
            cacheable = current == value;
            Py_XDECREF(current);
        }
    }
#else
    (void)value;
#endif
    if (cacheable && entry->kind != INSTANCE_VALUE) {
        /* Not `value`: an instance attribute that shadowed the method
         * during the lookup, and has gone since, may have answered it. */
        entry->method = bind_method(descr, obj, tp);
        if (entry->method == NULL) {
            cacheable = -1;
        }
    }
    Py_XDECREF(descr);
    return cacheable;
}

/* A cache miss on an object that allows caching: the ordinary lookup,
 * remembering the result when the entry would stay valid.  Kept out of
 * line so that the hit path in th_getattro stays small. */
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
    th_attr_cache_entry entry;
    int cacheable = make_entry(obj, tp, name, value, &entry);
    if (cacheable < 0) {
        /* Binding the method again failed: the lookup's answer stands,
         * uncached. */
        PyErr_Clear();
    }
    else if (cacheable && Py_IS_TYPE(obj, tp)
             && th_type_version(tp) == version)
    {
        entry.version = version;
        cache_store(h, entry);
        if (entry.method != NULL) {
            /* What later lookups give, so that h.get is h.get. */
            Py_SETREF(value, Py_NewRef(entry.method));
        }
    }
    Py_XDECREF(entry.method);
    return value;
}

/* Lookups the cache does not answer: straight to the object's own lookup
 * for objects whose lookups are not cached, else the ordinary lookup,
 * cached when it can be. */
static inline PyObject *
getattr_uncached(ThreadHandleObject *h, PyObject *name)
{
    PyObject *obj = h->obj;
    PyTypeObject *tp = Py_TYPE(obj);
    if (!allows_cache(obj, tp)) {
        /* Instance dicts and custom lookups: straight to the object
         * (through PyObject_GetAttr for types with only a tp_getattr). */
        return tp->tp_getattro != NULL ? tp->tp_getattro(obj, name)
                                       : PyObject_GetAttr(obj, name);
    }
    return getattr_and_cache(h, name);
}

#if TH_INLINE_VALUES
/* A valid UNLESS_SHADOWED or INSTANCE_VALUE entry: what it gives for the
 * object as it is now, or the ordinary lookup when the instance's
 * attributes say otherwise.  Out of line, so that th_getattro stays a
 * leaf function for the other lookups. */
static Py_NO_INLINE PyObject *
getattr_inline_values(ThreadHandleObject *h, th_attr_cache_entry *entry,
                      PyObject *name)
{
    PyObject *obj = h->obj;
    PyObject *value = NULL;
    if (entry->kind == INSTANCE_VALUE) {
        value = th_inline_value(obj, entry->index);
    }
    else if (th_instance_lacks(obj, entry->index, entry->keys_length)) {
        value = Py_NewRef(entry->method);
    }
    return value != NULL ? value : getattr_uncached(h, name);
}
#endif

/* An entry can only exist for a type that allowed caching at that version
 * tag; changing the type changes the tag. */
PyObject *
th_getattro(PyObject *self, PyObject *name)
{
    ThreadHandleObject *h = (ThreadHandleObject *)self;
    PyTypeObject *tp = Py_TYPE(h->obj);
    /* Ownership first: only the owner may look at h->attr_cache here. */
    struct th_attr_cache *cache;
    if (th_owned_by_current_thread(self) && (cache = h->attr_cache) != NULL) {
        th_attr_cache_entry *entry = cache_find(cache, name);
        if (entry != NULL && entry->type == tp
            && entry->version == th_type_version(tp))
        {
            if (entry->kind == BOUND_METHOD) {
                return Py_NewRef(entry->method);
            }
#if TH_INLINE_VALUES
            return getattr_inline_values(h, entry, name);
#endif
        }
    }
    return getattr_uncached(h, name);
}

int
th_setattro(PyObject *self, PyObject *name, PyObject *value)
{
    return PyObject_SetAttr(TH_OBJ(self), name, value);
}

/* ------------------------------------------------ lifetime of the cache */

int
th_attr_cache_traverse(ThreadHandleObject *h, visitproc visit, void *arg)
{
    struct th_attr_cache *cache = h->attr_cache;
    if (cache != NULL) {
        for (int i = 0; i < TH_CACHE_SIZE; i++) {
            Py_VISIT(cache->entries[i].type);
            Py_VISIT(cache->entries[i].method);
        }
    }
    return 0;
}

void
th_attr_cache_free(ThreadHandleObject *h)
{
    struct th_attr_cache *cache = h->attr_cache;
    if (cache == NULL) {
        return;
    }
    h->attr_cache = NULL;
    for (int i = 0; i < TH_CACHE_SIZE; i++) {
        Py_XDECREF(cache->entries[i].name);
        Py_XDECREF(cache->entries[i].type);
        Py_XDECREF(cache->entries[i].method);
    }
    PyMem_Free(cache);
}

Py_ssize_t
th_attr_cache_sizeof(ThreadHandleObject *h)
{
    if (cache_load(h) == NULL) {
        return 0;
    }
    return (Py_ssize_t)sizeof(struct th_attr_cache);
}

/* The names cached in h, for tests: from the owning thread, or once the
 * owner no longer uses h. */
PyObject *
th_attr_cache_names(ThreadHandleObject *h)
{
    PyObject *names = PyList_New(0);
    struct th_attr_cache *cache = cache_load(h);
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
