/* Forwarding of calls and operators: h(...), h + 1, h[k], len(h), ...
 *
 * Modelled on the weakref proxy in CPython's Objects/weakrefobject.c: every
 * operand of an operator that is a handle is replaced by its object
 * (UNWRAP), then the abstract API does what it would do for the objects
 * themselves.  So `7 - h`, `pow(2, h, h)` and `h ** h` all work, and a
 * handle never recurses into another handle.
 *
 * Only the handle whose slot runs and the operands of number operators
 * are unwrapped.  Keys, values and call arguments are passed as they are,
 * on purpose, as the weakref proxy passes them: `h[k] = v` stores what
 * `obj[k] = v` stores, and the object decides what a handle among them
 * means.  A handle used as a key still finds the object's entry: it
 * hashes and compares as its object does.
 */
#include "handle.h"
#include "compat.h"

/* ---------------------------------------------------------------- calls */

/* The object's own vectorcall entry point (what PyObject_Vectorcall would
 * use), read on every call because functions may change theirs. */
static inline vectorcallfunc
vectorcall_of(PyObject *callable)
{
    PyTypeObject *tp = Py_TYPE(callable);
    if (!PyType_HasFeature(tp, Py_TPFLAGS_HAVE_VECTORCALL)) {
        return NULL;
    }
    vectorcallfunc func;
    memcpy(&func, (char *)callable + tp->tp_vectorcall_offset, sizeof(func));
    return func;
}

static PyObject *
th_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
              PyObject *kwnames)
{
    PyObject *obj = TH_OBJ(self);
    vectorcallfunc func = vectorcall_of(obj);
    if (func != NULL) {
        /* Our caller checks the result, as it would for obj. */
        return func(obj, args, nargsf, kwnames);
    }
    return PyObject_Vectorcall(obj, args, nargsf, kwnames);
}

/* For objects whose call does not check the recursion depth itself
 * (functools.partial, bound methods, ...): they may call a handle again,
 * and a chain of them would overflow the C stack. */
static PyObject *
th_vectorcall_checked(PyObject *self, PyObject *const *args, size_t nargsf,
                      PyObject *kwnames)
{
    if (Py_EnterRecursiveCall(" while calling a Python object")) {
        return NULL;
    }
    PyObject *res = th_vectorcall(self, args, nargsf, kwnames);
    Py_LeaveRecursiveCall();
    return res;
}

/* The entry point for h(...) of a new handle of obj.  Python functions
 * enter the interpreter, which checks the recursion depth; builtins and
 * method descriptors check it before running their C code; so these skip
 * a second check.  An object's type cannot later become or stop being
 * one of these (static types: no __class__ assignment to or from them). */
vectorcallfunc
th_vectorcall_for(PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);
    if (tp == &PyCFunction_Type || tp == &PyCMethod_Type
        || tp == &PyFunction_Type || tp == &PyMethodDescr_Type)
    {
        return th_vectorcall;
    }
    return th_vectorcall_checked;
}

/* -------------------------------------------------------------- numbers */

#define NB_SLOT(tp, offset) \
    (*(binaryfunc *)((char *)(tp)->tp_as_number + (offset)))

/* `func(a, b)` for objects that are not handles.  When both have the same
 * static type, binary_op1() in Objects/abstract.c would call only that
 * type's slot, so call it directly and skip the second dispatch.  Heap types
 * are excluded: their slot may run Python code, which must not run twice if
 * it returns NotImplemented. */
static inline PyObject *
binary_op(PyObject *a, PyObject *b, size_t offset, binaryfunc func)
{
    PyTypeObject *tp = Py_TYPE(a);
    if (Py_IS_TYPE(b, tp) && tp->tp_as_number != NULL
        && !PyType_HasFeature(tp, Py_TPFLAGS_HEAPTYPE))
    {
        binaryfunc slot = NB_SLOT(tp, offset);
        if (slot != NULL) {
            PyObject *res = slot(a, b);
            if (res != Py_NotImplemented) {
                return res;
            }
            Py_DECREF(res);
        }
    }
    return func(a, b);
}

/* The result of an in-place operation on handle `self`.  If the object
 * updated itself (list +=), the handle stays; otherwise the name is rebound
 * to a new handle of the result, so `h += 1` keeps h a handle. */
