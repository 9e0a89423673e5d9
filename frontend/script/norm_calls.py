"""``graphtorch.norm(x, p='fro' | 'nuc', ...)`` in script: the string orders are not the
``norm`` op's Scalar ``p``. ``'fro'`` is the 2-norm over ``dim`` (all elements when None, as
eager); ``'nuc'`` is ``linalg_matrix_norm`` (sum of singular values) over ``dim`` (the last two
dims when None)."""

from __future__ import annotations

from graphtorch.ir import types as T
from graphtorch.ir.graph import Value


def string_order_norm(lowerer, args: list[Value], kwargs: dict[str, Value], pos) -> Value | None:
    """The call's value when ``p`` is a constant string, else None (the plain ``norm`` op)."""
    args, kwargs = list(args), dict(kwargs)
    in_args = len(args) > 1
    p = args[1] if in_args else kwargs.get("p")
    if p is None or not p.is_constant:
        return None
    order = lowerer.graph.constant_value(p)
    if not isinstance(order, str):
        return None
    names = ("input", "p", "dim", "keepdim", "dtype")
    bound = dict(zip(names, args))
    bound.update(kwargs)
    if "self" in bound:
        bound["input"] = bound.pop("self")
    x = bound["input"]
    dim, keepdim, dtype = bound.get("dim"), bound.get("keepdim"), bound.get("dtype")
    extra = {"dtype": dtype} if dtype is not None else {}
    if order == "fro":
        rest = [lowerer.const(None, T.optional(T.ListType(T.INT))) if dim is None else dim,
                lowerer.const(False) if keepdim is None else keepdim]
        return lowerer.calls.call_op("norm", [x, lowerer.const(2), *rest], extra, pos)
    if order == "nuc":
        rest = [lowerer.const([-2, -1], T.ListType(T.INT)) if dim is None else dim,
                lowerer.const(False) if keepdim is None else keepdim]
        return lowerer.calls.call_op("linalg_matrix_norm", [x, lowerer.const("nuc"), *rest],
                                     extra, pos)
    raise lowerer.src.error(f"norm(): p={order!r} is not a norm order; use a number, 'fro' or "
                            "'nuc'", pos)
