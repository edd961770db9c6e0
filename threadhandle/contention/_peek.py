"""Reading the program's objects without running its code.

The finder is a profiler: it must never call into the program.  getattr,
isinstance, repr, str formatting, dict lookups, `in` on a tuple and
hashing can all run Python code the program defined (a property,
__getattr__, __class__, a metaclass, a proxy's target, a key's __eq__, a
LazyLoader module's loading, a threading.local subclass's __init__).  So
type facts are read from type(obj) through `type`'s own descriptors (C
fields), containers through the C methods of their base types, and only
identity comparisons are made.  Everything here may still raise (an
object freed meanwhile, a descriptor refusing an object): callers guard."""

from __future__ import annotations

import sys
import threading
import types
from itertools import islice

# C descriptors of `type`, `module`, `function`, ...: calling their __get__
# reads a field of the object; no lookup on the object's own type (which a
# metaclass could override) is made.
_mro = type.__dict__["__mro__"].__get__
_type_dict = type.__dict__["__dict__"].__get__
_flags = type.__dict__["__flags__"].__get__
_qualname = type.__dict__["__qualname__"].__get__
_static_module = type.__dict__["__module__"].__get__
_module_dict = types.ModuleType.__dict__["__dict__"].__get__
_function_closure = types.FunctionType.__dict__["__closure__"].__get__
_function_code = types.FunctionType.__dict__["__code__"].__get__
_function_qualname = types.FunctionType.__dict__["__qualname__"].__get__
_method_function = types.MethodType.__dict__["__func__"].__get__
_builtin_name = types.BuiltinFunctionType.__dict__["__name__"].__get__
_getset_name = types.GetSetDescriptorType.__dict__["__name__"].__get__
_getset_owner = types.GetSetDescriptorType.__dict__["__objclass__"].__get__

# Py_TPFLAGS_*
_IMMUTABLETYPE = 1 << 8
_HEAPTYPE = 1 << 9

# threading.local keeps a dict per thread: reading its __dict__ makes one
# for the reading thread and runs a subclass's __init__ there.
_LOCAL_TYPES = (threading.local,)
try:
    import _threading_local
    _LOCAL_TYPES += (_threading_local.local,)
except ImportError:  # pragma: no cover - always there in CPython
    pass

# Containers listed up to this many items.
MAX_ITEMS = 2000


def mro(kind: type) -> tuple:
    return _mro(kind) or ()


def has_base(kind: type, base: type) -> bool:
    """issubclass(kind, base), by identity along kind's MRO (issubclass
    itself may call a metaclass's __subclasscheck__)."""
    if kind is base:
        return True
    for cls in mro(kind):
        if cls is base:
            return True
    return False


def is_type(obj: object) -> bool:
    return has_base(type(obj), type)


def is_module(obj: object) -> bool:
    return has_base(type(obj), types.ModuleType)


def items(mapping: dict) -> list:
    """[(key, value)] of a dict (or a dict subclass: its storage, not its
    methods); [] if it changed size while read."""
    try:
        return list(dict.items(mapping))
    except RuntimeError:
        return []


def str_item(pairs: list, name: str):
    """The value of the str key `name` in [(key, value)], found without
    hashing or comparing another key (a key's __eq__ is the program's
    code); None if absent."""
    for key, value in pairs:
        if type(key) is str and key == name:
            return value
    return None


def module_dict(module) -> dict:
    return _module_dict(module)


def type_items(kind: type) -> list:
    """[(name, value)] of kind.__dict__ (the mappingproxy calls the items
    method of the dict behind it, a real dict)."""
    return list(_type_dict(kind).items())


def is_heap_type(kind: type) -> bool:
    return bool(_flags(kind) & _HEAPTYPE)


def is_class_statement_type(kind: type) -> bool:
    """Made by `class` (or type()): a heap type that is not immutable.  A C
    extension's types are static, or heap types made immutable
    (PyType_FromSpec with Py_TPFLAGS_IMMUTABLETYPE, as CPython's own)."""
    flags = _flags(kind)
    return bool(flags & _HEAPTYPE) and not flags & _IMMUTABLETYPE


def type_name(kind: type) -> str:
    return _qualname(kind)


def type_module(kind: type) -> str:
    """The module a type names, as text (a class may set __module__ to
    anything); "?" if it cannot be read."""
    try:
        if not is_heap_type(kind):
            return _static_module(kind)
        module = str_item(type_items(kind), "__module__")
    except Exception:  # noqa: BLE001 - e.g. a type dict changing size
        return "?"
    if module is None:
        return "builtins"
    return module if type(module) is str else safe_repr(module)


