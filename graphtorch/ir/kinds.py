"""Node kinds: ``op::<registry name>``, ``prim::<structural node>`` and ``py::<python builtin>``.

The kind set is open: any string in one of the three namespaces is a valid kind for the data
structure. :class:`Prim` lists the structural kinds every tool must understand; frontends add
their own prim kinds (``prim::add_int`` ...) with :func:`register_prim_kind`. The verifier checks
``op::`` kinds against the registry.
"""

from __future__ import annotations

import re
from enum import Enum

from graphtorch.errors import GraphError
from graphtorch.ops.scalar_ops import DOCS as SCALAR_DOCS
from graphtorch.ops.scalar_ops import MUTATING as SCALAR_MUTATING


class Namespace(str, Enum):
    OP = "op"       # a registry op; inputs are the schema's arguments in order
    PRIM = "prim"   # a structural node (constants, control flow, calls, containers ...)
    PY = "py"       # a Python builtin the frontend could not map onto a prim kind


class Prim(str, Enum):
    """The structural node kinds (``Prim.If == "prim::If"``)."""

    Constant = "prim::Constant"
    If = "prim::If"
    Loop = "prim::Loop"
    GetAttr = "prim::GetAttr"
    SetAttr = "prim::SetAttr"
    CallMethod = "prim::CallMethod"
    CallFunction = "prim::CallFunction"
    TupleConstruct = "prim::TupleConstruct"
    TupleUnpack = "prim::TupleUnpack"
    TupleIndex = "prim::TupleIndex"
    ListConstruct = "prim::ListConstruct"
    ListUnpack = "prim::ListUnpack"
    ListIndex = "prim::ListIndex"
    DictConstruct = "prim::DictConstruct"
    FusionGroup = "prim::FusionGroup"
    PythonOp = "prim::PythonOp"
    RaiseException = "prim::RaiseException"
    Print = "prim::Print"
    Uninitialized = "prim::Uninitialized"
    unchecked_cast = "prim::unchecked_cast"
    isinstance = "prim::isinstance"
    NumToTensor = "prim::NumToTensor"
    # The hidden node holding a block's outputs as its inputs (never printed as a node).
    Return = "prim::Return"

    def __str__(self) -> str:
        return self.value


# Prim kinds added by other parts of graphtorch (name -> one-line description).
EXTRA_PRIM_KINDS: dict[str, str] = {}

# Kinds whose nodes have effects beyond their outputs: DCE and CSE must keep them.
SIDE_EFFECT_KINDS: set[str] = {Prim.SetAttr.value, Prim.RaiseException.value, Prim.Print.value,
                               Prim.PythonOp.value, Prim.CallMethod.value,
                               Prim.CallFunction.value}

_KIND_RE = re.compile(r"^(op|prim|py)::[A-Za-z_][\w.]*$")


def register_prim_kind(name: str, doc: str = "", side_effects: bool = False) -> str:
    """Record a new prim kind (``register_prim_kind("add_int")`` -> ``"prim::add_int"``)."""
    kind = name if name.startswith("prim::") else f"prim::{name}"
    check_kind(kind)
    EXTRA_PRIM_KINDS[kind] = doc
    if side_effects:
        SIDE_EFFECT_KINDS.add(kind)
    return kind


def check_kind(kind: str) -> str:
    """Return ``kind`` as a plain string, or raise GraphError when it has no valid namespace."""
    kind = kind.value if isinstance(kind, Enum) else kind
    if not isinstance(kind, str) or not _KIND_RE.match(kind):
        raise GraphError(f"invalid node kind {kind!r}: expected 'op::<name>', 'prim::<name>' or "
                         f"'py::<name>'")
    return kind


def op_kind(op_name: str) -> str:
    """The node kind of a registry op: ``op_kind("add") == "op::add"``."""
    return check_kind(f"op::{op_name}")


def split_kind(kind: str) -> tuple[Namespace, str]:
    """``"op::add"`` -> ``(Namespace.OP, "add")``."""
    ns, _, name = check_kind(kind).partition("::")
    return Namespace(ns), name


# NOTE: in-place tensor updates (scripted `y.add_(1)`, `y[i] = v`) mutate memory other values may
# alias, so every pass must see this kind as an effect (docs/ir.md, "prim::Inplace")
INPLACE = register_prim_kind(
    "Inplace", "self <- op(self, args...) written into self's memory; the output is self",
    side_effects=True)

# The scalar prim kinds (prim::add_int ...) of the runtime's table, known to every graph reader
# whether or not the script compiler was imported (registering twice is harmless).
for _kind, _doc in SCALAR_DOCS.items():
    register_prim_kind(_kind, _doc, side_effects=_kind in SCALAR_MUTATING)
