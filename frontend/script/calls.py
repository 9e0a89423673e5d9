"""Calls: registry ops (by schema), tensor/list/dict methods, Python objects, other script
functions, and comprehensions (the CallResolver collaborator, see state.py).

Builtins and the methods of lists, dicts and str are resolved with BuiltinCalls
(builtin_calls.py), graphtorch.jit's language functions with LanguageCalls (language.py),
submodule calls with ModuleLowerer (modules.py)."""

from __future__ import annotations

import builtins
import inspect
import math
import typing

from graphtorch import autograd, dtypes
from graphtorch import device as _device
from graphtorch.autograd import grad_mode
from graphtorch.errors import ScriptError
from graphtorch.frontend.script import overloads
from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.annotations import type_from_python
from graphtorch.frontend.script.autograd_function import autograd_function_of, emit_function_apply
from graphtorch.frontend.script.autograd_grad import script_grad
from graphtorch.frontend.script.builtin_calls import type_spec
from graphtorch.frontend.script.class_types import is_script_class, script_class_of
from graphtorch.frontend.script.complex_scalars import CMATH
from graphtorch.frontend.script.enums import is_enum_class, members
from graphtorch.frontend.script.expressions import describe, is_tensor
from graphtorch.frontend.script.forks import compile_fork
from graphtorch.frontend.script.functional import bind_to_schema, overload
from graphtorch.frontend.script.interfaces import (
    declared_methods,
    interface_class,
    missing_method_message,
)
from graphtorch.frontend.script.language import LANGUAGE_FUNCTIONS
from graphtorch.frontend.script.named_tuples import named_tuple_fields, named_tuple_type
from graphtorch.frontend.script.norm_calls import string_order_norm
from graphtorch.frontend.script.out_arguments import script_write_out
from graphtorch.frontend.script.packed_sequences import PACKING_FUNCTIONS, packing_result_type
from graphtorch.frontend.script.python_calls import flag_result_type, positional_arguments
from graphtorch.frontend.script.state import Lowerer
from graphtorch.frontend.script.values import BoundMethod, ModuleChoice, ModuleRef, PyObj
from graphtorch.frontend.script_module import ScriptFunction
from graphtorch.ir import types as T
from graphtorch.ir.compilation_unit import bind_function
from graphtorch.ir.graph import Value
from graphtorch.ir.kinds import INPLACE, Prim
from graphtorch.ir.op_check import _UNKNOWN, _meta_arg
from graphtorch.nn.modules.utils import NTUPLE_SIZES
from graphtorch.ops import creation
from graphtorch.ops.dispatch import dispatch
from graphtorch.ops.meta import TensorMeta
from graphtorch.ops.registry import REGISTRY, OpDef, OpKind
from graphtorch.runtime import futures as _futures

_VARARG = {"view", "reshape", "permute", "expand", "repeat", "tile", "flip", "zeros", "ones",
           "empty", "rand", "randn"}
_CASTS = {"float": "float32", "double": "float64", "half": "float16", "long": "int64",
          "int": "int32", "bool": "bool", "short": "int16"}
_MATH = {math.sqrt: "prim::math_sqrt", math.exp: "prim::math_exp", math.log: "prim::math_log",
         math.floor: "prim::math_floor", math.ceil: "prim::math_ceil",
         math.tanh: "prim::math_tanh", math.sin: "prim::math_sin", math.cos: "prim::math_cos"}
_LIST_METHODS = {"append": ("prim::list_append", None), "extend": ("prim::list_extend", None),
                 "insert": ("prim::list_insert", None), "clear": ("prim::list_clear", None),
                 "reverse": ("prim::list_reverse", None), "pop": ("prim::list_pop", "elem"),
                 "index": ("prim::list_index", T.INT), "count": ("prim::list_count", T.INT),
                 "copy": ("prim::list_copy", "self")}

_NEW_FACTORIES = {"new_zeros": "zeros", "new_ones": "ones", "new_empty": "empty",
                  "new_full": "full"}


def _meta_types(op, vals: list[Value], outs: list[T.Type]) -> list[T.Type]:
    """Output types from the op's meta rule when every input's type is known, else ``outs``."""

    if op.meta is None or not any(isinstance(t, T.TensorType) for t in outs):
        return outs
    metas = [_meta_arg(v) for v in vals]
    if any(m is _UNKNOWN for m in metas):
        return outs
    try:
        result = op.meta(*metas)
    except Exception:  # noqa: BLE001 - a rule that cannot judge leaves the plain type
        return outs
    results = result if isinstance(result, (tuple, list)) else (result,)
    if len(results) != len(outs):
        return outs
    return [T.TensorType(m.dtype, m.shape, m.device) if isinstance(m, TensorMeta) and
            isinstance(t, T.TensorType) else t for m, t in zip(results, outs)]


