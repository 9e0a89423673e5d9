"""User classes in script: TorchScript's script classes.

A class that scripted code constructs, annotates with or receives is compiled on first use
(``@graphtorch.jit.script`` on the class only marks it): its attributes and their types come from
the assignments to ``self`` in ``__init__`` (``self.a = x`` takes ``x``'s type, ``self.a: T = x``
declares ``T``; an empty list is a ``List[Tensor]``, as TorchScript types it), and each method is
compiled, when first called, into a function whose first input is the object (``self``).

Objects are instances of the Python class itself (runtime/objects.py), so Python and scripted
code share them: an object made in Python is an argument of a scripted function, one made in
script is returned to Python as is, and a change made through any reference is seen through all.

The lowering, at the places that meet a class-typed value (see the ``classes`` calls in
expressions.py, calls.py, statements.py, indexing.py, inplace.py, builtin_calls.py and
with_stmt.py):

- ``Foo(a, b)``: ``prim::CreateObject`` then ``prim::CallFunction`` of ``Foo.__init__``;
- ``obj.a`` / ``obj.a = v``: ``prim::GetField`` / ``prim::SetField`` (only declared attributes;
  a ``@property`` getter is a method call);
- ``obj.m(x)``: ``prim::CallFunction`` of the compiled ``Foo.m`` with ``obj`` first (a class has
  no subclasses in script, so the call is static); ``@staticmethod`` and ``@classmethod`` (its
  ``cls`` is the class, known while compiling) are plain functions; ``@jit.unused`` raises when
  reached, ``@jit.ignore`` runs Python (``prim::PythonOp``);
- operators call the dunders: ``+ - * / // % ** & | ^ << >> @`` (``__add__`` ..., the reflected
  ``__radd__`` ... when only the right operand is an object), ``x op= y`` (``__iadd__`` ...,
  else ``__add__`` and a rebinding), comparisons (``__eq__``, ``__lt__`` ...; ``!=`` is ``not
  __eq__`` when ``__ne__`` is not defined), ``in`` (``__contains__``), ``len`` (``__len__``),
  ``obj[k]`` / ``obj[k] = v`` (``__getitem__`` / ``__setitem__``); ``sorted`` / ``list.sort`` of a
  list of objects compare with the compiled ``__lt__`` (``prim::sort_objects``);
- ``with obj as x:``: ``x = obj.__enter__()``, ``prim::enter_context``, the body, then
  ``prim::exit_context`` and ``obj.__exit__(None, None, None)`` on every way out of the body that
  the exits transform (exits.py) gives: falling off the end, ``return``, ``break``,
  ``continue``. When the body raises, the interpreter runs ``__exit__(None, None, None)`` of every
  context the graph entered and the exception goes on (``__exit__`` cannot suppress it, as in
  TorchScript).
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
import weakref
from dataclasses import dataclass, field

from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.annotations import type_from_python
from graphtorch.frontend.script.class_types import class_type, script_class_of
from graphtorch.frontend.script.interfaces import declared_methods, interface_class
from graphtorch.frontend.script.state import Lowerer
from graphtorch.frontend.script.values import BoundMethod
from graphtorch.ir import types as T
from graphtorch.ir.compilation_unit import bind_function
from graphtorch.ir.graph import Value
from graphtorch.ir.kinds import Prim
from graphtorch.runtime.objects import (
    CREATE_OBJECT,
    ENTER_CONTEXT,
    EXIT_CONTEXT,
    GET_FIELD,
    SET_FIELD,
    SORT_OBJECTS,
    register_method,
)

BINARY_DUNDERS = {"+": "add", "-": "sub", "*": "mul", "/": "truediv", "//": "floordiv",
                  "%": "mod", "**": "pow", "&": "and", "|": "or", "^": "xor", "<<": "lshift",
                  ">>": "rshift", "@": "matmul"}
COMPARE_DUNDERS = {"==": "__eq__", "!=": "__ne__", "<": "__lt__", "<=": "__le__",
                   ">": "__gt__", ">=": "__ge__"}
_HINT = ("a script class declares its attributes by assigning them in __init__ "
         "(self.name = value, or self.name: Type = value)")


@dataclass
class ClassInfo:
    """What compiling a class found: its attributes (in ``__init__``) and compiled methods."""

    cls: type
    type: T.ClassType
    attrs: dict = field(default_factory=dict)      # name -> declared IR type
    methods: dict = field(default_factory=dict)    # name -> ScriptFunction
    init: object = None                            # the compiled __init__ (None: object's)
    declaring: bool = False                        # __init__ is being compiled
    fields: list | None = None                     # a dataclass: what __init__ takes


_INFO: weakref.WeakKeyDictionary[type, ClassInfo] = weakref.WeakKeyDictionary()


def _generated_init(cls: type, init) -> bool:
    """A dataclass's ``__init__`` that ``dataclasses`` generated (it has no source)."""
    return dataclasses.is_dataclass(cls) and vars(cls).get("__init__") is init and \
        getattr(getattr(init, "__code__", None), "co_filename", "") == "<string>"


