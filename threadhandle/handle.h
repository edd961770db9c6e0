/* The C side of ThreadHandle: the object layout, the functions each file
 * offers the others, and the map of the C files (docs/internals.md, "Where
 * things are", finds the file for each operation and points here for the
 * map).
 *
 * _threadhandle.pyx declares the class (construction, docs, the special
 * methods CPython looks up on the type) and the module's functions.  At
 * module initialisation it calls th_lookup_init(), th_install_slots() and
 * th_local_init().  Where things go:
 *
 *   h.x, h.x = v        attributes.c  (tp_getattro/tp_setattro and the
 *                                      per-handle attribute cache)
 *   h(...), h + 1, h[k] forward.c     (vectorcall; number, mapping,
 *                                      sequence, async and buffer slots;
 *                                      richcompare, hash, iter, str), all
 *                                      listed in th_forward_slots
 *   installation        install.c     (points the type's slots at
 *                                      th_forward_slots, checks them all)
 *   local_handle(obj)   local.c       (each thread's handle table)
 *   the type, making    handles.c     (th_type, th_new_handle, th_unwrap,
 *   and unwrapping                     nesting limit)
 *   lookups on a type   lookup.c      (the real MRO, special methods)
 *   immortalize(obj)    immortal.c    (making an object immortal)
 *   contention finder   contention/_sampler.c (the sampling thread
 *                                      that reads candidates' refcounts
 *                                      and locks; threadhandle/contention
 *                                      drives it)
 *   CPython versions    compat.h      (newer public APIs for older
 *                                      versions, race-free reads)
 *   CPython internals   internals.h   (every use, gated by exact version)
 *
 * Calls go one way: install.c -> forward.c -> attributes.c -> lookup.c, and
 * everything -> handles.c; local.c calls only handles.c; handles.c,
 * lookup.c, immortal.c and _sampler.c call no other file.
 */
#ifndef THREADHANDLE_HANDLE_H
#define THREADHANDLE_HANDLE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>

/* The instance layout.  _threadhandle.pxd declares the same fields in the
 * same order; _threadhandle.pyx checks at compile time that both agree
 * (TH_LAYOUT_MATCHES). */
typedef struct {
    PyObject_HEAD
    PyObject *obj;             /* the handled object; set once, strong */
    vectorcallfunc vectorcall; /* entry point for h(...) */
    struct th_attr_cache *attr_cache; /* attributes.c; owner only */
    PyObject *weakreflist;
} ThreadHandleObject;

#define TH_LAYOUT_MATCHES(CY)                                              \
    (Py_BUILD_ASSERT_EXPR(sizeof(struct CY) == sizeof(ThreadHandleObject)) \
     + Py_BUILD_ASSERT_EXPR(offsetof(struct CY, obj)                       \
                            == offsetof(ThreadHandleObject, obj))          \
     + Py_BUILD_ASSERT_EXPR(offsetof(struct CY, vectorcall)                \
                            == offsetof(ThreadHandleObject, vectorcall))   \
     + Py_BUILD_ASSERT_EXPR(offsetof(struct CY, attr_cache)                \
                            == offsetof(ThreadHandleObject, attr_cache))   \
     + Py_BUILD_ASSERT_EXPR(offsetof(struct CY, __weakref__)               \
                            == offsetof(ThreadHandleObject, weakreflist)))

/* handles.c: the ThreadHandle type, set by th_install_slots(). */
extern PyTypeObject *th_type;

#define TH_CHECK(op) Py_IS_TYPE((op), th_type)
#define TH_OBJ(op) (((ThreadHandleObject *)(op))->obj)

/* Replace a handle by the object it handles; anything else is left alone.
 * ThreadHandle is final, so an exact type check suffices. */
#define UNWRAP(op)             \
    do {                       \
        if (TH_CHECK(op)) {    \
            (op) = TH_OBJ(op); \
        }                      \
    } while (0)

/* handles.c */
PyObject *th_unwrap(PyObject *op);
PyObject *th_new_handle(PyObject *obj);
int th_check_proxy_chain(PyObject *obj);

/* lookup.c */
int th_lookup_init(void);
PyObject *th_type_lookup(PyTypeObject *type, PyObject *name);
PyObject *th_special_method(PyObject *obj, PyObject *name, PyObject *dflt);
int th_has_len(PyObject *obj);

/* install.c */
int th_install_slots(PyTypeObject *type);
int th_check_forward_slots(PyTypeObject *type);

/* forward.c */
extern PyType_Slot th_forward_slots[];
vectorcallfunc th_vectorcall_for(PyObject *obj);

/* attributes.c */
PyObject *th_getattro(PyObject *self, PyObject *name);
int th_setattro(PyObject *self, PyObject *name, PyObject *value);
int th_attr_cache_traverse(ThreadHandleObject *h, visitproc visit, void *arg);
void th_attr_cache_free(ThreadHandleObject *h);
Py_ssize_t th_attr_cache_sizeof(ThreadHandleObject *h);
PyObject *th_attr_cache_names(ThreadHandleObject *h);

/* immortal.c */
extern const int th_can_immortalize;
int th_immortalize(PyObject *op);

/* local.c */
int th_local_init(void);
PyObject *th_local_handle(PyObject *obj);
int th_release_local_handle(PyObject *obj);
int th_clear_local_handles(void);
PyObject *th_thread_handles(void);

/* contention/_sampler.c (free-threaded builds; elsewhere th_sampler_new()
 * raises; th_sampler_init() makes its record types, on every build) */
typedef struct th_sampler th_sampler;
int th_sampler_init(void);
int th_sampler_available(void);
th_sampler *th_sampler_new(double duty, double max_rate);
int th_sampler_start(th_sampler *s);
PyObject *th_sampler_swap(th_sampler *s, PyObject *objects);
void th_sampler_resume(th_sampler *s);
PyObject *th_sampler_stats(th_sampler *s);
void th_sampler_stop(th_sampler *s);
void th_sampler_free(th_sampler *s);

#endif /* THREADHANDLE_HANDLE_H */