static PyObject *
inplace_result(PyObject *self, PyObject *obj, PyObject *res)
{
    if (res == NULL || !TH_CHECK(self)) {
        return res;
    }
    if (res == obj) {
        Py_DECREF(res);
        return Py_NewRef(self);
    }
    PyObject *handle = th_new_handle(res);
    Py_DECREF(res);
    return handle;
}

#define WRAP_UNARY(name, func)         \
    static PyObject *name(PyObject *a) \
    {                                  \
        UNWRAP(a);                     \
        return func(a);                \
    }

#define WRAP_BINARY(name, func, slot)                                  \
    static PyObject *name(PyObject *a, PyObject *b)                    \
    {                                                                  \
        UNWRAP(a);                                                     \
        UNWRAP(b);                                                     \
        return binary_op(a, b, offsetof(PyNumberMethods, slot), func); \
    }

#define WRAP_TERNARY(name, func)                                 \
    static PyObject *name(PyObject *a, PyObject *b, PyObject *c) \
    {                                                            \
        UNWRAP(a);                                               \
        UNWRAP(b);                                               \
        UNWRAP(c);                                               \
        return func(a, b, c);                                    \
    }

#define WRAP_INPLACE(name, func)                       \
    static PyObject *name(PyObject *self, PyObject *b) \
    {                                                  \
        PyObject *a = self;                            \
        UNWRAP(a);                                     \
        UNWRAP(b);                                     \
        return inplace_result(self, a, func(a, b));    \
    }

WRAP_BINARY(th_add, PyNumber_Add, nb_add)
WRAP_BINARY(th_sub, PyNumber_Subtract, nb_subtract)
WRAP_BINARY(th_mul, PyNumber_Multiply, nb_multiply)
WRAP_BINARY(th_mod, PyNumber_Remainder, nb_remainder)
WRAP_BINARY(th_divmod, PyNumber_Divmod, nb_divmod)
WRAP_BINARY(th_lshift, PyNumber_Lshift, nb_lshift)
WRAP_BINARY(th_rshift, PyNumber_Rshift, nb_rshift)
WRAP_BINARY(th_and, PyNumber_And, nb_and)
WRAP_BINARY(th_xor, PyNumber_Xor, nb_xor)
WRAP_BINARY(th_or, PyNumber_Or, nb_or)
WRAP_BINARY(th_floor_div, PyNumber_FloorDivide, nb_floor_divide)
WRAP_BINARY(th_true_div, PyNumber_TrueDivide, nb_true_divide)
WRAP_BINARY(th_matmul, PyNumber_MatrixMultiply, nb_matrix_multiply)
WRAP_TERNARY(th_pow, PyNumber_Power)

WRAP_INPLACE(th_iadd, PyNumber_InPlaceAdd)
WRAP_INPLACE(th_isub, PyNumber_InPlaceSubtract)
WRAP_INPLACE(th_imul, PyNumber_InPlaceMultiply)
WRAP_INPLACE(th_imod, PyNumber_InPlaceRemainder)
WRAP_INPLACE(th_ilshift, PyNumber_InPlaceLshift)
WRAP_INPLACE(th_irshift, PyNumber_InPlaceRshift)
WRAP_INPLACE(th_iand, PyNumber_InPlaceAnd)
WRAP_INPLACE(th_ixor, PyNumber_InPlaceXor)
WRAP_INPLACE(th_ior, PyNumber_InPlaceOr)
WRAP_INPLACE(th_ifloor_div, PyNumber_InPlaceFloorDivide)
WRAP_INPLACE(th_itrue_div, PyNumber_InPlaceTrueDivide)
WRAP_INPLACE(th_imatmul, PyNumber_InPlaceMatrixMultiply)

static PyObject *
th_ipow(PyObject *self, PyObject *b, PyObject *c)
{
    PyObject *a = self;
    UNWRAP(a);
    UNWRAP(b);
    UNWRAP(c);
    return inplace_result(self, a, PyNumber_InPlacePower(a, b, c));
}

WRAP_UNARY(th_neg, PyNumber_Negative)
WRAP_UNARY(th_pos, PyNumber_Positive)
WRAP_UNARY(th_abs, PyNumber_Absolute)
WRAP_UNARY(th_invert, PyNumber_Invert)
WRAP_UNARY(th_int, PyNumber_Long)
WRAP_UNARY(th_float, PyNumber_Float)
WRAP_UNARY(th_index, PyNumber_Index)