def full_type_name(kind: type) -> str:
    module = type_module(kind)
    name = type_name(kind)
    return name if module == "builtins" else f"{module}.{name}"


# --------------------------------------------------------------------------
# Instances: their __dict__ and slots, when reading them runs no code
# --------------------------------------------------------------------------

# What the walk does with an object, by the first of these bases its type
# has ("instance" if none): the base's own C code reads it.
_SHAPES = ((dict, "dict"), (list, "list"), (tuple, "tuple"), (set, "set"),
           (frozenset, "frozenset"), (types.FunctionType, "function"),
           (types.ModuleType, "module"), (type, "type"))


class _Layout:
    """What a type's instances are to the walk: `shape` (see _SHAPES), and
    for instances where they keep their attributes: the __dict__
    descriptor if reading it runs no Python code (the one a class statement
    makes, BaseException's, a member), and the slots' member descriptors of
    the classes a class statement made."""
    __slots__ = ("kind", "shape", "dict_descriptor", "slots")

    def __init__(self, kind: type) -> None:
        self.kind = kind
        self.shape = "instance"
        self.dict_descriptor = None
        self.slots = []
        for base, shape in _SHAPES:
            if has_base(kind, base):
                self.shape = shape
                return
        if any(has_base(kind, local) for local in _LOCAL_TYPES):
            return
        dict_found = False
        names = set()
        for cls in mro(kind):
            program_class = is_class_statement_type(cls)
            for name, value in type_items(cls):
                if type(name) is not str:
                    continue
                if name == "__dict__" and not dict_found:
                    # The first in the MRO is what obj.__dict__ would use.
                    dict_found = True
                    if _plain_dict_descriptor(value):
                        self.dict_descriptor = value
                elif (program_class and name not in names
                        and type(value) is types.MemberDescriptorType):
                    self.slots.append((name, value))
                names.add(name)


def _plain_dict_descriptor(value: object) -> bool:
    if type(value) is types.MemberDescriptorType:
        return True          # a C field
    if type(value) is not types.GetSetDescriptorType:
        return False         # a property, or anything else
    owner = _getset_owner(value)
    # 3.15 gives every class statement's type one shared __dict__
    # descriptor, whose owner is object; earlier versions one per class.
    return (is_class_statement_type(owner) or owner is BaseException
            or owner is object) and _getset_name(value) == "__dict__"


class Layouts:
    """_Layout per type (an instance's shape is layouts.of(type(obj)).shape),
    kept for one walk (by id: hashing a type may call
    its metaclass)."""

    def __init__(self) -> None:
        self._known: dict = {}

    def of(self, kind: type) -> _Layout:
        layout = self._known.get(id(kind))
        if layout is None or layout.kind is not kind:
            layout = self._known[id(kind)] = _Layout(kind)
        return layout


def instance_attributes(obj: object, layouts: Layouts) -> list:
    """[(name, value)] of an instance's __dict__ and slots, read through
    the type's own descriptors (C code).  Reading the __dict__ makes
    CPython build the dict of an instance that had none."""
    kind = type(obj)
    layout = layouts.of(kind)
    found = []
    if layout.dict_descriptor is not None:
        attributes = layout.dict_descriptor.__get__(obj, kind)
        if has_base(type(attributes), dict):
            found.extend(islice(items(attributes), MAX_ITEMS))
    for name, member in layout.slots:
        try:
            found.append((name, member.__get__(obj, kind)))
        except (AttributeError, TypeError):  # an unset slot, another type
            continue
    return found


def function_cells(function) -> list:
    """[(name, value)] of a function's closure cells that are set."""
    closure = _function_closure(function) or ()
    names = _function_code(function).co_freevars
    cells = []
    for name, cell in zip(names, closure):
        try:
            cells.append((name, cell.cell_contents))
        except ValueError:  # an empty cell
            continue
    return cells


def callable_name(target) -> str:
    kind = type(target)
    if kind is types.MethodType:
        target = _method_function(target)
        kind = type(target)
    if kind is types.FunctionType:
        return _function_qualname(target)
    if kind is types.BuiltinFunctionType:
        return _builtin_name(target)
    return f"<{full_type_name(kind)} object>"


# --------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------

# Types whose repr is CPython's C code over the value alone (by id: `in`
# would compare types with ==, which a metaclass can define).
_ATOMS = {id(kind) for kind in (float, complex, bool, type(None),
                                type(Ellipsis))}