def _empty_dict_call(e: S.Call) -> bool:
    """``dict()`` or ``dict([])``: no keys, whatever the argument's type would be."""
    if e.keywords:
        return False
    return not e.args or (len(e.args) == 1 and isinstance(e.args[0], S.List) and
                          not e.args[0].elts)


class CallResolver(Lowerer):
    def expr_Call(self, e: S.Call, expected):
        if isinstance(e.func, S.Attribute) and isinstance(e.func.value, S.Call) and \
                isinstance(e.func.value.func, S.Name) and e.func.value.func.id == "super":
            return self.modules.super_call(e)
        func = self.exprs.lower(e.func)
        if isinstance(func, BoundMethod) and isinstance(func.receiver, Value) and \
                func.name.endswith("_") and not func.name.startswith("_") and \
                isinstance(func.receiver.type, T.TensorType):
            return self.inplace.inplace_method(func, e)
        if isinstance(func, PyObj) and func.obj is builtins.dict and _empty_dict_call(e):
            # dict() / dict([]): an empty dict of the annotated type (Dict[str, Tensor] if none)
            t = expected if isinstance(expected, T.DictType) else T.DictType(T.STR, T.TENSOR)
            return self.graph.emit(Prim.DictConstruct, [], [t]).output
        if isinstance(func, PyObj):
            return self.call_python(func.obj, e)
        if isinstance(func, ModuleRef):
            return self.modules.call_module(func, "forward", e)
        if isinstance(func, ModuleChoice):
            return self.modules.call_module_choice(func, "forward", e)
        if isinstance(func, BoundMethod):
            if isinstance(func.receiver, ModuleRef):
                return self.modules.call_module(func.receiver, func.name, e)
            if isinstance(func.receiver, ModuleChoice):
                return self.modules.call_module_choice(func.receiver, func.name, e)
            if isinstance(func.receiver, Value) and script_class_of(func.receiver.type):
                return self.classes.call_method(func.receiver, func.name, e)
            cls = interface_class(func.receiver.type) \
                if isinstance(func.receiver, Value) else None
            if cls is not None:
                return self._interface_call(cls, func.receiver, func.name, e)
            return self._call_method(func.receiver, func.name, e)
        if isinstance(func, Value) and script_class_of(func.type) is not None:   # obj(x)
            args, kwargs = self.args_of(e)
            return self.classes.call_dunder(func, "__call__", args, kwargs, e.pos)
        if isinstance(func, Value) and interface_class(func.type) is not None:
            return self._interface_call(interface_class(func.type), func, "forward", e)
        if isinstance(func, list):
            raise self.src.error("a slice of a module container is not callable in script "
                                 "(as in TorchScript)", e.pos,
                                 "call its modules in a loop: 'for m in self.layers[1:3]: "
                                 "x = m(x)'")
        what = func.type if isinstance(func, Value) else type(func).__name__
        raise self.src.error(f"a value of type {what} is not callable", e.pos)

    def _interface_call(self, cls, v: Value, name: str, e: S.Call) -> Value:
        """``v.<name>(...)`` on a value typed by an interface: prim::CallMethod with the declared
        signature, dispatched at run time; the result is checked against the declared type."""
        if name not in declared_methods(cls):
            msg, hint = missing_method_message(cls, name)
            raise self.src.error(msg, e.pos, hint)
        params, ret = self.state.unit.interface_signature(cls, name, self.src, e.pos)
        args, kwargs = self.args_of(e)
        if len(args) > len(params):
            raise self.src.error(f"{cls.__qualname__}.{name}() takes {len(params)} argument(s) "
                                 f"but {len(args)} were given", e.pos)
        given = dict(zip([p for p, _ in params], args))
        for k, a in kwargs.items():
            if k not in dict(params) or k in given:
                raise self.src.error(f"{cls.__qualname__}.{name}() got an unexpected or "
                                     f"repeated argument '{k}'", e.pos)
            given[k] = a
        vals = []
        for p, t in params:
            if p not in given:
                raise self.src.error(f"{cls.__qualname__}.{name}() is missing argument '{p}'",
                                     e.pos)
            vals.append(self.exprs.coerce(given[p], t, e.pos, f"argument '{p}'"))
        out = self.graph.emit(Prim.CallMethod, [v] + vals, [ret], {"name": name}).output
        if ret == T.ANY:
            return out
        return self.scalar("prim::checked_cast", [out, self.const(type_spec(ret))], ret)

    def args_of(self, e: S.Call) -> tuple[list[Value], dict[str, Value]]:
        return ([self.exprs.lower_value(a) for a in e.args],
                {k.name: self.exprs.lower_value(k.value) for k in e.keywords})

    # --- registry ops -----------------------------------------------------------------------------
    def call_op(self, name: str, args: list[Value], kwargs: dict[str, Value], pos,
                inplace: bool = False) -> Value:
        """An ``op::<name>`` node; ``inplace``: ``prim::Inplace[op=name]`` instead, whose result
        is written into the first argument (the output is that tensor, with its type)."""
        op = REGISTRY.get(name)
        if op is None:
            raise self.src.error(f"unknown operator '{name}'", pos)
        schema = op.schema
        if "out" in kwargs and not inplace and not any(a.name == "out" for a in schema.args):
            return self._out_call(op, args, kwargs, pos)
        n_pos = sum(1 for a in schema.args if not a.kw_only)
        if len(args) > n_pos:
            raise self.src.error(f"{name}() takes {n_pos} positional argument(s) but "
                                 f"{len(args)} were given\n  schema: {schema}", pos)
        vals: list[Value | None] = list(args) + [None] * (len(schema.args) - len(args))
        for k, v in kwargs.items():
            if k == "input" and schema.args and schema.args[0].name == "self" and \
                    not any(a.name == "input" for a in schema.args):
                k = "self"      # TorchScript accepts `input=` for a schema's self: ceil(input=x)
            if k == "out" and not any(a.name == "out" for a in schema.args):
                raise self.src.error(f"{name}(): out= arguments are not supported in script",
                                     pos, "assign the result instead (t = op(...)), or copy it "
                                     "into the tensor with t.copy_(result) when the shapes "
                                     "match")
            try:
                i = schema.arg_index(k)
            except KeyError:
                raise self.src.error(f"{name}() got an unexpected keyword argument '{k}'\n"
                                     f"  schema: {schema}", pos,
                                     "use the argument names of the schema") from None
            if vals[i] is not None:
                raise self.src.error(f"{name}() got multiple values for argument '{k}'", pos)
            vals[i] = v
        given = max((i for i, v in enumerate(vals) if v is not None), default=-1)
        defaulted = []
        for i, a in enumerate(schema.args):
            if vals[i] is None:
                if not a.has_default:
                    raise self.src.error(f"{name}() missing required argument '{a.name}'\n"
                                         f"  schema: {schema}", pos)
                d = a.default
                vals[i] = self.const(d, T.schema_type(a.type) if d is None else None)
                if i > given:
                    defaulted.append(vals[i])
            else:
                vals[i] = self._check_arg(name, a, vals[i], pos)
        outs = [T.schema_type(r.split()[0]) for r in schema.returns]
        outs = _meta_types(op, vals, outs)
        kind, attrs = f"op::{name}", None
        if inplace:
            kind, attrs, outs = INPLACE, {"op": name}, [vals[0].type]
        # NOTE: trailing arguments left at their defaults are omitted, as the IR allows
        node = self.graph.emit(kind, vals[:given + 1], outs, attrs)
        for v in defaulted:
            if not v.uses and v.node is not None and v.node.kind == Prim.Constant.value:
                v.node.destroy()
        if len(outs) == 1:
            return node.output
        out = self.graph.emit(Prim.TupleConstruct, list(node.outputs),
                              [T.TupleType(tuple(outs))]).output
        fields = [r.split()[1] if len(r.split()) > 1 else None for r in schema.returns]
        if all(fields):
            self.state.tuple_fields[out] = fields     # named tuple: x.max(1).values
        return out

    def _out_call(self, op, args: list[Value], kwargs: dict[str, Value], pos) -> Value:
        """``op(..., out=t)``: the op out of place, then eager's out= write into ``t``
        (out_arguments.py); ``t`` is the result."""
        kwargs = dict(kwargs)
        out = kwargs.pop("out")
        if len(op.schema.returns) != 1 or op.kind in (OpKind.VIEW, OpKind.RANDOM) or \
                not T.is_subtype(T.schema_type(op.schema.returns[0].split()[0]), T.TENSOR):
            raise self.src.error(f"{op.name}(): out= arguments are not supported in script for "
                                 f"an op that is a view, draws random numbers or does not "
                                 f"return one tensor", pos,
                                 "assign the result instead (t = op(...)), or copy it into the "
                                 "tensor with t.copy_(result) when the shapes match")
        if not is_tensor(out.type):
            raise self.src.error(f"{op.name}(): argument 'out' must be a Tensor, not "
                                 f"{out.type}", pos)
        result = self.call_op(op.name, args, kwargs, pos)
        inputs = [v for v in [*args, *kwargs.values()] if is_tensor(v.type)]
        return self.graph.emit(Prim.PythonOp, [self.const(op.name), result, out, *inputs],
                               [out.type], {"fn": script_write_out,
                                            "name": "write_out"}).output

    def _check_arg(self, opname: str, a, v: Value, pos) -> Value:
        want = T.schema_type(a.type)
        t = v.type
        if a.type in ("Tensor", "Tensor?") and isinstance(t, (T.IntType, T.FloatType,
                                                              T.BoolType, T.NumberType,
                                                              T.ComplexType)):
            return v   # a Python scalar where a tensor goes: promoted like eager
        if a.type.startswith("int[]") and t == T.INT:
            return v   # NOTE: as eager dispatch: the kernel expands an int to every dim
        if a.type.startswith("int[]") and isinstance(t, T.ListType) and \
                t.elem == T.optional(T.INT):
            return v   # adaptive pools: None keeps that dim
        if a.type.startswith("Device") and t == T.STR:
            return v
        if a.type.startswith("int[]") and isinstance(t, T.TupleType) and \
                all(x == T.INT for x in t.elems):
            return v
        if a.type == "Any" or T.is_subtype(t, want) or T.unify(t, want) == want:
            return v
        if a.type.startswith("Tensor[]") and isinstance(t, T.TupleType) and \
                all(isinstance(x, T.TensorType) for x in t.elems):
            # torch.cat((a, b)): a tuple of tensors is passed as the list the schema takes
            items = self.graph.emit(Prim.TupleUnpack, [v], list(t.elems)).outputs
            return self.graph.emit(Prim.ListConstruct, list(items),
                                   [T.ListType(T.TENSOR)]).output
        if want == T.FLOAT and t == T.INT or isinstance(t, T.AnyType):
            return v
        if isinstance(t, T.ListType) and t.elem == T.ANY:
            return v
        hint = f"pass a value of the schema's type: {REGISTRY[opname].schema}" \
            if opname in REGISTRY else None
        if isinstance(t, T.OptionalType):
            hint = "it may be None here: test it first ('if value is not None:') to refine it"
        raise self.src.error(f"{opname}(): argument '{a.name}' must be {a.type}, not {t}", pos,
                             hint)

    # --- python objects ---------------------------------------------------------------------------
    def _named_tuple_construct(self, cls, e: S.Call) -> Value:
        """``P(x, b=2.0)`` of a ``typing.NamedTuple`` class: the tuple of its fields (each
        coerced to its annotation; defaults filled in), its fields known by name."""
        own = next(k for k in cls.__mro__ if "_fields" in vars(k))
        if cls.__new__ is not own.__new__:
            raise self.src.error(f"{cls.__name__}() runs its own __new__, which script does not "
                                 f"compile", e.pos, f"build the {cls.__name__} outside the "
                                 f"scripted code (or with the function that makes it)")
        fields = named_tuple_fields(cls)
        nt = named_tuple_type(cls, type_from_python)
        if nt is None:
            hints = typing.get_type_hints(cls)
            bad = next(f for f in fields if type_from_python(hints[f]) is None)
            raise self.src.error(f"{cls.__name__}.{bad}: unsupported field type "
                                 f"{hints[bad]!r}", e.pos)
        args, kwargs = self.args_of(e)
        if len(args) > len(fields):
            raise self.src.error(f"{cls.__name__}() takes {len(fields)} fields, got "
                                 f"{len(args)} positional arguments", e.pos)
        given = dict(zip(fields, args))
        for k, v in kwargs.items():
            if k not in fields or k in given:
                raise self.src.error(f"{cls.__name__}() got an unexpected or repeated field "
                                     f"'{k}'", e.pos)
            given[k] = v
        items = []
        for f, t in zip(fields, nt.elems):
            if f in given:
                v = given[f]
            elif f in cls._field_defaults:
                v = self.exprs.py_constant(cls._field_defaults[f], e.pos)
            else:
                raise self.src.error(f"{cls.__name__}() is missing field '{f}'", e.pos)
            items.append(self.exprs.coerce(v, t, e.pos, f"field '{f}' of {cls.__name__}"))
        return self.graph.emit(Prim.TupleConstruct, items, [nt]).output

    def call_python(self, obj, e: S.Call):
        if any(obj is f for f in LANGUAGE_FUNCTIONS):
            return self.language.language_call(obj, e)
        if (function := autograd_function_of(obj)) is not None:   # MyFn.apply: one node
            return emit_function_apply(self, function, e)
        if obj is _futures.fork or obj is _futures.wait:
            return compile_fork(self, obj, e)
        if getattr(obj, "_gt_ignore", False):
            return self.python_op(obj, e)
        if getattr(obj, "_gt_unused", False):
            msg = self.const(f"{getattr(obj, '__qualname__', obj)} was marked "
                             f"@graphtorch.jit.unused and cannot be called from script")
            self.graph.emit(Prim.RaiseException, [msg], [], {"exc": "RuntimeError"})
            return self.graph.emit(Prim.Uninitialized, [], [T.TENSOR]).output
        if obj is autograd.grad:   # the eager engine on the graph's tensors (autograd_grad.py)
            return self.python_op(script_grad, e, T.ListType(T.optional(T.TENSOR)))
        if obj is grad_mode.is_grad_enabled:   # read at run time (with no_grad() sets it)
            return self.scalar("prim::is_grad_enabled", [], T.BOOL)
        if getattr(obj, "__name__", "") == "is_scripting" and "jit" in getattr(obj, "__module__",
                                                                               ""):
            return self.const(True)

        if obj is _device:
            args, kwargs = self.args_of(e)
            if not all(a.is_constant for a in [*args, *kwargs.values()]):
                raise self.src.error("graphtorch.device() needs constant arguments in script",
                                     e.pos)
            vals = [self.graph.constant_value(a) for a in args]
            kw = {k: self.graph.constant_value(v) for k, v in kwargs.items()}
            if set(kw) <= {"type", "index"} and "type" in kw and not vals:
                # device(type='cuda', index=0) is device('cuda:0')
                vals = [kw.pop("type") + ("" if kw.get("index") is None else f":{kw['index']}")]
                kw.pop("index", None)
            try:
                return self.const(_device(*vals, **kw))
            except Exception as err:  # noqa: BLE001 - any bad spec is the user's error here
                raise self.src.error(f"graphtorch.device(): {err}", e.pos,
                                     "write graphtorch.device('cpu') or device('cuda:0')") \
                    from None
        if obj in _MATH:
            args, _ = self.args_of(e)
            out = T.INT if obj in (math.floor, math.ceil) else T.FLOAT
            return self.scalar(_MATH[obj], args, out)
        if obj in CMATH:
            args, _ = self.args_of(e)
            kind, out = CMATH[obj]
            return self.scalar(kind, args, out)
        if obj in NTUPLE_SIZES:   # _single/_pair ...: n copies of a number; a sequence: itself
            args, _ = self.args_of(e)
            if len(args) != 1:
                raise self.src.error(f"{obj.__name__}() takes one argument", e.pos)
            if isinstance(args[0].type, (T.ListType, T.TupleType)):
                return args[0]
            n = NTUPLE_SIZES[obj]
            return self.graph.emit(Prim.TupleConstruct, [args[0]] * n,
                                   [T.TupleType((args[0].type,) * n)]).output
        if getattr(builtins, getattr(obj, "__name__", ""), None) is obj:
            return self.builtin_calls.call(obj.__name__, e)

        if obj is creation.tensor or obj is creation.as_tensor:
            return self.literals.tensor_factory(obj, e)
        if isinstance(obj, ScriptFunction):
            args, kwargs = self.args_of(e)
            return self.call_function(obj, args, kwargs, e.pos)

        if isinstance(obj, OpDef):
            args, kwargs = self.args_of(e)
            return self.call_op(obj.name, args, kwargs, e.pos)
        op = getattr(obj, "op", None)
        mod = getattr(obj, "__module__", "") or ""
        name = getattr(obj, "__name__", "")
        if op is not None and getattr(op, "name", None) in REGISTRY:
            name, mod = op.name, "graphtorch"
        if (mod == "graphtorch.nn" or mod.startswith("graphtorch.nn.")) and name in REGISTRY \
                and inspect.isfunction(obj):
            args, kwargs = self.args_of(e)
            if f"{name}_with_indices" in REGISTRY and self._returns_indices(obj, args, kwargs):
                # F.max_pool2d(..., return_indices=True): the op that also gives the indices
                kwargs = {k: v for k, v in inspect.signature(obj).bind(*args, **kwargs)
                          .arguments.items() if k != "return_indices"}
                args, name = [], f"{name}_with_indices"
            try:
                kw = bind_to_schema(obj, REGISTRY[name], args, kwargs, self._constant_of)
            except ValueError as err:
                raise self.src.error(str(err), e.pos) from None
            return self.call_op(name, [], kw, e.pos)
        if mod.startswith("graphtorch") and name in REGISTRY and "nn" not in mod.split("."):
            args, kwargs = self.args_of(e)
            if name in _VARARG and args and args[0].type == T.INT:
                args = [self.graph.emit(Prim.ListConstruct, args,
                                        [T.ListType(T.INT)]).output]
            if name == "norm" and (out := string_order_norm(self, args, kwargs, e.pos)):
                return out   # p='fro' / 'nuc'
            return self.call_op(overload(name, args, kwargs), args, kwargs, e.pos)

        if obj is dispatch:
            return self.library.dispatch_call(e)
        if isinstance(obj, type) and issubclass(obj, tuple) and hasattr(obj, "_fields") and \
                e.args and isinstance(e.args[0], S.Starred):
            return self.library.named_tuple_call(obj, e)
        if named_tuple_fields(obj) is not None:   # P(x, b=2.0) of a typing.NamedTuple class
            return self._named_tuple_construct(obj, e)
        if inspect.isfunction(obj) and obj in PACKING_FUNCTIONS:   # nn.utils.rnn's packing
            return self.python_op(obj, e, packing_result_type(obj))
        if is_script_class(obj):    # Foo(x): a new object of a user class (classes.py)
            return self.classes.construct(obj, e)
        if inspect.ismethod(obj) and is_script_class(obj.__self__):   # Foo.a_classmethod(x)
            args, kwargs = self.args_of(e)
            return self.classes.call_classmethod(obj.__self__, obj.__name__, args, kwargs,
                                                 e.pos)
        if callable(obj) and hasattr(obj, "__code__"):
            if overloads.is_unimplemented_declaration(obj):
                raise overloads.missing_implementation(obj, self.src, e.pos)
            if not mod.startswith("graphtorch") and (owned := overloads.declarations(obj)):
                return self.call_function(*overloads.specialization(self, obj, owned, e), e.pos)
            if not mod.startswith("graphtorch"):
                fn = self.state.unit.function(obj, self.src, e.pos)
                if fn is None:    # jit.compile: the function stays Python
                    return self.python_op(obj, e)
                args, kwargs = self.args_of(e)
                return self.call_function(fn, args, kwargs, e.pos)
            args, kwargs = self.args_of(e)
            fn = self._library_function(obj, e, self.library.library_param_types(obj, args, kwargs))
            if fn is None:
                return self.python_op(obj, self.library.compiled_call(e, args, kwargs))
            return self.call_function(fn, args, kwargs, e.pos)
        if is_enum_class(obj):
            raise self.src.error(f"calling the Enum class {obj.__qualname__} (a lookup by value) "
                                 f"is not supported in script", e.pos,
                                 f"name the member: {obj.__qualname__}.{members(obj)[0].name}, or "
                                 f"compare .value in a loop over {obj.__qualname__}")
        raise self.src.error(f"cannot call {describe(obj)} from script", e.pos,
                             "script calls graphtorch ops, Python functions with source, and "
                             "@graphtorch.jit.ignore functions")

    def _returns_indices(self, fn, args: list[Value], kwargs: dict[str, Value]) -> bool:
        """The call passes a constant ``return_indices=True`` (a non-constant is left to
        bind_to_schema, which refuses it)."""
        try:
            value = inspect.signature(fn).bind(*args, **kwargs).arguments.get("return_indices")
        except TypeError:
            return False
        if value is None:
            return False
        ok, const = self._constant_of(value)
        return ok and const is True

    def _library_function(self, obj, e: S.Call, param_types: dict | None = None):
        """Script a graphtorch Python function on demand (specialized to ``param_types``); when
        its code is outside the subset, the error points at the user's call, not into
        graphtorch's own source."""

        try:
            return self.state.unit.function(obj, self.src, e.pos, param_types)
        except ScriptError as err:
            where = f" ({err.filename}:{err.line})" if err.line is not None else ""
            qual = f"{obj.__module__}.{obj.__qualname__}"
            raise self.src.error(f"{qual} cannot be compiled in script: {err.msg}{where}",
                                 e.pos, "call it outside the scripted code and pass the result "
                                 "in, or from a @graphtorch.jit.ignore function") from None

    def _constant_of(self, v: Value) -> tuple[bool, object]:
        if v.is_constant:
            return True, self.graph.constant_value(v)
        return False, None

    def python_op(self, obj, e: S.Call, ret: T.Type | None = None) -> Value:
        """A call left to Python (prim::PythonOp), typed by its return annotation."""
        args, kwargs = self.args_of(e)
        if kwargs:
            args = positional_arguments(obj, args, kwargs, self.exprs.py_constant, self.src,
                                        e.pos)
        if ret is None:
            ret = flag_result_type(obj, args, self._constant_of, self.src, e.pos)
        if ret is None:
            ret = T.TENSOR
            ann = getattr(obj, "__annotations__", {}).get("return")
            if ann is not None:
                ret = type_from_python(ann) or T.TENSOR
        name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
        return self.graph.emit(Prim.PythonOp, args, [ret], {"fn": obj, "name": name}).output

    def call_function(self, fn, args: list[Value], kwargs: dict, pos) -> Value:
        params = [v for v in fn.graph.block.inputs]
        names = [v.name for v in params]
        vals = list(args) + [None] * (len(params) - len(args))
        for k, v in kwargs.items():
            if k not in names:
                raise self.src.error(f"{fn.name}() got an unexpected keyword argument '{k}'", pos)
            vals[names.index(k)] = v
        defaults = dict(fn.arg_defaults)
        for i, p in enumerate(params):
            if vals[i] is None:
                if p.name not in defaults:
                    raise self.src.error(f"{fn.name}() missing required argument '{p.name}'",
                                         pos)
                vals[i] = self.exprs.py_constant(defaults[p.name], pos)
            vals[i] = self.exprs.coerce(self._tuple_as_list(vals[i], p.type), p.type, pos,
                                        f"argument '{p.name}'")
        outs = [v.type for v in fn.graph.outputs]
        bind_function(self.graph, fn)   # the call resolves within this compilation unit
        return self.graph.emit(Prim.CallFunction, vals, outs, {"name": fn.qualified_name}).output

    def _tuple_as_list(self, v: Value, t: T.Type) -> Value:
        """A tuple argument for a ``List[E]`` (or ``Optional[List[E]]``) parameter: a list of
        its items when each is an E, as TorchScript converts it at a call; else ``v``."""
        lst = t.elem if isinstance(t, T.OptionalType) else t
        if not (isinstance(lst, T.ListType) and isinstance(v.type, T.TupleType) and
                v.type.elems and all(T.is_subtype(x, lst.elem) for x in v.type.elems)):
            return v
        items = [self.graph.emit(Prim.TupleIndex, [v, self.const(i)], [et]).output
                 for i, et in enumerate(v.type.elems)]
        return self.graph.emit(Prim.ListConstruct, items, [lst]).output

    # --- methods ----------------------------------------------------------------------------------
    def _call_method(self, v: Value, name: str, e: S.Call):
        args, kwargs = self.args_of(e)
        t = v.type
        if isinstance(t, T.TensorType):
            return self.tensor_method(v, name, args, kwargs, e.pos)
        if isinstance(t, T.ListType):
            out = self.builtin_calls.list_method(v, name, args, kwargs, e)
            if out is not None:
                return out
        if isinstance(t, T.DictType):
            out = self.builtin_calls.dict_method(v, name, args, e)
            if out is not None:
                return out
        if t == T.STR and name != "format":
            out = self.builtin_calls.str_method(v, name, args, e)
            if out is not None:
                return out
        if isinstance(t, T.ListType) and name in _LIST_METHODS:
            kind, out = _LIST_METHODS[name]
            if name == "append" and t.elem == T.ANY:
                v.type = T.ListType(args[0].type)   # an empty literal learns its element type
            out_t = {"elem": v.type.elem, "self": v.type}.get(out, out) \
                if isinstance(out, str) else out
            r = self.scalar(kind, [v] + args, out_t)
            return r if r is not None else self.const(None)
        if isinstance(t, T.DictType):
            table = {"keys": ("prim::dict_keys", T.ListType(t.key)),
                     "values": ("prim::dict_values", T.ListType(t.value)),
                     "items": ("prim::dict_items", T.ListType(T.TupleType((t.key, t.value)))),
                     "get": ("prim::dict_get_default", T.optional(t.value)),
                     "pop": ("prim::dict_pop", t.value), "update": ("prim::dict_update", None)}
            if name in table:
                kind, out = table[name]
                if name == "get" and len(args) == 1:
                    args = args + [self.const(None)]
                elif name == "get":
                    out = t.value
                r = self.scalar(kind, [v] + args, out)
                return r if r is not None else self.const(None)
        if t == T.STR and name == "format":
            return self.scalar("prim::format", [v] + args, T.STR)
        hint = "strings support + , *, ==, in, indexing, f-strings, % and str.format() and " \
            "the common str methods (split, join, strip, startswith ...) in script" \
            if t == T.STR else "it may be None here: test it first ('if value is not None:')" \
            if isinstance(t, T.OptionalType) else "lists, dicts and str have Python's methods " \
            "(see docs/jit_script.md)"
        raise self.src.error(f"'{t}' object has no method '{name}' in script", e.pos, hint)

    def tensor_method(self, v: Value, name: str, args, kwargs, pos) -> Value:
        simple = {"dim": ("prim::dim", T.INT), "numel": ("prim::numel", T.INT),
                  "item": ("prim::item", T.NUMBER), "tolist": ("prim::tolist", T.ANY),
                  "is_floating_point": ("prim::is_floating_point", T.BOOL),
                  "is_complex": ("prim::is_complex", T.BOOL),
                  "element_size": ("prim::element_size", T.INT)}
        if name in simple:
            kind, t = simple[name]
            return self.scalar(kind, [v], t)
        if name == "detach" and not args and not kwargs:   # same storage, no gradient
            return self.scalar("prim::detach", [v], v.type)
        if name == "size":
            if args:
                return self.graph.emit("prim::size", [v, args[0]], [T.INT]).output
            return self.graph.emit("prim::size", [v], [T.ListType(T.INT)]).output
        if name in _CASTS:
            dt = getattr(dtypes, _CASTS[name]) if name != "bool" else dtypes.bool_
            return self.call_op("to_dtype", [v, self.const(dt)], {}, pos)
        if name == "to":
            fmt = kwargs.pop("memory_format", None)   # data stay row-major (graphtorch.layout)
            if fmt is not None and not args and not kwargs:
                return self.call_op("contiguous", [v], {"memory_format": fmt}, pos)
            a = args[0] if args else kwargs.get("dtype") or kwargs.get("device")
            if a is not None and a.type == T.DTYPE:
                return self.call_op("to_dtype", [v, a], {}, pos)
            if a is not None:
                return self.call_op("to_device", [v, a], {}, pos)
        if name in _NEW_FACTORIES:
            # NOTE: x.new_zeros(size) takes x's dtype and device, as eager
            if name != "new_full" and args and args[0].type == T.INT:
                args = [self.graph.emit(Prim.ListConstruct, args, [T.ListType(T.INT)]).output]
            kw = {"dtype": self.scalar("prim::dtype", [v], T.DTYPE),
                  "device": self.scalar("prim::device", [v], T.DEVICE)}
            kw.update(kwargs)
            return self.call_op(_NEW_FACTORIES[name], args, kw, pos)
        if name == "expand_as":
            size = self.scalar("prim::size", [args[0]], T.ListType(T.INT))
            return self.call_op("expand", [v, size], {}, pos)
        if name == "type_as":
            dt = self.scalar("prim::dtype", [args[0]], T.DTYPE)
            return self.call_op("to_dtype", [v, dt], {}, pos)
        if name in _VARARG and args and args[0].type == T.INT:
            args = [self.graph.emit(Prim.ListConstruct, args, [T.ListType(T.INT)]).output]
        if name == "t":
            return self._tensor_t(v, pos)
        if name in ("cpu", "cuda") and not args:
            return self.call_op("to_device", [v, self.const(_device(name))], {}, pos)
        if name == "where" and args:   # x.where(cond, y) is where(cond, x, y)
            return self.call_op(overload("where", [args[0], v] + list(args[1:]), kwargs),
                                [args[0], v] + list(args[1:]), kwargs, pos)
        if name == "norm" and (out := string_order_norm(self, [v, *args], kwargs, pos)):
            return out   # x.norm(p='fro' / 'nuc')
        method = name
        name = overload(name, [v] + list(args), kwargs)
        op = REGISTRY.get(name)
        if op is None or not op.schema.args or op.schema.args[0].type != "Tensor":
            out = self.library.method_as_function(v, method, args, kwargs, pos)
            if out is None:
                raise self.src.error(f"Tensor has no method '{method}' in script", pos,
                                     "graphtorch has no op of that name; call it from a "
                                     "@graphtorch.jit.ignore function")
            return out
        return self.call_op(name, [v] + list(args), kwargs, pos)

    def _tensor_t(self, v: Value, pos) -> Value:
        """``x.t()`` as PyTorch: transpose(0, 1) for 2-D, a no-op below, an error above (checked
        at run time when the rank is unknown)."""
        rank = len(v.type.shape) if v.type.shape is not None else None

        def transposed():
            return self.call_op("transpose", [v, self.const(0), self.const(1)], {}, pos)

        if rank is not None and rank <= 2:
            return v if rank < 2 else transposed()
        dim = self.scalar("prim::dim", [v], T.INT)
        node = self.graph.emit(Prim.If, [self.scalar("prim::gt", [dim, self.const(2)], T.BOOL)],
                               [])
        with self.graph.insert_point(node.add_block()):
            msg = self.scalar("prim::format", [self.const(
                "t() expects a tensor with <= 2 dimensions, but self is {}D"), dim], T.STR)
            self.graph.emit(Prim.RaiseException, [msg], [], {"exc": "RuntimeError"})
        node.add_block()
        return self.loops.if_value(self.scalar("prim::lt", [dim, self.const(2)], T.BOOL), lambda: v,
                                   transposed, pos)

    # --- comprehensions ---------------------------------------------------------------------------
    def comprehension(self, e, make, kind: str) -> Value:
        if kind == "list":
            acc = self.graph.emit(Prim.ListConstruct, [], [T.ListType(T.ANY)]).output
        else:
            acc = self.graph.emit(Prim.DictConstruct, [], [T.DictType(T.ANY, T.ANY)]).output
        name = f"$comp{id(e)}"
        saved = dict(self.env)
        self.env[name] = acc
        body: list[S.Stmt] = [_Thunk(self, acc, make, kind)]
        for gen in reversed(e.generators):   # the first 'for' clause is the outermost loop
            for cond in reversed(gen.ifs):
                body = [S.If(cond.pos, cond, body, [])]
            body = [S.For(e.pos, gen.target, gen.iter, body)]
        self.stmts.lower(body[0])
        # NOTE: comprehension targets do not leak (Python 3 scoping): the enclosing names keep
        # their values; the accumulator is mutated in place, never rebound
        self.env = saved
        return acc

    def stmt__Thunk(self, s: _Thunk) -> None:
        """Append the element(s) of a comprehension to its accumulator."""
        vals = s.make()
        if s.kind == "list":
            if s.acc.type == T.ListType(T.ANY):
                s.acc.type = T.ListType(vals[0].type)
            self.scalar("prim::list_append", [s.acc, vals[0]], None)
        else:
            if s.acc.type == T.DictType(T.ANY, T.ANY):
                s.acc.type = T.DictType(vals[0].type, vals[1].type)
            self.scalar("prim::dict_set", [s.acc] + vals, None)


class _Thunk(S.Stmt):
    """A synthetic statement: append the element(s) of a comprehension to its accumulator."""

    def __init__(self, compiler, acc: Value, make, kind: str):
        super().__init__(None)
        self.compiler, self.acc, self.make, self.kind = compiler, acc, make, kind
