"""``MyFn.apply(x, ...)`` in scripted code: a custom ``autograd.Function`` as ONE graph node.

The call compiles to ``prim::PythonOp[name="MyFn.apply"]`` whose callable is a
:class:`~graphtorch.autograd.function.FunctionCall`: running the graph calls ``MyFn.apply`` on
eager tensors, so ``ctx.save_for_backward``, ``needs_input_grad``, ``mark_non_differentiable``
and the user's ``backward`` behave as in eager mode. Like every ``prim::PythonOp`` the graph runs
but cannot be saved.

The node's result type is the declared return annotation of ``MyFn.forward`` (``Tensor``,
``Tuple[Tensor, Tensor]`` ...), else ``Tensor``: script never runs ``forward`` to find out.
"""

from __future__ import annotations

import inspect
import typing

from graphtorch.autograd.function import Function, FunctionCall
from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.annotations import type_from_python
from graphtorch.ir import types as T
from graphtorch.ir.graph import Value
from graphtorch.ir.kinds import Prim


def autograd_function_of(obj) -> type | None:
    """The ``Function`` subclass when ``obj`` is its ``apply`` (``MyFn.apply``), else None."""
    if inspect.ismethod(obj) and obj.__name__ == "apply":
        owner = obj.__self__
        if isinstance(owner, type) and issubclass(owner, Function) and owner is not Function:
            return owner
    return None


def return_type(function: type) -> T.Type:
    """The IR type ``function.forward`` declares it returns (``Tensor`` when it declares none)."""
    try:
        ann = typing.get_type_hints(function.forward).get("return")
    except Exception:  # noqa: BLE001 - an annotation Python cannot resolve: not declared
        ann = None
    if ann is None:
        return T.TENSOR
    return type_from_python(ann) or T.TENSOR


def emit_function_apply(compiler, function: type, e: S.Call) -> Value:
    """Compile ``function.apply(...)`` (a call expression ``e``) to one ``prim::PythonOp``."""
    args, kwargs = compiler.args_of(e)
    args = _positional(compiler, function, args, kwargs, e)
    ret = return_type(function)
    arity = (0 if isinstance(ret, T.TensorType) else
             len(ret.elems) if isinstance(ret, T.TupleType) else None)
    call = FunctionCall(function, arity=arity)
    out = compiler.graph.emit(Prim.PythonOp, args, [ret], {"fn": call, "name": call.__qualname__})
    return out.output


def _positional(compiler, function: type, args: list[Value], kwargs: dict[str, Value],
                e: S.Call) -> list[Value]:
    """Keyword arguments placed by ``forward``'s signature (after ``ctx``); defaults filled."""
    if not kwargs:
        return args
    name = f"{function.__qualname__}.apply"
    params = list(inspect.signature(function.forward).parameters.values())[1:]
    out: list[Value | None] = list(args) + [None] * max(0, len(params) - len(args))
    for key, v in kwargs.items():
        idx = next((i for i, p in enumerate(params) if p.name == key and
                    p.kind in (p.POSITIONAL_OR_KEYWORD, p.POSITIONAL_ONLY)), None)
        if idx is None:
            raise compiler.src.error(f"{name}() got an unexpected keyword argument '{key}'",
                                     e.pos, "pass forward's parameters by position or name")
        if idx < len(args):
            raise compiler.src.error(f"{name}() got multiple values for argument '{key}'", e.pos)
        out[idx] = v
    for i, v in enumerate(out):
        if v is None:
            p = params[i]
            if p.default is inspect.Parameter.empty:
                raise compiler.src.error(f"{name}() missing required argument '{p.name}'", e.pos)
            out[i] = compiler.exprs.py_constant(p.default, e.pos)
    return typing.cast(list[Value], out)
