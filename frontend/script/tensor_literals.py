"""``graphtorch.tensor(data)`` / ``graphtorch.as_tensor(data)`` in script (mixed into
FunctionCompiler).

Literal data (numbers, nested lists/tuples of them) is evaluated while compiling and becomes a
tensor constant of the graph, cloned on every call so that callers never share it (eager makes
a new tensor per call). A Python number known only at run time becomes a 0-d ``op::full`` with
eager's dtype inference (bool, int64 or the default float dtype). Anything else is refused.
"""

from __future__ import annotations

from graphtorch import dtypes
from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.state import Lowerer
from graphtorch.ir import types as T
from graphtorch.ir.graph import Value
from graphtorch.ir.kinds import Prim

_NOT_LITERAL = object()


def literal_value(e: S.Expr):
    """The Python value of a literal expression (numbers, bools, None, nested lists/tuples,
    negated numbers), or _NOT_LITERAL."""
    if isinstance(e, S.Constant) and (e.value is None or
                                      isinstance(e.value, (bool, int, float, complex))):
        return e.value
    if isinstance(e, S.UnaryOp) and e.op in ("-", "+"):
        v = literal_value(e.operand)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return -v if e.op == "-" else v
        return _NOT_LITERAL
    if isinstance(e, (S.List, S.Tuple)):
        items = [literal_value(x) for x in e.elts]
        if any(x is _NOT_LITERAL for x in items):
            return _NOT_LITERAL
        return items
    return _NOT_LITERAL


class TensorLiteralLowerer(Lowerer):
    def tensor_factory(self, fn, e: S.Call) -> Value:
        """``graphtorch.tensor(data, dtype=..., device=..., requires_grad=...)``."""
        name = f"graphtorch.{fn.__name__}"
        if len(e.args) != 1 and not any(k.name == "data" for k in e.keywords):
            raise self.src.error(f"{name}() takes the data as its first argument", e.pos)
        data_e = e.args[0] if e.args else next(k.value for k in e.keywords if k.name == "data")
        kwargs = {k.name: self.exprs.lower_value(k.value) for k in e.keywords if k.name != "data"}
        allowed = {"dtype", "device", "requires_grad"}
        for k, v in kwargs.items():
            if k not in allowed:
                raise self.src.error(f"{name}() got an unexpected keyword argument '{k}'", e.pos)
            if not v.is_constant:
                raise self.src.error(f"{name}(): '{k}' must be a constant in script", e.pos)
        consts = {k: self.graph.constant_value(v) for k, v in kwargs.items()}
        data = literal_value(data_e)
        if data is not _NOT_LITERAL:
            try:
                t = fn(data, **consts)
            except (TypeError, ValueError) as err:
                raise self.src.error(f"{name}(): {err}", e.pos) from None
            return self.calls.call_op("clone", [self.const(t)], {}, e.pos)
        if isinstance(data_e, (S.List, S.Tuple)) and data_e.elts and \
                not consts.get("requires_grad"):
            return self._stacked(data_e, consts, e.pos)
        v = self.exprs.lower_value(data_e)
        if isinstance(v.type, T.TensorType) and fn.__name__ == "as_tensor":
            # as_tensor(t, dtype=...) of a tensor: t itself, or t converted (as eager)
            if consts.get("device") is not None:
                v = self.calls.call_op("to_device", [v, self.const(consts["device"])], {}, e.pos)
            if consts.get("dtype") is not None:
                v = self.calls.call_op("to_dtype", [v, self.const(consts["dtype"])], {}, e.pos)
            return v
        if v.type in (T.INT, T.FLOAT, T.BOOL, T.COMPLEX):
            dt = consts.get("dtype") or {T.INT: dtypes.int64, T.BOOL: dtypes.bool_,
                                         T.COMPLEX: dtypes.default_complex()}.get(
                v.type, dtypes.get_default_dtype())
            kw = {"dtype": self.const(dt)}
            if "device" in consts:
                kw["device"] = self.const(consts["device"])
            if consts.get("requires_grad"):
                kw["requires_grad"] = self.const(True)
            return self.calls.call_op("full", [self.const([], T.ListType(T.INT)), v], kw, e.pos)
        raise self.src.error(f"{name}() in script takes literal data or a single Python number "
                             f"(got {v.type})", data_e.pos,
                             "build the tensor with graphtorch.stack / graphtorch.full, or pass "
                             "it in as an argument")

    def _stacked(self, data_e: S.List | S.Tuple, consts: dict, pos) -> Value:
        """``tensor([a, b], dtype=...)`` of numbers known at run time (nested lists too): each
        number a 0-d tensor, stacked; the dtype is eager's inference over the items' types
        (any float: the default float dtype, all bool: bool, else int64)."""
        leaves: list[Value] = []

        def lower(e: S.Expr):
            if isinstance(e, (S.List, S.Tuple)):
                return [lower(x) for x in e.elts]
            v = self.exprs.lower_value(e)
            if v.type not in (T.INT, T.FLOAT, T.BOOL):
                raise self.src.error(f"graphtorch.tensor() in script takes literal data, "
                                     f"numbers, or lists of numbers (got an item of type "
                                     f"{v.type})", e.pos, "build the tensor with "
                                     "graphtorch.stack, or pass it in as an argument")
            leaves.append(v)
            return v

        nested = lower(data_e)
        kinds = {v.type for v in leaves}
        dt = consts.get("dtype") or (dtypes.get_default_dtype() if T.FLOAT in kinds else
                                     dtypes.bool_ if kinds == {T.BOOL} else dtypes.int64)
        kw = {"dtype": self.const(dt)}
        if "device" in consts:
            kw["device"] = self.const(consts["device"])
        empty = self.const([], T.ListType(T.INT))

        def build(item) -> Value:
            if isinstance(item, Value):
                return self.calls.call_op("full", [empty, item], kw, pos)
            if not item:
                raise self.src.error("graphtorch.tensor() of an empty nested list with "
                                     "values known at run time is not supported in script", pos)
            parts = [build(x) for x in item]
            seq = self.graph.emit(Prim.ListConstruct, parts, [T.ListType(T.TENSOR)]).output
            return self.calls.call_op("stack", [seq, self.const(0)], {}, pos)

        return build(nested)
