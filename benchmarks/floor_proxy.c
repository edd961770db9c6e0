/* The floor: the least work any forwarding proxy does in each slot.
 *
 * Not a usable proxy.  FloorProxy(obj) forwards exactly the operations the
 * scaling benchmark runs (attribute reads, calls, `*`, `[]`, `in`, len) by
 * loading obj's own slot and calling it: no unwrapping of the other
 * operand, no NotImplemented fallback, no method cache, calls through the
 * vectorcall function read once at creation.  Whatever it costs over plain
 * access is what CPython's dispatch to a type's slots costs, which no proxy
 * built on those slots can go below.  The benchmark (benchmarks/scaling/)
 * compiles it on demand (benchmarks/.build/) and shows it as the "slot
 * floor" column.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>

typedef struct {
    PyObject_HEAD
    PyObject *obj;
    vectorcallfunc obj_vectorcall; /* obj's entry point, or NULL */
    vectorcallfunc vectorcall;     /* ours: floor_vectorcall */
} FloorProxy;

static PyTypeObject FloorProxy_Type;

#define OBJ(op) (((FloorProxy *)(op))->obj)

static PyObject *
missing(PyObject *obj, const char *slot)
{
    PyErr_Format(PyExc_TypeError, "FloorProxy: '%.100s' object has no %s",
                 Py_TYPE(obj)->tp_name, slot);
    return NULL;
}

static PyObject *
floor_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
                 PyObject *kwnames)
{
    FloorProxy *proxy = (FloorProxy *)self;
    if (proxy->obj_vectorcall != NULL) {
        return proxy->obj_vectorcall(proxy->obj, args, nargsf, kwnames);
    }
    return PyObject_Vectorcall(proxy->obj, args, nargsf, kwnames);
}

static PyObject *
floor_getattro(PyObject *self, PyObject *name)
{
    PyObject *obj = OBJ(self);
    getattrofunc getattro = Py_TYPE(obj)->tp_getattro;
    if (getattro == NULL) {
        return PyObject_GetAttr(obj, name);
    }
    return getattro(obj, name);
}

static PyObject *
floor_multiply(PyObject *a, PyObject *b)
{
    if (!Py_IS_TYPE(a, &FloorProxy_Type)) {
        Py_RETURN_NOTIMPLEMENTED; /* only `proxy * x` is measured */
    }
    PyObject *obj = OBJ(a);
    PyNumberMethods *nb = Py_TYPE(obj)->tp_as_number;
    if (nb == NULL || nb->nb_multiply == NULL) {
        return missing(obj, "nb_multiply");
    }
    return nb->nb_multiply(obj, b);
}

static PyObject *
floor_subscript(PyObject *self, PyObject *key)
{
    PyObject *obj = OBJ(self);
    PyMappingMethods *mp = Py_TYPE(obj)->tp_as_mapping;
    if (mp == NULL || mp->mp_subscript == NULL) {
        return missing(obj, "mp_subscript");
    }
    return mp->mp_subscript(obj, key);
}

static int
floor_ass_subscript(PyObject *self, PyObject *key, PyObject *value)
{
    PyObject *obj = OBJ(self);
    PyMappingMethods *mp = Py_TYPE(obj)->tp_as_mapping;
    if (mp == NULL || mp->mp_ass_subscript == NULL) {
        missing(obj, "mp_ass_subscript");
        return -1;
    }
    return mp->mp_ass_subscript(obj, key, value);
}

static Py_ssize_t
floor_length(PyObject *self)
{
    PyObject *obj = OBJ(self);
    PyMappingMethods *mp = Py_TYPE(obj)->tp_as_mapping;
    if (mp == NULL || mp->mp_length == NULL) {
        missing(obj, "mp_length");
        return -1;
    }
    return mp->mp_length(obj);
}

static int
floor_contains(PyObject *self, PyObject *value)
{
    PyObject *obj = OBJ(self);
    PySequenceMethods *sq = Py_TYPE(obj)->tp_as_sequence;
    if (sq == NULL || sq->sq_contains == NULL) {
        missing(obj, "sq_contains");
        return -1;
    }
    return sq->sq_contains(obj, value);
}

static PyObject *
floor_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *obj;
    if (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0) {
        PyErr_SetString(PyExc_TypeError,
                        "FloorProxy() takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_UnpackTuple(args, "FloorProxy", 1, 1, &obj)) {
        return NULL;
    }
    FloorProxy *self = (FloorProxy *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->obj = Py_NewRef(obj);
    self->obj_vectorcall = PyVectorcall_Function(obj);
    self->vectorcall = floor_vectorcall;
    return (PyObject *)self;
}

static void
floor_dealloc(PyObject *self)
{
    Py_DECREF(OBJ(self));
    Py_TYPE(self)->tp_free(self);
}

static PyNumberMethods floor_as_number = {
    .nb_multiply = floor_multiply,
};

static PyMappingMethods floor_as_mapping = {
    .mp_length = floor_length,
    .mp_subscript = floor_subscript,
    .mp_ass_subscript = floor_ass_subscript,
};

static PySequenceMethods floor_as_sequence = {
    .sq_contains = floor_contains,
};

static PyTypeObject FloorProxy_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "floor_proxy.FloorProxy",
    .tp_basicsize = sizeof(FloorProxy),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "The least work a forwarding proxy does: a benchmark floor.",
    .tp_new = floor_new,
    .tp_dealloc = floor_dealloc,
    .tp_vectorcall_offset = offsetof(FloorProxy, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_getattro = floor_getattro,
    .tp_as_number = &floor_as_number,
    .tp_as_mapping = &floor_as_mapping,
    .tp_as_sequence = &floor_as_sequence,
};

static int
floor_exec(PyObject *module)
{
    if (PyType_Ready(&FloorProxy_Type) < 0) {
        return -1;
    }
    return PyModule_AddObjectRef(module, "FloorProxy",
                                 (PyObject *)&FloorProxy_Type);
}

static PyModuleDef_Slot floor_slots[] = {
    {Py_mod_exec, floor_exec},
#ifdef Py_mod_gil
    /* Importing it must not turn the GIL back on. */
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef floor_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "floor_proxy",
    .m_doc = "A benchmark floor for forwarding proxies; see floor_proxy.c.",
    .m_size = 0,
    .m_slots = floor_slots,
};

PyMODINIT_FUNC
PyInit_floor_proxy(void)
{
    return PyModuleDef_Init(&floor_module);
}
