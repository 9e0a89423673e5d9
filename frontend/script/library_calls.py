"""Calls into graphtorch's Python-level API (mixed into FunctionCompiler).

- Tensor methods that are Python functions rather than one registry op (``x.det()``,
  ``x.inverse()``, ``x.unique()``, ``x.median()`` ... installed from ``python_signatures.py`` and
  ``composites.py``) compile exactly as their function form ``graphtorch.det(x)`` does: scripted
  on demand, or a Python call where the function is marked ``@jit.ignore``.
- ``dispatch(R["op"], (args...), kwargs)``, the line those functions are written with, is a call
  of the registry op (the tuple and the keyword dict must be literals).
- graphtorch's own Python functions rarely annotate their parameters (``clip(input, min=None,
  max=None)``), so each call compiles them specialized to its argument types: an unannotated
  parameter gets the type of the value passed (``NoneType`` for an omitted ``None`` default, so
  ``if dim is None:`` is decided while compiling); tensors stay plain ``Tensor``.
"""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass

from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.state import Lowerer
from graphtorch.frontend.script.values import PyObj
from graphtorch.ir import types as T
from graphtorch.ir.graph import Value
from graphtorch.ops.registry import OpDef
from graphtorch.tensor import Tensor


@dataclass
class _Compiled(S.Expr):
    """Synthetic: an argument compiled already (the receiver of a method call, its arguments)."""

    value: Value


class LibraryCallLowerer(Lowerer):
    def expr__Compiled(self, e: _Compiled, expected):
        return e.value

    def expr_Starred(self, e: S.Starred, expected):
        raise self.src.error("calls with *args are not supported in script", e.pos,
                             "pass each argument explicitly")

    def named_tuple_call(self, cls, e: S.Call) -> Value:
        """``Cls(*values)`` of a named-tuple class (``return_types.median(*pair)``): the tuple
        itself, its fields known by name."""
        if len(e.args) != 1 or e.keywords or not isinstance(e.args[0], S.Starred):
            raise self.src.error(f"{cls.__name__}() takes one starred tuple in script "
                                 f"({cls.__name__}(*values))", e.pos)
        v = self.exprs.lower_value(e.args[0].value)
        if not isinstance(v.type, T.TupleType) or len(v.type.elems) != len(cls._fields):
            raise self.src.error(f"{cls.__name__}() needs a tuple of {len(cls._fields)} values, "
                                 f"not {v.type}", e.pos)
        self.state.tuple_fields[v] = list(cls._fields)
        return v

    def method_as_function(self, v: Value, name: str, args: list[Value],
                           kwargs: dict[str, Value], pos):
        """``v.<name>(...)`` as ``<function>(v, ...)`` when the method is a graphtorch function
        installed on Tensor; None when it is not."""

        fn = getattr(Tensor, name, None)
        module = getattr(fn, "__module__", None) or ""
        if not inspect.isfunction(fn) or not module.startswith("graphtorch.") or \
                getattr(sys.modules.get(module), fn.__name__, None) is not fn:
            return None    # a lambda or Tensor's own method: no function form to compile
        call = S.Call(pos, _Compiled(pos, v), [_Compiled(pos, v)] + [_Compiled(pos, a)
                                                                    for a in args],
                      [S.Keyword(pos, k, _Compiled(pos, a)) for k, a in kwargs.items()])
        return self.calls.call_python(fn, call)

    def compiled_call(self, e: S.Call, args: list[Value], kwargs: dict[str, Value]) -> S.Call:
        """``e`` with its arguments replaced by their compiled values (never compiled twice)."""
        return S.Call(e.pos, e.func, [_Compiled(e.pos, a) for a in args],
                      [S.Keyword(e.pos, k, _Compiled(e.pos, a)) for k, a in kwargs.items()])

    def library_param_types(self, fn, args: list[Value], kwargs: dict[str, Value]) -> dict:
        """Types of ``fn``'s parameters for this call (empty when every one is a tensor, or the
        call does not bind: then the plain compile reports it)."""
        try:
            sig = inspect.signature(fn)
            bound = sig.bind(*args, **kwargs)
        except (TypeError, ValueError):
            return {}
        types, plain = {}, {}   # plain: the types the compile without param_types gives
        for name, p in sig.parameters.items():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                return {}
            default = None if p.default is inspect.Parameter.empty else \
                T.type_of_value(p.default)
            plain[name] = T.TENSOR if default is None or p.default is None else default
            if name in bound.arguments:
                t = bound.arguments[name].type
                types[name] = T.TENSOR if isinstance(t, T.TensorType) else t
            elif default is not None:
                types[name] = default
        if all(t == T.TENSOR and plain[n] == T.TENSOR for n, t in types.items()):
            return {}
        return types

    def dispatch_call(self, e: S.Call) -> Value:
        """``dispatch(R["op"], (a, b), {"k": v})`` -> the op called with those arguments."""
        if len(e.args) not in (2, 3) or e.keywords:
            raise self.src.error("dispatch() takes (op, (args...), kwargs) in script", e.pos)
        op = self.exprs.lower(e.args[0])
        if not isinstance(op, PyObj) or not isinstance(op.obj, OpDef):
            raise self.src.error("dispatch() needs a registry op known while compiling", e.pos)
        pos_e = e.args[1]
        if not isinstance(pos_e, (S.Tuple, S.List)):
            raise self.src.error("dispatch() needs its arguments as a tuple literal in script",
                                 pos_e.pos)
        args = [self.exprs.lower_value(a) for a in pos_e.elts]
        kwargs: dict[str, Value] = {}
        kw_e = e.args[2] if len(e.args) == 3 else None
        if isinstance(kw_e, S.Dict):
            for k, val in zip(kw_e.keys, kw_e.values):
                if not (isinstance(k, S.Constant) and isinstance(k.value, str)):
                    raise self.src.error("dispatch() keyword names must be string literals",
                                         k.pos)
                kwargs[k.value] = self.exprs.lower_value(val)
        elif kw_e is not None and not (isinstance(kw_e, S.Constant) and kw_e.value is None):
            raise self.src.error("dispatch() needs its keyword arguments as a dict literal or "
                                 "None in script", kw_e.pos)
        return self.calls.call_op(op.obj.name, args, kwargs, e.pos)