static int
th_bool(PyObject *self)
{
    return PyObject_IsTrue(TH_OBJ(self));
}


/* ------------------------------------------------- comparison and hash */

static PyObject *
th_richcompare(PyObject *a, PyObject *b, int op)
{
    UNWRAP(a);
    UNWRAP(b);
    return PyObject_RichCompare(a, b, op);
}

static Py_hash_t
th_hash(PyObject *self)
{
    return PyObject_Hash(TH_OBJ(self));
}

static PyObject *
th_str(PyObject *self)
{
    return PyObject_Str(TH_OBJ(self));
}

/* ------------------------------------------------- containers: h[k], in */

/* Length of anything that has one: PyObject_Size, unlike PySequence_Size,
 * accepts mappings, so len() of a handle of a dict works. */
static Py_ssize_t
th_length(PyObject *self)
{
    return PyObject_Size(TH_OBJ(self));
}

static PyObject *
th_getitem(PyObject *self, PyObject *key)
{
    PyObject *obj = TH_OBJ(self);
    PyMappingMethods *mp = Py_TYPE(obj)->tp_as_mapping;
    if (mp != NULL && mp->mp_subscript != NULL) {
        /* What PyObject_GetItem would call first. */
        return mp->mp_subscript(obj, key);
    }
    return PyObject_GetItem(obj, key);
}

static int
th_setitem(PyObject *self, PyObject *key, PyObject *value)
{
    PyObject *obj = TH_OBJ(self);
    PyMappingMethods *mp = Py_TYPE(obj)->tp_as_mapping;
    if (mp != NULL && mp->mp_ass_subscript != NULL) {
        /* What PyObject_SetItem and PyObject_DelItem would call first. */
        return mp->mp_ass_subscript(obj, key, value);
    }
    if (value == NULL) {
        return PyObject_DelItem(obj, key);
    }
    return PyObject_SetItem(obj, key, value);
}

static int
th_contains(PyObject *self, PyObject *value)
{
    PyObject *obj = TH_OBJ(self);
    PySequenceMethods *sq = Py_TYPE(obj)->tp_as_sequence;
    if (sq != NULL && sq->sq_contains != NULL) {
        /* What PySequence_Contains would call first. */
        return sq->sq_contains(obj, value);
    }
    return PySequence_Contains(obj, value);
}


/* ------------------------------------------------------------ iteration */

static PyObject *
th_iter(PyObject *self)
{
    PyObject *obj = TH_OBJ(self);
    PyObject *it = PyObject_GetIter(obj);
    if (it == obj) {
        /* obj is its own iterator: so is the handle, which keeps
         * next() off obj's shared refcount. */
        Py_DECREF(it);
        return Py_NewRef(self);
    }
    return it;
}

static PyObject *
th_iternext(PyObject *self)
{
    PyObject *obj = TH_OBJ(self);
    if (!PyIter_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "'%.200s' object is not an iterator",
                     Py_TYPE(obj)->tp_name);
        return NULL;
    }
    return Py_TYPE(obj)->tp_iternext(obj);
}

/* ---------------------------------------------------------------- async */

#define ASYNC_SLOT(name, slot, message)                                    \
    static PyObject *name(PyObject *self)                                  \
    {                                                                      \
        PyObject *obj = TH_OBJ(self);                                      \
        PyAsyncMethods *am = Py_TYPE(obj)->tp_as_async;                    \
        if (am == NULL || am->slot == NULL) {                              \
            PyErr_Format(PyExc_TypeError, message, Py_TYPE(obj)->tp_name); \
            return NULL;                                                   \
        }                                                                  \
        return am->slot(obj);                                              \
    }

ASYNC_SLOT(th_aiter, am_aiter, "'%.100s' object is not an async iterable")
ASYNC_SLOT(th_anext, am_anext, "'%.100s' object is not an async iterator")

/* A generator of a @types.coroutine function: `await` takes it as its own
 * iterator (_PyCoro_GetAwaitableIter in Objects/genobject.c), though its
 * type has no am_await.  __await__ may not return such a generator, so
 * the handle's returns the handle, which forwards next(), send() and
 * throw() to it. */
static int
is_iterable_coroutine(PyObject *obj)
{
    if (!PyGen_Check(obj)) {
        return 0;
    }
    PyCodeObject *code = PyGen_GetCode((PyGenObject *)obj);
    int flagged = (code->co_flags & CO_ITERABLE_COROUTINE) != 0;
    Py_DECREF(code);
    return flagged;
}

