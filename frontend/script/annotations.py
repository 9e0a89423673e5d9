"""Type annotations (PEP 3107/526 and ``typing``) -> IR types."""

from __future__ import annotations

import typing

from graphtorch.frontend.script import syntax as S
from graphtorch.ir import types as T

_BUILTIN_TYPES = {int: T.INT, float: T.FLOAT, bool: T.BOOL, str: T.STR, type(None): T.NONE}


def type_from_python(obj, what: str = "annotation") -> T.Type | None:
    """The IR type of a Python type object (``int``, ``List[int]``, ``Optional[Tensor]`` ...)."""
    from graphtorch import device as Device
    from graphtorch import dtype as DType
    from graphtorch.tensor import Tensor

    if obj is None:
        return T.NONE
    if obj in _BUILTIN_TYPES:
        return _BUILTIN_TYPES[obj]
    if obj is Tensor or getattr(obj, "__name__", "") == "Parameter":
        return T.TENSOR
    if obj is Device:
        return T.DEVICE
    if obj is DType:
        return T.DTYPE
    if obj is typing.Any:
        return T.ANY
    origin = typing.get_origin(obj)
    args = typing.get_args(obj)
    if origin in (list, typing.List) and len(args) == 1:  # noqa: UP006
        inner = type_from_python(args[0])
        return None if inner is None else T.ListType(inner)
    if origin in (tuple, typing.Tuple):  # noqa: UP006
        inner = [type_from_python(a) for a in args if a is not Ellipsis]
        return None if any(i is None for i in inner) else T.TupleType(tuple(inner))
    if origin in (dict, typing.Dict) and len(args) == 2:  # noqa: UP006
        k, v = type_from_python(args[0]), type_from_python(args[1])
        return None if k is None or v is None else T.DictType(k, v)
    if origin is typing.Union or type(obj).__name__ == "UnionType":
        members = [type_from_python(a) for a in args]
        if any(m is None for m in members):
            return None
        out = members[0]
        for m in members[1:]:
            out = T.unify(out, m)
            if out is None:
                return None
        return out
    if origin is typing.Final or str(origin) == "typing.Final":
        return type_from_python(args[0]) if args else None
    return None


def annotation_text(e: S.Expr) -> str:
    if isinstance(e, S.Name):
        return e.id
    if isinstance(e, S.Attribute):
        return f"{annotation_text(e.value)}.{e.attr}"
    if isinstance(e, S.Subscript):
        return f"{annotation_text(e.value)}[{annotation_text(e.index)}]"
    if isinstance(e, S.Tuple):
        return ", ".join(annotation_text(x) for x in e.elts)
    if isinstance(e, S.Constant):
        return repr(e.value)
    return "?"


def evaluate_annotation(e: S.Expr, lookup) -> object:
    """Evaluate an annotation expression to a Python typing object; ``lookup(name)`` resolves
    names (the function's globals). Raises KeyError/TypeError when it cannot."""
    if isinstance(e, S.Constant):
        if isinstance(e.value, str):   # a string annotation: "List[int]"
            return eval(e.value, {}, _LookupMap(lookup))  # noqa: S307 - names only, no builtins
        return e.value
    if isinstance(e, S.Name):
        return lookup(e.id)
    if isinstance(e, S.Attribute):
        return getattr(evaluate_annotation(e.value, lookup), e.attr)
    if isinstance(e, S.Subscript):
        base = evaluate_annotation(e.value, lookup)
        if isinstance(e.index, S.Tuple):
            return base[tuple(evaluate_annotation(x, lookup) for x in e.index.elts)]
        return base[evaluate_annotation(e.index, lookup)]
    if isinstance(e, S.BinOp) and e.op == "|":
        return typing.Union[evaluate_annotation(e.left, lookup),  # noqa: UP007
                            evaluate_annotation(e.right, lookup)]
    raise TypeError("unsupported annotation expression")


class _LookupMap(dict):
    def __init__(self, lookup):
        super().__init__()
        self.lookup = lookup

    def __missing__(self, key):
        return self.lookup(key)


def resolve(e: S.Expr, lookup, src) -> T.Type:
    """The IR type an annotation denotes, or a ScriptError pointing at it."""
    try:
        obj = evaluate_annotation(e, lookup)
    except Exception:  # noqa: BLE001 - any failure here means "not a type we know"
        obj = _UNKNOWN
    t = None if obj is _UNKNOWN else type_from_python(obj)
    if t is None:
        raise src.error(f"unknown type annotation '{annotation_text(e)}'", e.pos,
                        "script supports Tensor, int, float, bool, str, None and typing's "
                        "List, Tuple, Dict, Optional and Union of those")
    return t


_UNKNOWN = object()