_OPENINGS = {id(list): ("[", "]"), id(tuple): ("(", ")"),
             id(set): ("{", "}"), id(frozenset): ("frozenset({", "})")}
_MAX_TEXT = 60


def _address(obj: object) -> str:
    return f"0x{id(obj):x}"


def _atom_repr(obj: object, kind: type) -> str | None:
    if kind is int:
        if obj.bit_length() > 128:     # huge ints: costly, or refused
            return f"<int of {obj.bit_length()} bits>"
        return int.__repr__(obj)
    if id(kind) in _ATOMS:
        return kind.__repr__(obj)
    if kind is str:
        return str.__repr__(obj[:40]) + ("..." if len(obj) > 40 else "")
    if kind is bytes:
        return bytes.__repr__(obj[:40]) + ("..." if len(obj) > 40 else "")
    return None


def _repr(obj: object, level: int) -> str:
    kind = type(obj)
    text = _atom_repr(obj, kind)
    if text is not None:
        return text
    if kind is dict:
        if level <= 0:
            return "{...}"
        shown = [f"{_repr(key, level - 1)}: {_repr(value, level - 1)}"
                 for key, value in islice(dict.items(obj), 4)]
        more = ", ..." if len(obj) > len(shown) else ""
        return "{" + ", ".join(shown) + more + "}"
    if id(kind) in _OPENINGS:
        opening, closing = _OPENINGS[id(kind)]
        if level <= 0:
            return opening + "..." + closing
        shown = [_repr(value, level - 1)
                 for value in islice(kind.__iter__(obj), 6)]
        if kind is tuple and len(obj) == 1:
            closing = ",)"
        if not shown and (kind is set or kind is frozenset):
            return f"{type_name(kind)}()"
        more = ", ..." if len(obj) > len(shown) else ""
        return opening + ", ".join(shown) + more + closing
    if is_type(obj):
        return f"<class '{full_type_name(obj)}'>"
    if is_module(obj):
        name = str_item(items(module_dict(obj)), "__name__")
        return f"<module '{name if type(name) is str else '?'}'>"
    if kind is types.FunctionType:
        return f"<function {_function_qualname(obj)} at {_address(obj)}>"
    if kind is types.BuiltinFunctionType:
        return f"<built-in function {_builtin_name(obj)}>"
    return f"<{full_type_name(kind)} object at {_address(obj)}>"


def safe_repr(obj: object) -> str:
    """A short text for obj made without running its code: a real repr for
    numbers, strings, bytes and the builtin containers of those, the type
    and address for the rest."""
    try:
        text = _repr(obj, 2)
    except Exception:  # noqa: BLE001 - e.g. a container freed meanwhile
        text = f"<object at {_address(obj)}>"
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT - 3] + "..."


def name_text(name: object) -> str:
    """A dict key as an attribute name: itself if a str, else its
    safe_repr (formatting a str subclass would call its __format__)."""
    return name if type(name) is str else safe_repr(name)


# --------------------------------------------------------------------------
# What an object is, for the remedies table
# --------------------------------------------------------------------------

# By the first base found along the type's MRO (identity only).
_VALUE_SHAPES = ((bool, "int"), (int, "int"), (float, "float"),
                 (complex, "complex"), (str, "str"), (bytes, "bytes"),
                 (bytearray, "bytearray"), (memoryview, "memoryview"))


def _loaded_type(module_name: str, name: str):
    """A type the program's modules hold (numpy.ndarray, re.Pattern), read
    from the module's dict if the module is loaded (nothing is imported);
    None otherwise."""
    module = str_item(items(sys.modules), module_name)
    if module is None or not is_module(module):
        return None
    found = str_item(items(module_dict(module)), name)
    return found if found is not None and is_type(found) else None


def shape_of(obj: object, layouts: Layouts | None = None) -> str:
    """What obj is, in the words of the remedies table: int, float,
    complex, str, bytes, bytearray, memoryview, ndarray, pattern, dict,
    list, tuple, set, frozenset, function, module, type, instance (of a
    class statement's type), c_object (of a C type)."""
    kind = type(obj)
    for base, shape in _VALUE_SHAPES:
        if has_base(kind, base):
            return shape
    for module_name, name, shape in (("numpy", "ndarray", "ndarray"),
                                     ("re", "Pattern", "pattern")):
        known = _loaded_type(module_name, name)
        if known is not None and has_base(kind, known):
            return shape
    shape = (layouts or Layouts()).of(kind).shape
    if shape != "instance":
        return shape
    for cls in mro(kind):
        if is_class_statement_type(cls):
            return "instance"
    return "c_object"