static PyObject *
th_await(PyObject *self)
{
    PyObject *obj = TH_OBJ(self);
    PyAsyncMethods *am = Py_TYPE(obj)->tp_as_async;
    if (am != NULL && am->am_await != NULL) {
        return am->am_await(obj);
    }
    if (is_iterable_coroutine(obj)) {
        return Py_NewRef(self);
    }
    PyErr_Format(PyExc_TypeError, "'%.100s' object can't be awaited",
                 Py_TYPE(obj)->tp_name);
    return NULL;
}

/* Callers of PyIter_Send (asyncio's tasks) use am_send if there is one,
 * else tp_iternext, which a handle always has; so forward am_send, with
 * PyIter_Send's own fallbacks for the object (next() or send()). */
static PySendResult
th_send(PyObject *self, PyObject *arg, PyObject **result)
{
    return PyIter_Send(TH_OBJ(self), arg, result);
}


/* --------------------------------------------------------------- buffer */

/* The view's obj is the handled object, so PyBuffer_Release() goes to it
 * directly and the handle needs no bf_releasebuffer. */
static int
th_getbuffer(PyObject *self, Py_buffer *view, int flags)
{
    return PyObject_GetBuffer(TH_OBJ(self), view, flags);
}

/* ---------------------------------------------------------- the table */

/* Every slot of ThreadHandle that forwards, in one place.  install.c turns
 * this into the slot tables and the class's slot wrappers, and the import
 * fails if an entry is not on the class (th_check_forward_slots). */
PyType_Slot th_forward_slots[] = {
    /* h.x: attributes.c */
    {Py_tp_getattro, th_getattro},
    {Py_tp_setattro, th_setattro},
    /* h(...): tp_call converts to vectorcall, which installs separately */
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_richcompare, th_richcompare},
    {Py_tp_hash, th_hash},
    {Py_tp_str, th_str},
    {Py_tp_iter, th_iter},
    {Py_tp_iternext, th_iternext},
    {Py_nb_add, th_add},
    {Py_nb_subtract, th_sub},
    {Py_nb_multiply, th_mul},
    {Py_nb_remainder, th_mod},
    {Py_nb_divmod, th_divmod},
    {Py_nb_power, th_pow},
    {Py_nb_negative, th_neg},
    {Py_nb_positive, th_pos},
    {Py_nb_absolute, th_abs},
    {Py_nb_bool, th_bool},
    {Py_nb_invert, th_invert},
    {Py_nb_lshift, th_lshift},
    {Py_nb_rshift, th_rshift},
    {Py_nb_and, th_and},
    {Py_nb_xor, th_xor},
    {Py_nb_or, th_or},
    {Py_nb_int, th_int},
    {Py_nb_float, th_float},
    {Py_nb_inplace_add, th_iadd},
    {Py_nb_inplace_subtract, th_isub},
    {Py_nb_inplace_multiply, th_imul},
    {Py_nb_inplace_remainder, th_imod},
    {Py_nb_inplace_power, th_ipow},
    {Py_nb_inplace_lshift, th_ilshift},
    {Py_nb_inplace_rshift, th_irshift},
    {Py_nb_inplace_and, th_iand},
    {Py_nb_inplace_xor, th_ixor},
    {Py_nb_inplace_or, th_ior},
    {Py_nb_floor_divide, th_floor_div},
    {Py_nb_true_divide, th_true_div},
    {Py_nb_inplace_floor_divide, th_ifloor_div},
    {Py_nb_inplace_true_divide, th_itrue_div},
    {Py_nb_index, th_index},
    {Py_nb_matrix_multiply, th_matmul},
    {Py_nb_inplace_matrix_multiply, th_imatmul},
    /* len() of anything with a length: PyObject_Size accepts mappings,
     * unlike PySequence_Size.  sq_length too, for C code that calls
     * PySequence_Size() on a handle of a sequence. */
    {Py_mp_length, th_length},
    {Py_sq_length, th_length},
    {Py_mp_subscript, th_getitem},
    {Py_mp_ass_subscript, th_setitem},
    {Py_sq_contains, th_contains},
    {Py_am_await, th_await},
    {Py_am_aiter, th_aiter},
    {Py_am_anext, th_anext},
    {Py_am_send, th_send},
    {Py_bf_getbuffer, th_getbuffer},
    {0, NULL},
};
