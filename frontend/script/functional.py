"""Python-level graphtorch functions -> registry ops.

``graphtorch.nn.functional`` functions wrap registry ops with PyTorch's Python signatures
(``F.relu(input, inplace=False)`` is ``relu(Tensor self)``; ``F.softmax`` has ``_stacklevel``).
A call is bound to the Python signature, then each argument is matched to the op's schema by name
(``input``/``tensor`` is the schema's first argument); Python-only parameters must be left at
their defaults. A few graphtorch.* names are overloads of several ops (``max(x)`` /
``max(x, dim)`` / ``max(x, y)``); :func:`overload` picks the op from the argument types.
"""

from __future__ import annotations

import inspect

from graphtorch.ir import types as T
from graphtorch.ir.graph import Value

_RENAMES = {("embedding", "input"): "indices", ("dropout", "training"): "train"}


def bind_to_schema(fn, op, args: list[Value], kwargs: dict[str, Value],
                   constant_of) -> dict[str, Value]:
    """Keyword arguments of ``op`` for the call ``fn(*args, **kwargs)``; ValueError says which
    argument has no place in the schema."""
    sig = inspect.signature(fn)
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as e:
        raise ValueError(f"{fn.__name__}(): {e}") from None
    names = [a.name for a in op.schema.args]
    first = next(iter(sig.parameters))
    out: dict[str, Value] = {}
    for pname, value in bound.arguments.items():
        target = _RENAMES.get((op.name, pname), pname)
        if target not in names and pname == first:
            target = names[0]
        if target in names:
            arg = op.schema.args[names.index(target)]
            ok, const = constant_of(value)
            if ok and const is None and arg.has_default and not arg.type.endswith("?"):
                continue    # Python's "None = not given" where the schema has a real default
            out[target] = value
            continue
        default = sig.parameters[pname].default
        ok, const = constant_of(value)
        if ok and default is not inspect.Parameter.empty and const == default:
            continue
        raise ValueError(f"{fn.__name__}(): argument '{pname}' is not supported in script "
                         f"(the {op.name} op has no such argument); leave it at its default "
                         f"{default!r}")
    return out


def overload(name: str, args: list[Value], kwargs: dict[str, Value]) -> str:
    """The registry op a graphtorch.<name> / Tensor.<name> call with these arguments means."""
    if name in ("max", "min"):
        if len(args) >= 2 and isinstance(args[1].type, T.TensorType) or "other" in kwargs:
            return name + "imum"
        if len(args) >= 2 or "dim" in kwargs:
            return name + "_dim"
    if name == "split" and len(args) >= 2 and isinstance(args[1].type, (T.ListType,
                                                                        T.TupleType)):
        return "split_with_sizes"
    return name
