"""THE operator registry: every tensor operation is one :class:`OpDef`, defined once.

An entry declares, side by side: name and schema; an eager kernel written against an array module
``xp`` (numpy or cupy); a meta rule (output dtype/shape/device from input metas, symbolic dims
allowed); a vjp rule written with graphtorch ops (so it serves eager autograd, higher-order
gradients and the graph autodiff pass alike); a kind with a lowering slot for fusion/codegen; and
OpInfo-style sample inputs. Composites carry a decomposition written with graphtorch ops instead
of (or besides) a kernel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum

from graphtorch.errors import GraphError
from graphtorch.ops.schema import Binder, Schema, parse_schema


class OpKind(Enum):
    ELEMENTWISE = "elementwise"   # pointwise over broadcast inputs: fusable, lowering = expression
    REDUCTION = "reduction"       # reduces dims: fusable as a reduction, lowering = combiner
    VIEW = "view"                 # output aliases the input's memory (shares its version counter)
    FACTORY = "factory"           # makes a tensor from sizes/values
    RANDOM = "random"             # draws from a generator (never CSE'd or constant-folded)
    OPAQUE = "opaque"             # anything else: matmul, conv, indexing, sort ...
    COMPOSITE = "composite"       # decomposes into other registry ops


class Promotion(Enum):
    NONE = "none"                 # the kernel decides the dtype
    DEFAULT = "default"           # PyTorch result_type over the promoted args
    INT_TO_FLOAT = "int_to_float"  # like DEFAULT, but integral results become the default float
    ALWAYS_BOOL = "always_bool"   # inputs promoted together, result is bool


class Saves(Enum):
    """What the vjp reads back, coarsely: whenever any gradient is required, these are kept.

    Prefer :func:`saved` where a value is needed for some gradients only (``mul``).
    """

    NOTHING = "nothing"
    INPUTS = "inputs"
    OUTPUTS = "outputs"
    BOTH = "both"


ANY = "*"  # in a ``saved`` rule: needed whichever input's gradient is required
RESULT = "result"  # in a ``saved`` rule: the op's outputs


@dataclass(frozen=True)
class SavedFor:
    """Which values a vjp reads, each mapped to the inputs whose gradient needs it.

    Only those values are kept alive by the backward node and version-checked; the others are
    replaced by their shape/dtype/device (a vjp may read those of any input).
    """

    rules: tuple[tuple[str, tuple[str, ...] | str], ...]


def saved(**rules: str | tuple[str, ...]) -> SavedFor:
    """``saved(self="other", other="self")``: ``self`` is kept iff ``other``'s gradient is required.

    Keys are argument names of the schema or ``result`` (the outputs); values an argument name, a
    tuple of names, or ``ANY``. Values not named are never kept. A vjp whose gradients read
    different values asks ``ctx.needs_input_grad(i)`` (every backward context provides it) and
    skips the gradients not required.
    """
    return SavedFor(tuple(rules.items()))


@dataclass
class SampleInput:
    args: tuple
    kwargs: dict = field(default_factory=dict)
    name: str = ""

    def __repr__(self) -> str:
        return f"SampleInput({self.name or ''} {len(self.args)} args, kwargs={self.kwargs})"


@dataclass(eq=False)
class OpDef:
    name: str
    schema: Schema
    kind: OpKind
    kernel: Callable | None = None
    meta: Callable | None = None
    vjp: Callable | None = None
    lowering: object | None = None
    samples: Callable[..., Iterable[SampleInput]] | None = None
    decomposition: Callable | None = None
    promotion: Promotion = Promotion.NONE
    promote_args: tuple[int, ...] | None = None
    saves: Saves | SavedFor = Saves.BOTH
    differentiable: bool = True
    torch_name: str | None = None          # how to call PyTorch for the reference comparison
    torch_ref: Callable | None = None      # or a function (torch, *args, **kwargs) -> result
    # PyTorch's grad_fn name, e.g. "MulBackward0", or a function of the bound arguments where it
    # depends on them (linear: AddmmBackward0 for 2-D inputs). Given explicitly on a composite, it
    # also names the last node of the decomposition (cross_entropy shows NllLossBackward0).
    backward_name: str | Callable[[list], str] | None = None
    doc: str = ""
    binder: Binder = field(init=False, repr=False)

    def __post_init__(self):
        self.binder = Binder(self.schema)
        if self.promote_args is None:
            self.promote_args = tuple(i for i, a in enumerate(self.schema.args)
                                      if a.type in ("Tensor", "Scalar"))
        self.tensor_args = tuple(i for i, a in enumerate(self.schema.args) if a.is_tensor)
        self.list_args = tuple(i for i, a in enumerate(self.schema.args) if a.is_tensor_list)
        self.edge_args = tuple(sorted(self.tensor_args + self.list_args))
        names = [a.name for a in self.schema.args]
        self.device_arg = names.index("device") if "device" in names else None
        self.rg_arg = names.index("requires_grad") if "requires_grad" in names else None
        self._normalize_saves(names)
        self.save_rules: dict[int, tuple] = {}
        self.names_decomposition = self.backward_name is not None
        if self.backward_name is None:
            base = "".join(p.capitalize() for p in self.name.split("_"))
            self.backward_name = f"{base}Backward0"

    def _normalize_saves(self, names: list[str]) -> None:
        """``saves`` as bit masks over argument positions, for the backward node's checks.

        ``save_inputs``: ((position, trigger mask), ...); ``save_outputs``: a trigger mask (0:
        never). A value is kept iff its trigger mask meets the mask of inputs requiring grad.
        """
        every = 0
        for i in self.edge_args:
            every |= 1 << i
        self.edge_mask = every
        s = self.saves
        if isinstance(s, Saves):
            ins = self.edge_args if s in (Saves.INPUTS, Saves.BOTH) else ()
            self.save_inputs = tuple((i, every) for i in ins)
            self.save_outputs = every if s in (Saves.OUTPUTS, Saves.BOTH) else 0
        else:
            def mask(who) -> int:
                if who == ANY:
                    return every
                m = 0
                for n in (who,) if isinstance(who, str) else who:
                    if n not in names or names.index(n) not in self.edge_args:
                        raise ValueError(f"{self.name}: saved() names {n!r}, which is not a "
                                         "tensor argument of the schema")
                    m |= 1 << names.index(n)
                return m

            ins, self.save_outputs = [], 0
            for key, who in s.rules:
                if key == RESULT:
                    self.save_outputs = mask(who)
                elif key in names and names.index(key) in self.edge_args:
                    ins.append((names.index(key), mask(who)))
                else:
                    raise ValueError(f"{self.name}: saved() key {key!r} is neither a tensor "
                                     "argument of the schema nor 'result'")
            self.save_inputs = tuple(sorted(ins))

    def save_rule(self, grad_mask: int) -> tuple:
        """(inputs kept, tensor inputs dropped, outputs kept?) for the inputs requiring grad in
        ``grad_mask``; cached per mask."""
        keep = tuple(i for i, m in self.save_inputs if m & grad_mask)
        # NOTE: a view's input shares the output's memory: its node may keep it at no cost
        drop = () if self.kind is OpKind.VIEW else tuple(
            i for i in self.edge_args if i not in keep)
        rule = (keep, drop, bool(self.save_outputs & grad_mask))
        self.save_rules[grad_mask] = rule
        return rule

    @property
    def is_composite(self) -> bool:
        return self.decomposition is not None

    @property
    def n_outputs(self) -> int:
        return len(self.schema.returns)

    def __call__(self, *args, **kwargs):
        # NOTE: graphtorch.ops.dispatch imports this module: a module-level import cycles
        from graphtorch.ops.dispatch import dispatch

        return dispatch(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<op {self.schema}>"


REGISTRY: dict[str, OpDef] = {}


def register(schema: str, kind: OpKind, **parts) -> OpDef:
    """Add one op to the registry and return its :class:`OpDef`."""
    s = parse_schema(schema)
    if s.name in REGISTRY:
        raise ValueError(f"op {s.name!r} is registered twice")
    op = OpDef(name=s.name, schema=s, kind=kind, **parts)
    REGISTRY[s.name] = op
    return op


def get(name: str) -> OpDef:
    try:
        return REGISTRY[name]
    except KeyError:
        raise GraphError(f"unknown op {name!r}: no registry entry has that name") from None
