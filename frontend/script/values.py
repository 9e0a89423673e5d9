"""What a name or expression can stand for while compiling, besides an IR value.

An expression compiles to an IR :class:`~graphtorch.ir.graph.Value`, or to one of these "sugared"
values that exist only at compile time: a Python object the function refers to (a module such as
``graphtorch``, a function, a class, a constant), a module instance reached through ``self``, a
container of modules (unrolled), a bound method, or a name that is not defined on every path.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphtorch.frontend.script.source import Pos
from graphtorch.ir.graph import Value
from graphtorch.nn.container import (
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    Sequential,
)


@dataclass(frozen=True)
class PyObj:
    """A Python object resolved from the function's globals, closure or builtins."""

    obj: object


@dataclass(frozen=True)
class ModuleRef:
    """An ``nn.Module`` instance: ``value`` is its IR value (``self`` or a prim::GetAttr)."""

    value: Value
    module: object
    interface: type | None = None   # the class annotation's jit.interface (interfaces.py)

    @property
    def is_container(self) -> bool:
        return isinstance(self.module, (ModuleList, Sequential, ModuleDict, ParameterList,
                                        ParameterDict))


@dataclass(frozen=True)
class ModuleChoice:
    """``self.layers[i]`` with ``i`` known only at run time: a call becomes a chain of prim::If,
    one branch per module of the container (beyond TorchScript, pytorch/pytorch#42885)."""

    container: ModuleRef
    index: Value


@dataclass(frozen=True)
class BoundMethod:
    """``receiver.name`` before it is called (a tensor method, a list method, a module method)."""

    receiver: object        # a Value or a ModuleRef
    name: str


@dataclass(frozen=True)
class Undefined:
    """A name bound on some paths only: using it is an error that says where it is missing."""

    name: str
    pos: Pos
    why: str
    error: Exception | None = None   # raised as is where it is used (branch types that differ)


Sugared = PyObj | ModuleRef | ModuleChoice | BoundMethod | Undefined
