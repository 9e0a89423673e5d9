"""Calls left to Python (``prim::PythonOp``: ``@graphtorch.jit.ignore`` functions and the eager
fallbacks): keyword arguments bound to positions while compiling, and the result type of the
functions whose result depends on flags (``unique(x, return_counts=True)`` is a tuple)."""

from __future__ import annotations

import inspect

from graphtorch import python_signatures
from graphtorch.ir import types as T
from graphtorch.ir.graph import Value

# function -> the bool parameters that each add one Tensor to the result (False: a Tensor)
_FLAG_RESULTS = {python_signatures.unique: ("return_inverse", "return_counts"),
                 python_signatures.unique_consecutive: ("return_inverse", "return_counts")}


def positional_arguments(fn, args: list[Value], kwargs: dict[str, Value], constant, src,
                         pos) -> list[Value]:
    """``args`` and ``kwargs`` bound to ``fn``'s parameters, as positional values (a skipped
    parameter before a given one gets its default, as a constant); a ScriptError where they do
    not bind or a keyword-only parameter is given."""
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    try:
        sig = inspect.signature(fn)
        bound = sig.bind(*args, **kwargs)
    except (TypeError, ValueError) as err:
        raise src.error(f"{name}(): {err}", pos, "pass the arguments its signature takes") \
            from None
    params = list(sig.parameters.values())
    out: list[Value] = []
    last = max(i for i, p in enumerate(params) if p.name in bound.arguments)
    for p in params[:last + 1]:
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            raise src.error(f"{name}(): the argument '{p.name}' of a Python function cannot "
                            "be passed from script", pos,
                            "call it from a @graphtorch.jit.ignore function with positional "
                            "parameters")
        if p.name in bound.arguments:
            out.append(bound.arguments[p.name])
        else:
            out.append(constant(p.default, pos))
    return out


def flag_result_type(fn, args: list[Value], constant_of, src, pos) -> T.Type | None:
    """The result type of ``fn(*args)`` where its flags decide it (None: not such a function);
    the flags must be constants."""
    try:
        flags = _FLAG_RESULTS.get(fn)
    except TypeError:   # an unhashable callable
        return None
    if flags is None:
        return None
    names = list(inspect.signature(fn).parameters)
    n = 1
    for flag in flags:
        i = names.index(flag)
        if i >= len(args):
            continue
        ok, value = constant_of(args[i])
        if not ok or not isinstance(value, bool):
            raise src.error(f"{fn.__name__}(): '{flag}' must be a constant True or False in "
                            "script (it decides the result type)", pos,
                            "write the call once per flag value, in an if/else")
        n += value
    return T.TENSOR if n == 1 else T.TupleType((T.TENSOR,) * n)
