"""TorchScript's typing helpers: ``graphtorch.jit.annotate``, ``graphtorch.jit.isinstance`` and
``graphtorch.jit._unwrap_optional``, eager (plain Python) and in script (mixed into
CallCompiler)."""

from __future__ import annotations

import typing

from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.builtin_calls import type_spec
from graphtorch.frontend.script.state import Lowerer
from graphtorch.ir import types as T
from graphtorch.ir.graph import Value
from graphtorch.tensor import Tensor


def annotate(the_type, the_value):
    """Eager: ``the_value`` unchanged. In script: ``the_value`` typed as ``the_type`` (an empty
    ``[]`` or ``{}`` gets its element types: ``annotate(List[int], [])``)."""
    del the_type
    return the_value


def _unwrap_optional(x):
    """Eager and in script: ``x``, which must not be None."""
    if x is None:
        raise AssertionError("Unwrapping null optional")
    return x


def check_type(obj, target) -> bool:
    """Whether ``obj`` is a ``target``: a class or a typing form (``List[int]``,
    ``Optional[Tensor]``, ``Dict[str, Tuple[int, float]]``); containers are checked item by
    item (an empty one passes)."""

    if target is typing.Any:
        return True
    if target is None or target is type(None):
        return obj is None
    origin, args = typing.get_origin(target), typing.get_args(target)
    if origin is None:
        if target is Tensor:
            return isinstance(obj, Tensor)
        return isinstance(obj, target)
    if origin is typing.Union or type(target).__name__ == "UnionType":
        return any(check_type(obj, a) for a in args)
    if origin is list:
        return isinstance(obj, list) and all(check_type(x, args[0]) for x in obj)
    if origin is dict:
        return isinstance(obj, dict) and all(
            check_type(k, args[0]) and check_type(v, args[1]) for k, v in obj.items())
    if origin is tuple:
        if not isinstance(obj, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(check_type(x, args[0]) for x in obj)
        return len(obj) == len(args) and all(check_type(x, a) for x, a in zip(obj, args))
    return isinstance(obj, origin)


def jit_isinstance(obj, target_type) -> bool:
    """``graphtorch.jit.isinstance``: isinstance that also takes typing forms."""
    return check_type(obj, target_type)


LANGUAGE_FUNCTIONS = (annotate, _unwrap_optional, jit_isinstance)


class LanguageCalls(Lowerer):
    def language_call(self, obj, e: S.Call) -> Value:
        if obj is annotate:
            if len(e.args) != 2 or e.keywords:
                raise self.src.error("annotate() takes a type and a value", e.pos,
                                     "write graphtorch.jit.annotate(List[int], [])")
            t = self.state.ann_type(e.args[0])
            v = self.exprs.lower_value(e.args[1], t)
            if isinstance(t, T.DictType) and isinstance(v.type, T.DictType) and \
                    v.node is not None and not v.node.inputs and v.uses == []:
                v.type = t   # an empty {} literal takes the annotated key and value types
            if isinstance(v.type, T.AnyType) and not isinstance(t, T.AnyType):
                # x.tolist() and other Any values: checked when the function runs
                return self.scalar("prim::checked_cast", [v, self.const(type_spec(t))], t)
            if t in (T.INT, T.FLOAT) and isinstance(v.type, T.TensorType):
                # NOTE: annotate(float, t) of a 0-dim tensor: its number, as TorchScript
                return self.scalar("prim::implicit_scalar", [v, self.const(t == T.INT)], t)
            return self.exprs.coerce(v, t, e.pos, "the annotated value")
        if obj is _unwrap_optional:
            if len(e.args) != 1:
                raise self.src.error("_unwrap_optional() takes one argument", e.pos)
            v = self.exprs.lower_value(e.args[0])
            if not isinstance(v.type, T.OptionalType):
                return v
            msg = self.const("Unwrapping null optional")
            return self.graph.emit("prim::unwrap_optional", [v, msg], [v.type.elem]).output
        # graphtorch.jit.isinstance: the builtin's rules, with typing forms
        return self.builtin_calls.isinstance_call(e)
