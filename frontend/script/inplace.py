"""In-place tensor updates in script: ``y.add_(1)``, ``y[i] = v``, ``y += v``, ``y[i] += v``
(mixed into FunctionCompiler).

Each update is a ``prim::Inplace[op=...]`` node (docs/ir.md): at run time eager's in-place path
writes the result into the tensor's own memory, so every alias of it -- the caller's argument, a
list element, a view, another name -- sees the update, as in eager and TorchScript. The node's
output is the same tensor; a local name is rebound to it so that later reads through that name
are ordered after the update in the graph (reads through other aliases are kept in program order
by the passes, which treat the node as an effect).
"""

from __future__ import annotations

import inspect

from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.class_types import script_class_of
from graphtorch.frontend.script.expressions import BINARY
from graphtorch.frontend.script.state import Lowerer
from graphtorch.ir import types as T
from graphtorch.ir.graph import Value
from graphtorch.ir.kinds import INPLACE
from graphtorch.ops.registry import REGISTRY, OpKind
from graphtorch.tensor import Tensor

# Eager in-place methods that are not one registry op: the node calls the method itself (the
# interpreter's METHOD_INPLACE).
_METHODS = frozenset({"zero_", "fill_", "copy_", "uniform_", "normal_", "bernoulli_", "random_",
                      "exponential_"})
# Eager in-place methods that clamp with one bound: ``_inplace("clamp", ...)``.
_CLAMP_ONE = {"clamp_min_": "min", "clamp_max_": "max"}
# Eager in-place methods computed out of place and written back with ``copy_`` (tensor_api.py).
_COPY_BACK = frozenset({"lerp_", "addcmul_", "addcdiv_", "index_fill_"})


class InplaceLowerer(Lowerer):
    def inplace_method(self, func, e: S.Call) -> Value:
        """``t.<name>_(...)``: the eager method's update, written into ``t``."""

        name, recv, pos = func.name, func.receiver, e.pos
        base = name[:-1]
        if not hasattr(Tensor, name):
            raise self.src.error(f"Tensor has no method '{name}'", pos)
        args, kwargs = self.calls.args_of(e)
        if name in _METHODS:
            out = self.graph.emit(INPLACE, [recv] + self._method_args(name, args, kwargs, pos),
                                  [recv.type], {"op": name}).output
        elif name in _CLAMP_ONE:
            bound = args[0] if args else kwargs.get(_CLAMP_ONE[name])
            if bound is None or len(args) + len(kwargs) != 1:
                raise self.src.error(f"{name}() takes exactly one argument "
                                     f"({_CLAMP_ONE[name]})", pos)
            out = self.calls.call_op("clamp", [recv], {_CLAMP_ONE[name]: bound}, pos, inplace=True)
        elif name == "clip_":
            out = self.calls.call_op("clamp", [recv] + args, kwargs, pos, inplace=True)
        elif name in _COPY_BACK:
            value = self.calls.tensor_method(recv, base, args, kwargs, pos)
            out = self.graph.emit(INPLACE, [recv, value], [recv.type], {"op": "copy_"}).output
        elif name == "index_put_":
            raise self.src.error("index_put_() is not supported in script", pos,
                                 "write the assignment 'y[idx] = values' (it updates y in place)")
        elif base in REGISTRY and REGISTRY[base].kind is not OpKind.RANDOM:
            out = self.calls.call_op(base, [recv] + args, kwargs, pos, inplace=True)
        else:
            raise self.src.error(f"in-place Tensor.{name}() is not supported in script", pos)
        if isinstance(e.func.value, S.Name):
            self.stmts.assign(e.func.value, out, pos)
        return out

    def _method_args(self, name: str, args: list[Value], kwargs: dict[str, Value],
                     pos) -> list[Value]:
        """The arguments of the eager method ``Tensor.<name>`` in positional order."""

        params = list(inspect.signature(getattr(Tensor, name)).parameters.values())[1:]
        if any(p.kind is p.VAR_POSITIONAL for p in params):
            if kwargs:
                raise self.src.error(f"{name}() takes positional arguments only in script", pos)
            return list(args)
        named = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
        if len(args) > len(named):
            raise self.src.error(f"{name}() takes {len(named)} argument(s) but {len(args)} were "
                                 f"given", pos)
        out = list(args)
        for p in named[len(args):]:
            if p.name in kwargs:
                out.append(kwargs.pop(p.name))
            elif p.default is not inspect.Parameter.empty:
                out.append(self.exprs.py_constant(p.default, pos))
            else:
                raise self.src.error(f"{name}() missing required argument '{p.name}'", pos)
        if kwargs:
            raise self.src.error(f"{name}() got an unexpected keyword argument "
                                 f"'{next(iter(kwargs))}'", pos)
        return out

    def _inplace_binop(self, op: str, current: Value, other: Value, pos) -> Value:
        """``current <op>= other`` on a tensor: eager's ``__iadd__`` ... (an in-place op)."""
        tensor_op = BINARY[op][0]
        if tensor_op is None:
            raise self.src.error(f"operator {op}= is not supported on tensors", pos)
        return self.calls.call_op(tensor_op, [current, other], {}, pos, inplace=True)

    def stmt_AugAssign(self, s: S.AugAssign):
        """``x += v``: a tensor is updated in place, as eager's ``__iadd__`` ... do (aliases see
        it); lists are extended in place; other values are rebound."""
        target = s.target
        if isinstance(target, S.Subscript):
            base = self.exprs.lower(target.value)
            if isinstance(base, Value) and isinstance(base.type, T.TensorType):
                # NOTE: eager: tmp = t[k]; tmp += v; t[k] = tmp (the key is evaluated once)
                key, indices = self.indexing.tensor_key(target.index, target.pos)
                item = self.calls.call_op("index", [base, key, indices], {}, s.pos)
                item = self._inplace_binop(s.op, item, self.exprs.lower_value(s.value), s.pos)
                new = self.put_item(base, key, indices, item, s.pos)
                if isinstance(target.value, S.Name):
                    self.stmts.assign(target.value, new, s.pos)
                return
        current = self.exprs.lower_value(target)
        other = self.exprs.lower_value(s.value)
        if isinstance(current.type, T.TensorType):
            new = self._inplace_binop(s.op, current, other, s.pos)
        elif isinstance(current.type, T.ListType) and (
                s.op == "+" or s.op == "*" and other.type in (T.INT, T.BOOL)):
            # NOTE: as Python's list.__iadd__ / __imul__: the same list, changed in place
            if s.op == "*":
                repeated = self.exprs.binop("*", current, other, s.pos)
                self.scalar("prim::list_clear", [current], None)
                other = repeated
            self.scalar("prim::list_extend", [current, other], None)
            if isinstance(target, S.Name):
                return
            new = current
        elif script_class_of(current.type) is not None:   # __iadd__, else __add__
            new = self.classes.augmented(s.op, current, other, s.pos)
        else:
            new = self.exprs.binop(s.op, current, other, s.pos)
        self.stmts.assign(target, new, s.pos)

    def put_item(self, base: Value, key: Value, indices: Value, value: Value, pos) -> Value:
        """``base[key] = value`` in place (``prim::Inplace[op="index_put"]``)."""
        if isinstance(value.type, T.TensorType) and isinstance(base.type, T.TensorType) and \
                base.type.dtype is not None and value.type.dtype is not None and \
                value.type.dtype is not base.type.dtype:
            value = self.calls.call_op("to_dtype", [value, self.const(base.type.dtype)], {}, pos)
        return self.calls.call_op("index_put", [base, key, indices, value], {}, pos, inplace=True)