def _own_init(cls: type):
    for klass in cls.__mro__:
        if klass is object:
            return None
        if "__init__" in vars(klass):
            return vars(klass)["__init__"]
    return None


def _check_class(cls: type, src, pos) -> None:
    """Refuse what script classes do not have: base classes, __slots__, a custom __new__."""
    bases = [b for b in cls.__bases__ if b is not object]
    why = None
    if bases:
        why = (f"it derives from {', '.join(b.__qualname__ for b in bases)} (script classes "
               f"have no base classes)")
    elif "__slots__" in vars(cls):
        why = "it declares __slots__ (script objects keep their attributes in __dict__)"
    elif "__new__" in vars(cls):
        why = "it defines __new__"
    if why is not None:
        raise src.error(f"the class {cls.__qualname__} cannot be scripted: {why}", pos,
                        "script classes derive from object only; use an nn.Module, or leave "
                        "the code that needs the class to a @graphtorch.jit.ignore function")


def _declared_return(fn) -> T.Type:
    """The return annotation of a method left uncompiled (ignore/unused), else Tensor."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001 - an annotation Python cannot evaluate: not declared
        hints = {}
    if "return" not in hints:
        return T.TENSOR
    return type_from_python(hints["return"]) or T.ANY


class ClassLowerer(Lowerer):
    """Objects of script classes (see the module docstring)."""

    # --- the class ----------------------------------------------------------------------------
    def info(self, cls: type, pos) -> ClassInfo:
        """The compiled class: ``__init__`` compiled (which declares the attributes) on first
        use; while it compiles, the attributes declared so far."""
        info = _INFO.get(cls)
        if info is not None:
            return info
        _check_class(cls, self.src, pos)
        info = _INFO[cls] = ClassInfo(cls, class_type(cls))
        init = _own_init(cls)
        if init is not None and _generated_init(cls, init):
            try:
                info.fields = self._dataclass_fields(cls, info, pos)
            except BaseException:
                del _INFO[cls]   # a later use types it again (and says the same)
                raise
            return info
        if init is None:
            return info
        info.declaring = True
        try:
            info.init = self.state.unit.class_function(cls, "__init__", init, info.type)
        except BaseException:
            del _INFO[cls]   # a later use compiles it again (and says the same)
            raise
        finally:
            info.declaring = False
        return info

    # --- dataclasses: the generated __init__ has no source; script writes it --------------------
    def _dataclass_fields(self, cls: type, info: ClassInfo, pos) -> list:
        """[(name, IR type, default or MISSING)] of the fields ``__init__`` takes; each
        dataclass field (those ``__init__`` skips too) is a declared attribute."""
        try:
            hints = typing.get_type_hints(cls)
        except Exception as err:  # noqa: BLE001 - any failure: the annotation is not known
            raise self.src.error(f"the fields of the dataclass {cls.__qualname__} cannot be "
                                 f"typed: {err}", pos, "annotate each field with a script "
                                 "type (int, float, Tensor, List[int] ...)") from None
        out = []
        for f in dataclasses.fields(cls):
            t = type_from_python(hints.get(f.name))
            if t is None:
                raise self.src.error(f"the field {cls.__qualname__}.{f.name} has a type script "
                                     f"does not support ({hints.get(f.name)})", pos,
                                     "script types: Tensor, int, float, bool, str, List, "
                                     "Dict, Tuple, Optional and script classes")
            info.attrs[f.name] = t
            if f.default_factory is not dataclasses.MISSING:
                raise self.src.error(f"the field {cls.__qualname__}.{f.name} has a "
                                     f"default_factory, which script does not run", pos,
                                     "give it a constant default, or pass it in")
            if f.init:
                out.append((f.name, t, f.default))
        return out

    def _dataclass_init(self, info: ClassInfo, obj: Value, args: list, kwargs: dict,
                        pos) -> None:
        """The generated ``__init__``: each field from its argument or default, in order;
        then ``__post_init__`` if the class defines one."""
        name = info.cls.__qualname__
        if len(args) > len(info.fields):
            raise self.src.error(f"{name}() takes {len(info.fields)} argument(s) but "
                                 f"{len(args)} were given", pos)
        given = dict(zip([f[0] for f in info.fields], args))
        for k, v in kwargs.items():
            if k in given or k not in info.attrs:
                raise self.src.error(f"{name}() got an unexpected or repeated argument '{k}'",
                                     pos)
            given[k] = v
        for field_name, t, default in info.fields:
            if field_name in given:
                v = given[field_name]
            elif default is not dataclasses.MISSING:
                v = self.exprs.py_constant(default, pos)
            else:
                raise self.src.error(f"{name}() is missing argument '{field_name}'", pos)
            v = self.exprs.coerce(v, t, pos, f"field '{field_name}'")
            self.graph.emit(SET_FIELD, [obj, v], [], {"name": field_name})
        if inspect.isfunction(self._member(info.cls, "__post_init__")):
            self.dunder(obj, "__post_init__", [], pos)

    def _member(self, cls: type, name: str):
        """What the class defines as ``name`` (a function, staticmethod, classmethod, property),
        or None (inherited from object, or missing)."""
        for klass in cls.__mro__:
            if klass is object:
                return None
            if name in vars(klass):
                return vars(klass)[name]
        return None

    def method(self, cls: type, name: str, pos):
        """The compiled method ``name`` of ``cls`` (a ScriptFunction taking the object first),
        or None when the class does not define one."""
        member = self._member(cls, name)
        if not inspect.isfunction(member):
            return None
        info = self.info(cls, pos)
        sf = info.methods.get(name)
        if sf is None:
            sf = self.state.unit.class_function(cls, name, member, info.type)
            info.methods[name] = sf
        return sf

    # --- construction and attributes -----------------------------------------------------------
    def construct(self, cls: type, e: S.Call) -> Value:
        """``Foo(args)``: a new object, then its ``__init__``."""
        info = self.info(cls, e.pos)
        if info.declaring:
            raise self.src.error(f"{cls.__qualname__}.__init__ constructs a {cls.__qualname__} "
                                 f"(recursive construction is not supported in script)", e.pos)
        args, kwargs = self.calls.args_of(e)
        obj = self.graph.emit(CREATE_OBJECT, [], [info.type]).output
        if info.fields is not None:
            self._dataclass_init(info, obj, args, kwargs, e.pos)
        elif info.init is not None:
            self.calls.call_function(info.init, [obj] + args, kwargs, e.pos)
        elif args or kwargs:
            raise self.src.error(f"{cls.__qualname__}() takes no arguments (it has no "
                                 f"__init__)", e.pos)
        return obj

    def attribute(self, v: Value, name: str, pos):
        """``obj.name``: a declared attribute, a property, or a method (called later)."""
        cls = script_class_of(v.type)
        info = self.info(cls, pos)
        if name in info.attrs:
            return self.graph.emit(GET_FIELD, [v], [info.attrs[name]], {"name": name}).output
        member = self._member(cls, name)
        if isinstance(member, property) and member.fget is not None:
            if getattr(member.fget, "_gt_unused", False):
                return self._unused(cls, name, member.fget)
            sf = self._property_getter(info, name, member.fget, pos)
            return self.calls.call_function(sf, [v], {}, pos)
        if member is not None and (inspect.isfunction(member) or
                                   isinstance(member, (staticmethod, classmethod))):
            return BoundMethod(v, name)
        if member is not None and not callable(member) and \
                isinstance(member, (int, float, bool, str)):
            return self.const(member)   # a class-level constant
        when = " yet (its __init__ assigns it later)" if info.declaring else ""
        raise self.src.error(f"the {cls.__qualname__} object has no attribute or method "
                             f"'{name}'{when}", pos, _HINT)

    def has_attribute(self, v: Value, name: str, pos) -> bool:
        """``hasattr(obj, "name")``, known while compiling: a declared attribute, or a member
        the class defines (method, property, constant)."""
        cls = script_class_of(v.type)
        return name in self.info(cls, pos).attrs or self._member(cls, name) is not None

    def _property_getter(self, info: ClassInfo, name: str, fget, pos):
        key = f"{name}.fget"
        sf = info.methods.get(key)
        if sf is None:
            sf = info.methods[key] = self.state.unit.class_function(info.cls, name, fget,
                                                                    info.type)
        return sf

    def set_attribute(self, v: Value, name: str, value, pos, declared: T.Type | None = None):
        """``obj.name = value``; in ``__init__``, the first assignment to ``self.name``
        declares the attribute (``declared``: its annotation, else the value's type)."""
        cls = script_class_of(v.type)
        info = self.info(cls, pos)
        value = self.exprs.as_value(value, pos)
        member = self._member(cls, name)
        if name not in info.attrs and isinstance(member, property) and member.fset is not None:
            setter = info.methods.get(f"{name}.fset")   # obj.attr = v through a property
            if setter is None:
                setter = info.methods[f"{name}.fset"] = self.state.unit.class_function(
                    cls, name, member.fset, info.type)
            self.calls.call_function(setter, [v, value], {}, pos)
            return
        params = getattr(cls, "__dataclass_params__", None)
        if params is not None and params.frozen and name in info.attrs:
            raise self.src.error(f"cannot assign to field '{name}' of the frozen dataclass "
                                 f"{cls.__qualname__}", pos, "build a new object instead")
        if name not in info.attrs:
            own = info.declaring and self.state.self_class is cls and \
                self.state.fn.name == "__init__" and v is self.graph.inputs[0]
            if not own:
                raise self.src.error(f"the {cls.__qualname__} object has no attribute '{name}'",
                                     pos, _HINT)
            t = declared or value.type
            if isinstance(t, T.ListType) and t.elem == T.ANY:
                t = T.ListType(T.TENSOR)   # an empty list: List[Tensor], as TorchScript types it
            if isinstance(t, T.DictType) and t.key == T.ANY:
                t = T.DictType(T.STR, T.TENSOR)
            info.attrs[name] = t
        t = info.attrs[name]
        if not T.is_subtype(value.type, t) and not (t == T.FLOAT and value.type == T.INT) and \
                not (isinstance(t, T.ListType) and value.type == T.ListType(T.ANY)):
            raise self.src.error(f"wrong type for attribute assignment: {cls.__qualname__}.{name} "
                                 f"is {t}, but the value has type {value.type}", pos,
                                 f"annotate the attribute in __init__ (self.{name}: <Type> = ...) "
                                 f"to declare a wider type")
        value = self.exprs.coerce(value, t, pos, f"attribute '{name}'")
        self.graph.emit(SET_FIELD, [v, value], [], {"name": name})

    # --- calls -----------------------------------------------------------------------------------
    def call_method(self, v: Value, name: str, e: S.Call) -> Value:
        """``obj.name(args)``."""
        cls = script_class_of(v.type)
        member = self._member(cls, name)
        args, kwargs = self.calls.args_of(e)
        if isinstance(member, staticmethod):
            fn = self.state.unit.function(member.__func__, self.src, e.pos)
            return self.calls.call_function(fn, args, kwargs, e.pos)
        if isinstance(member, classmethod):
            return self.call_classmethod(cls, name, args, kwargs, e.pos)
        if not inspect.isfunction(member):
            raise self.src.error(f"the {cls.__qualname__} object has no method '{name}'", e.pos,
                                 _HINT)
        if getattr(member, "_gt_unused", False):
            return self._unused(cls, name, member)
        if getattr(member, "_gt_ignore", False):
            return self.graph.emit(Prim.PythonOp, [v] + args, [_declared_return(member)],
                                   {"fn": member, "name": member.__qualname__}).output
        sf = self.method(cls, name, e.pos)
        return self.calls.call_function(sf, [v] + args, kwargs, e.pos)

    def call_classmethod(self, cls: type, name: str, args: list, kwargs: dict, pos) -> Value:
        member = self._member(cls, name)
        info = self.info(cls, pos)
        key = f"{name}.classmethod"
        sf = info.methods.get(key)
        if sf is None:
            sf = info.methods[key] = self.state.unit.class_function(
                cls, name, member.__func__, info.type, bound_class=True)
        return self.calls.call_function(sf, args, kwargs, pos)

    def _unused(self, cls: type, name: str, fn) -> Value:
        msg = self.const(f"{cls.__qualname__}.{name} was marked @graphtorch.jit.unused and "
                         f"cannot be called from script")
        self.graph.emit(Prim.RaiseException, [msg], [], {"exc": "RuntimeError"})
        return self.graph.emit(Prim.Uninitialized, [], [_declared_return(fn)]).output

    def dunder(self, v: Value, name: str, args: list[Value], pos) -> Value | None:
        """``v.<name>(*args)`` when ``v``'s class defines the dunder ``name``, else None."""
        cls = script_class_of(v.type)
        if cls is None or not inspect.isfunction(self._member(cls, name)):
            return None
        sf = self.method(cls, name, pos)
        return self.calls.call_function(sf, [v] + args, {}, pos)

    def call_dunder(self, v: Value, name: str, args: list, kwargs: dict, pos) -> Value:
        """``v.<name>(args, **kwargs)`` for a dunder the syntax calls (``obj(x)``:
        ``__call__``); refused when the class does not define it."""
        cls = script_class_of(v.type)
        if not inspect.isfunction(self._member(cls, name)):
            raise self.src.error(f"a {cls.__qualname__} object is not callable: its class "
                                 f"defines no {name}", pos, f"define {name} on the class")
        return self.calls.call_function(self.method(cls, name, pos), [v] + args, kwargs, pos)

    def binary(self, op: str, a: Value, b: Value, pos) -> Value | None:
        """``a op b`` with an object operand: its dunder (None when neither has one)."""
        base = BINARY_DUNDERS.get(op)
        if base is None:
            return None
        out = self.dunder(a, f"__{base}__", [b], pos)
        if out is None and script_class_of(a.type) is None:
            out = self.dunder(b, f"__r{base}__", [a], pos)
        return out

    def augmented(self, op: str, a: Value, b: Value, pos) -> Value:
        """``a op= b`` on an object: ``__iadd__`` ..., else ``__add__`` ..."""
        base = BINARY_DUNDERS.get(op)
        out = self.dunder(a, f"__i{base}__", [b], pos) if base else None
        if out is None:
            out = self.binary(op, a, b, pos)
        if out is None:
            cls = script_class_of(a.type)
            raise self.src.error(f"Cannot emit inplace op: {cls.__qualname__} defines neither "
                                 f"__i{base}__ nor __{base}__", pos,
                                 f"define __i{base}__ or __{base}__ on the class")
        return out

    def compare(self, op: str, a: Value, b: Value, pos) -> Value | None:
        """A comparison with an object: ``in`` asks the right operand's ``__contains__``, the
        others the left operand's dunder (``!=`` falls back to ``not __eq__``)."""
        if op in ("in", "not in"):
            out = self.dunder(b, "__contains__", [a], pos)
            if out is not None and op == "not in":
                out = self.scalar("prim::not", [out], T.BOOL)
            return out
        name = COMPARE_DUNDERS.get(op)
        if name is None:
            return None
        out = self.dunder(a, name, [b], pos)
        if out is None and op == "!=":
            eq = self.dunder(a, "__eq__", [b], pos)
            out = None if eq is None else self.scalar("prim::not", [eq], T.BOOL)
        return out

    def sort(self, lst: Value, reverse: Value, pos, copy: bool) -> Value:
        """``sorted(objects)`` (``copy``) / ``objects.sort()`` by the class's ``__lt__``."""
        cls = script_class_of(lst.type.elem)
        lt = self.method(cls, "__lt__", pos)
        if lt is None:
            raise self.src.error(f"sorting a list of {cls.__qualname__} needs "
                                 f"{cls.__qualname__}.__lt__", pos,
                                 "define __lt__(self, other) -> bool on the class")
        if copy:
            lst = self.scalar("prim::list_copy", [lst], lst.type)
        bind_function(self.graph, lt)
        self.graph.emit(SORT_OBJECTS, [lst, reverse], [], {"lt": lt.qualified_name})
        return lst

    # --- interfaces ---------------------------------------------------------------------------
    def as_interface(self, v: Value, iface_type: T.Type, pos) -> Value:
        """``v`` (an object) where the interface ``iface_type`` is expected: the class must
        define each declared method; they are compiled now, and a call through the interface
        (``prim::CallMethod``) runs them (runtime/objects.py)."""
        cls, iface = script_class_of(v.type), interface_class(iface_type)
        missing = [m for m in declared_methods(iface)
                   if not inspect.isfunction(self._member(cls, m))]
        if missing:
            raise self.src.error(f"{cls.__qualname__} does not implement the interface "
                                 f"{iface.__qualname__}: it has no method "
                                 f"{', '.join(missing)}", pos,
                                 f"define {', '.join(missing)} on {cls.__qualname__}")
        for m in declared_methods(iface):
            register_method(cls, m, self.method(cls, m, pos))
        return self.graph.emit(Prim.unchecked_cast, [v], [iface_type]).output

    # --- with -----------------------------------------------------------------------------------
    def enter_context(self, v: Value, target: S.Expr | None, pos) -> Value:
        """``with v as target:`` entry: ``__enter__``, then the object joins the contexts the
        graph unwinds when it raises. Returns ``v`` (its exit is :meth:`exit_context`)."""
        cls = script_class_of(v.type)
        missing = [n for n in ("__enter__", "__exit__")
                   if not inspect.isfunction(self._member(cls, n))]
        if missing:
            raise self.src.error(f"{cls.__qualname__} is not a context manager: it has no "
                                 f"{' and no '.join(missing)}", pos,
                                 "define __enter__(self) and __exit__(self, type: Any, value: "
                                 "Any, tb: Any) on the class")
        entered = self.dunder(v, "__enter__", [], pos)
        exit_fn = self.method(cls, "__exit__", pos)
        if len(exit_fn.graph.inputs) != 4:
            raise self.src.error(f"{cls.__qualname__}.__exit__ must take (self, type, value, "
                                 f"tb)", pos)
        bind_function(self.graph, exit_fn)
        self.graph.emit(ENTER_CONTEXT, [v], [], {"exit": exit_fn.qualified_name})
        if target is not None:
            self.stmts.assign(target, entered, pos)
        return v

    def exit_context(self, v: Value, pos) -> None:
        cls = script_class_of(v.type)
        self.graph.emit(EXIT_CONTEXT, [v], [], {})
        none = self.const(None)
        self.calls.call_function(self.method(cls, "__exit__", pos), [v, none, none, none], {},
                                 pos)
