"""Expose registry ops as ``graphtorch.<name>`` functions and ``Tensor`` methods.

Every function and method made here calls ``dispatch``: there is no second path into a kernel.
"""

from __future__ import annotations

from graphtorch.ops.dispatch import dispatch
from graphtorch.ops.registry import REGISTRY, OpDef, OpKind, Promotion

# ops whose second argument is an int[] that PyTorch also takes as varargs: x.view(2, 3)
_VARARG_METHODS = {"view", "reshape", "permute", "expand", "repeat", "sum_to_size", "tile",
                   "flip"}
_VARARG_FACTORIES = {"zeros", "ones", "empty", "rand", "randn"}


def _doc(op: OpDef) -> str:
    return f"{op.doc}\n\nschema: ``{op.schema}``".strip()


def make_function(op: OpDef):
    if op.name in _VARARG_FACTORIES:
        def fn(*args, **kwargs):
            if args and not isinstance(args[0], (list, tuple)) and "size" not in kwargs:
                args = (tuple(args),)
            return dispatch(op, args, kwargs)
    else:
        def fn(*args, **kwargs):
            return dispatch(op, args, kwargs)
    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = _doc(op)
    fn.op = op
    return fn


def make_method(op: OpDef):
    if op.name in _VARARG_METHODS:
        def method(self, *args, **kwargs):
            if args and not isinstance(args[0], (list, tuple)):
                args = (tuple(args),)
            return dispatch(op, (self,) + args, kwargs)
    else:
        def method(self, *args, **kwargs):
            return dispatch(op, (self,) + args, kwargs)
    method.__name__ = method.__qualname__ = op.name
    method.__doc__ = _doc(op)
    return method


def make_inplace_method(name: str):
    def method(self, *args, **kwargs):
        return self._inplace(name, *args, **kwargs)

    method.__name__ = method.__qualname__ = name + "_"
    return method


def public_functions() -> dict:
    return {name: make_function(op) for name, op in REGISTRY.items() if not name.startswith("_")}


def is_method(op: OpDef) -> bool:
    args = op.schema.args
    return (bool(args) and args[0].name == "self" and args[0].type == "Tensor"
            and op.kind not in (OpKind.FACTORY,))


def install_methods(cls) -> None:
    """Add a method for each registry op taking ``self`` (plus in-place ``op_`` variants)."""
    for name, op in REGISTRY.items():
        if name.startswith("_") or not is_method(op):
            continue
        if name not in cls.__dict__:
            setattr(cls, name, make_method(op))
        if (op.kind is OpKind.ELEMENTWISE and op.promotion is not Promotion.ALWAYS_BOOL
                and name + "_" not in cls.__dict__):
            setattr(cls, name + "_", make_inplace_method(name))

