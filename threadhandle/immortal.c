/* immortalize(obj): make an object immortal, so that no thread changes its
 * reference count again.  On free-threaded builds every reference another
 * thread takes to a shared object is an atomic add on one cache line; an
 * immortal object's count is never written, whoever uses it, from Python
 * or from C (numpy's own references to an array included).  The price is
 * that it is never freed.
 *
 * CPython's rule (PyUnstable_SetImmortal, 3.15): the object must not be
 * reachable by another thread yet.  Checked where the header can tell:
 * the calling thread owns the object (ob_tid is its thread id) and no
 * other thread holds a
 * reference (ob_ref_shared is zero but for the flag saying weak
 * references may exist, which no thread's count is in).  An object with
 * deferred reference counting keeps a constant in ob_ref_shared, which
 * cannot be told from other threads' references through public names: it
 * is refused too (classes, functions and modules on free-threaded builds
 * are such objects, and deferred counting already spares them most of the
 * contention).  The header
 * cannot show another thread that could reach the object without holding
 * a reference yet (through a global or a container): that stays the
 * caller's contract.  Nor can it show which thread made the object: ob_tid
 * is a thread id (_Py_ThreadId: on Linux the address of the thread's TLS
 * block), and a thread started after another has ended is often given
 * the same one, so an object made by an ended thread passes as the
 * caller's: CPython leaves its ob_tid as it was until a garbage collection
 * sets it from the owner of its memory (seen: 20 of 20 such objects
 * accepted, and refused after a gc.collect(), on 3.14t); nothing in the
 * header tells the two apart.
 *
 * Where: 3.13t, 3.14t and 3.15t through internals.h (th_set_immortal);
 * free-threaded 3.16+, and 3.15t built with THREADHANDLE_NO_INTERNALS,
 * through the public PyUnstable_SetImmortal, which also demands a uniquely
 * referenced object: one a global, a container or a second name refers
 * to is refused (ValueError);
 * nowhere else (GIL builds, or built with THREADHANDLE_NO_INTERNALS on
 * 3.13t/3.14t): there th_immortalize does nothing and returns 0.
 */
#include "internals.h" /* first: it may define Py_BUILD_CORE */
#include "handle.h"
#include "compat.h"

#if TH_SET_IMMORTAL \
    || (defined(Py_GIL_DISABLED) && PY_VERSION_HEX >= 0x030F0000)
#  define TH_CAN_IMMORTALIZE 1
#else
#  define TH_CAN_IMMORTALIZE 0
#endif

const int th_can_immortalize = TH_CAN_IMMORTALIZE;

/* 1 if op (or the object a handle op handles) is immortal after the call,
 * whether this call made it so or it was already; 0 if this build cannot
 * make objects immortal (nothing was done); -1 with TypeError for a str
 * that is not immortal yet, or with ValueError for an object another
 * thread may hold. */
int
th_immortalize(PyObject *op)
{
    UNWRAP(op);
#if !TH_CAN_IMMORTALIZE
    (void)op;
    return 0;
#else
    if (th_is_immortal(op)) {
        return 1;
    }
    if (PyUnicode_Check(op)) {
        /* An immortal str must be interned (CPython's invariant; the
         * interning table is how the interpreter finds them at exit). */
        PyErr_SetString(PyExc_TypeError,
                        "immortalize() does not accept str: sys.intern(s) "
                        "makes a string immortal on free-threaded builds");
        return -1;
    }
    if (!_Py_IsOwnedByCurrentThread(op)) {
        PyErr_Format(PyExc_ValueError,
                     "immortalize(): this '%.200s' object was made by "
                     "another thread (its header's owner, ob_tid, is not "
                     "the calling thread's id): call immortalize() in the "
                     "thread that made the object, before other threads "
                     "can reach it",
                     Py_TYPE(op)->tp_name);
        return -1;
    }
    Py_ssize_t shared = _Py_atomic_load_ssize_relaxed(&op->ob_ref_shared);
    if ((shared & ~(Py_ssize_t)_Py_REF_MAYBE_WEAKREF) != 0) {
        PyErr_Format(PyExc_ValueError,
                     "immortalize(): this '%.200s' object has a shared "
                     "reference count: other threads hold or have dropped "
                     "references to it (call immortalize() before other "
                     "threads can reach it), or its counting is deferred "
                     "(classes, functions, modules, objects given "
                     "enable_deferred_refcount)",
                     Py_TYPE(op)->tp_name);
        return -1;
    }
#  if TH_SET_IMMORTAL
    th_set_immortal(op);
#  else
    if (!PyUnstable_SetImmortal(op)) {
        PyErr_Format(PyExc_ValueError,
                     "immortalize(): CPython refused to make this "
                     "'%.200s' object immortal (this version requires a "
                     "uniquely referenced object)",
                     Py_TYPE(op)->tp_name);
        return -1;
    }
#  endif
    return 1;
#endif
}
