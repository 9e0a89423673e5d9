"""The closed instruction set of a loaded graph: what each node of an archive may do.

A graph read from a file can only compute: registry ops (``op::``), the structural ``prim::``
kinds the interpreter runs (each with its arity, attributes and operand types checked here),
reads of the members the manifest declares for the exact module a value is (``prim::GetAttr``),
calls of methods and functions the archive holds (``prim::CallMethod``/``CallFunction``, with
matching arity and types), and container operations on values whose IR type is that container.
Module values never flow anywhere else (not into an op, a container, a block output or a
``prim::str``), so nothing in a graph can name or reach a Python object that is not a declared
module member, a tensor or plain data. Every violation is a FormatError naming the member, the
node and its line.
"""

from __future__ import annotations

import inspect
import re
import unicodedata

from graphtorch.archive import manifest as mf
from graphtorch.archive.values import MAX_DEVICE_INDEX
from graphtorch.device import device as Device
from graphtorch.errors import FormatError
from graphtorch.ir import types as T
from graphtorch.ir.graph import Graph
from graphtorch.ir.kinds import INPLACE, Prim
from graphtorch.ops.registry import REGISTRY
from graphtorch.ops.scalar_ops import SCALAR_OPS
from graphtorch.runtime.interpreter import METHOD_INPLACE, PRIM_HANDLERS, format_fields_problem

# The attributes each structural kind may carry (key -> Python type); any other key is refused.
_NAMED = {"name": str}
PRIM_ATTRS: dict[str, dict[str, type | tuple]] = {
    Prim.Constant.value: {"value": object},
    Prim.GetAttr.value: _NAMED, Prim.SetAttr.value: _NAMED,
    Prim.CallMethod.value: _NAMED, Prim.CallFunction.value: _NAMED,
    INPLACE: {"op": str},
    Prim.FusionGroup.value: {"subgraph": Graph},
    Prim.RaiseException.value: {"exc": str},
    Prim.isinstance.value: {"value": bool},
}

_REQUIRED_ATTRS = {Prim.Constant.value: ("value",), Prim.GetAttr.value: ("name",),
                   Prim.SetAttr.value: ("name",), Prim.CallMethod.value: ("name",),
                   Prim.CallFunction.value: ("name",), INPLACE: ("op",),
                   Prim.FusionGroup.value: ("subgraph",)}

# (inputs, outputs) of fixed-arity kinds; None: any count. Blocks: prim::If 2, prim::Loop 1.
_ARITY: dict[str, tuple[int | None, int | None]] = {
    Prim.Constant.value: (0, 1), Prim.GetAttr.value: (1, 1), Prim.SetAttr.value: (2, 0),
    Prim.TupleUnpack.value: (1, None), Prim.ListUnpack.value: (1, None),
    Prim.TupleIndex.value: (2, 1), Prim.ListIndex.value: (2, 1), "prim::DictIndex": (2, 1),
    Prim.TupleConstruct.value: (None, 1), Prim.ListConstruct.value: (None, 1),
    Prim.DictConstruct.value: (None, 1), Prim.Uninitialized.value: (0, 1),
    Prim.unchecked_cast.value: (1, 1), Prim.isinstance.value: (1, 1),
    Prim.NumToTensor.value: (1, 1), Prim.Print.value: (None, 0),
    Prim.RaiseException.value: (None, 0), INPLACE: (None, 1),
}
_BLOCKS = {Prim.If.value: 2, Prim.Loop.value: 1}

# Operand 0 of these kinds must have this IR type (the container they read or a tensor).
_TENSOR_READS = ("prim::dim", "prim::numel", "prim::dtype", "prim::device",
                 "prim::is_floating_point", "prim::requires_grad", "prim::item", "prim::tolist")
OPERAND_TYPES: dict[str, tuple[type, ...]] = {
    Prim.TupleUnpack.value: (T.TupleType,), Prim.TupleIndex.value: (T.TupleType,),
    Prim.ListUnpack.value: (T.ListType,), Prim.ListIndex.value: (T.ListType,),
    "prim::DictIndex": (T.DictType,), "prim::format": (T.StrType,),
    **{k: (T.ListType,) for k in SCALAR_OPS if k.startswith("prim::list_")},
    **{k: (T.DictType,) for k in SCALAR_OPS if k.startswith("prim::dict_")},
    **{k: (T.TensorType,) for k in _TENSOR_READS},
}
OUTPUT_TYPES: dict[str, type] = {
    Prim.TupleConstruct.value: T.TupleType, Prim.ListConstruct.value: T.ListType,
    Prim.DictConstruct.value: T.DictType,
}

# Where a module value may be used: as the object of a member read, method call or member write.
_MODULE_USES = {(Prim.GetAttr.value, 0), (Prim.CallMethod.value, 0), (Prim.SetAttr.value, 0)}

# The structural kinds a loaded graph may hold, listed (a kind the interpreter learns later is
# not loadable until its rules are written here); the scalar kinds are pure functions of plain
# data (ops/scalar_ops.py), whose input counts come from their signatures.
STRUCTURAL_PRIMS = frozenset({
    Prim.Constant.value, Prim.If.value, Prim.Loop.value, Prim.GetAttr.value, Prim.SetAttr.value,
    Prim.CallMethod.value, Prim.CallFunction.value, Prim.TupleConstruct.value,
    Prim.TupleUnpack.value, Prim.TupleIndex.value, Prim.ListConstruct.value,
    Prim.ListUnpack.value, Prim.ListIndex.value, Prim.DictConstruct.value, "prim::DictIndex",
    Prim.FusionGroup.value, Prim.RaiseException.value, Prim.Print.value,
    Prim.Uninitialized.value, Prim.unchecked_cast.value, Prim.isinstance.value,
    Prim.NumToTensor.value, "prim::size", "prim::format", INPLACE})
ALLOWED_PRIMS = (STRUCTURAL_PRIMS & set(PRIM_HANDLERS)) | set(SCALAR_OPS)


def _positional_range(fn) -> tuple[int, int | None] | None:
    """(fewest, most) positional arguments ``fn`` takes (None: any), or None when Python
    cannot say (some builtins)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return sum(p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD
                   for p in params), None
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return sum(p.default is p.empty for p in positional), len(positional)


# The input counts of the scalar prim kinds, from the functions that run them.
SCALAR_ARITY = {k: r for k, fn in SCALAR_OPS.items() if (r := _positional_range(fn)) is not None}


def is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def node_lines(text: str, graph: Graph) -> dict:
    """Node -> its line number in ``text``: the k-th node of a kind in walk order is on the
    k-th line defining that kind (the parser keeps no positions; text order is walk order)."""
    lines_of: dict[str, list[int]] = {}
    for i, line in enumerate(text.split("\n"), start=1):
        m = _KIND_ON_LINE.search(line.split("#", 1)[0])
        if m:
            lines_of.setdefault(m.group(1), []).append(i)
    out, seen = {}, {}
    for node in graph.walk():
        k = seen.get(node.kind, 0)
        seen[node.kind] = k + 1
        found = lines_of.get(node.kind, [])
        if k < len(found):
            out[node] = found[k]
    return out


_KIND_ON_LINE = re.compile(r"=\s*((?:op|prim|py)::[A-Za-z_][\w.]*)")


class ModuleInfo:
    """What the manifest declares for one module entry, as the checker asks it."""

    def __init__(self, entry: mf.ModuleEntry):
        self.entry = entry
        self.tensors = {p.name: p.key for p in entry.parameters + entry.buffers}
        self.submodules = {s.name: s for s in entry.submodules}
        self.attributes = {a.name: a for a in entry.attributes}
        self.methods = {m.name: m for m in entry.methods}

    @property
    def label(self) -> str:
        return f"{self.entry.original_name or self.entry.class_name} ({self.entry.class_name})"


class NodeRules:
    """Checks one graph of an archive node by node (see the module docstring)."""

    def __init__(self, checker, graph: Graph, text: str, meth: mf.Method,
                 module: mf.ModuleEntry | None, member: str):
        self.checker, self.graph, self.text = checker, graph, text
        self.meth, self.member = meth, member
        self.modules: dict[object, ModuleInfo] = {}      # module-typed Value -> its entry
        self.lines = node_lines(text, graph)
        if module is not None:
            self.modules[graph.inputs[0]] = checker.module_info(module)

    def fail(self, node, message: str, prefix: bool = True) -> FormatError:
        line = self.lines.get(node) if node is not None else None
        where = f"line {line}: " if line is not None else ""
        kind = f"{node.kind}: " if node is not None and prefix else ""
        return FormatError(f"{where}{kind}{message}", member=self.member)

    # -- the walk ------------------------------------------------------------------------
    def run(self) -> None:
        for v in self.graph.inputs[1 if self.modules else 0:]:
            self.no_module_type(None, v, "a graph input")
        stack = [self.graph.block]
        while stack:     # NOTE: an explicit stack: block nesting costs no recursion
            block = stack.pop()
            for v in block.inputs if block is not self.graph.block else ():
                self.no_module_type(None, v, "a block parameter")
            for node in block.nodes:
                self.node(node)
                stack.extend(node.blocks)
                sub = node.attrs.get("subgraph") if node.kind == Prim.FusionGroup.value else None
                if isinstance(sub, Graph):
                    self.fusion_subgraph(node, sub)
            for v in block.outputs:
                if v in self.modules:
                    raise self.fail(None, f"a module value (%{v.name}) is returned from a "
                                          f"block or the graph")

    def fusion_subgraph(self, node, sub: Graph) -> None:
        for inner in sub.walk():
            if inner.blocks or not inner.kind.startswith("op::") \
                    and inner.kind != Prim.Constant.value:
                raise self.fail(node, f"a fusion group may hold only ops and constants, "
                                      f"not {inner.kind}")
            self.node_kind(inner)

    def no_module_type(self, node, v, what: str) -> None:
        if isinstance(v.type, (T.ClassType, T.FunctionType)) and v not in self.modules:
            raise self.fail(node, f"{what} %{v.name} has type {v.type}: module values come "
                                  f"only from self and prim::GetAttr of a declared submodule")

    def node(self, node) -> None:
        src = node.source
        if src is not None and any(unicodedata.category(c)[0] == "C" for c in src.file):
            raise self.fail(node, f"the source location {str(src)!r} holds control or format "
                                  f"characters")
        for i, v in enumerate(node.inputs):
            if v in self.modules and (node.kind, i) not in _MODULE_USES:
                raise self.fail(node, f"the module value %{v.name} cannot be input {i} of "
                                      f"{node.kind} (modules are only read, called or written "
                                      f"by name)")
        self.node_kind(node)
        value = node.attrs.get("value") if node.kind == Prim.Constant.value else None
        if isinstance(value, Graph):
            raise self.fail(node, "a graph is not a constant value")
        if isinstance(value, Device) and value.index is not None \
                and value.index > MAX_DEVICE_INDEX:
            raise self.fail(node, f"device {value} has an index above {MAX_DEVICE_INDEX}")
        kind = node.kind
        if kind == Prim.GetAttr.value:
            self.get_attr(node)
        elif kind == Prim.SetAttr.value:
            self.set_attr(node)
        elif kind == Prim.CallMethod.value:
            self.call_method(node)
        elif kind == Prim.CallFunction.value:
            self.call_function(node)
        for v in node.outputs:
            self.no_module_type(node, v, "the output")

    def node_kind(self, node) -> None:
        kind = node.kind
        if kind.startswith("op::"):
            if kind[4:] not in REGISTRY:
                raise self.fail(node, f"unknown op {kind!r}: this graphtorch has no such "
                                      f"operator (the archive may come from a newer graphtorch)",
                                prefix=False)
            if node.attrs:
                raise self.fail(node, f"an op node carries no attributes, got "
                                      f"{sorted(node.attrs)}")
            if node.blocks:
                raise self.fail(node, "an op node has no blocks")
            return
        if kind == Prim.PythonOp.value:
            raise self.fail(node, "a Python eager fallback cannot be loaded from an archive")
        if kind not in ALLOWED_PRIMS:
            raise self.fail(node, "not a node kind a loaded graph may hold")
        self.attrs(node)
        arity = _ARITY.get(kind)
        if arity is not None:
            n_in, n_out = arity
            if n_in is not None and len(node.inputs) != n_in:
                raise self.fail(node, f"takes {n_in} input(s), got {len(node.inputs)}")
            if n_out is not None and len(node.outputs) != n_out:
                raise self.fail(node, f"has {n_out} output(s), got {len(node.outputs)}")
        elif kind in SCALAR_OPS:
            if len(node.outputs) > 1:
                raise self.fail(node, f"has at most one output, got {len(node.outputs)}")
            lo, hi = SCALAR_ARITY.get(kind, (0, None))
            if not (lo <= len(node.inputs) and (hi is None or len(node.inputs) <= hi)):
                want = f"{lo}" if lo == hi else f"{lo} or more" if hi is None else f"{lo}-{hi}"
                raise self.fail(node, f"takes {want} input(s), got {len(node.inputs)}")
        if kind == Prim.CallMethod.value and not node.inputs:
            raise self.fail(node, "takes the module to call as its first input, got none")
        if kind == Prim.DictConstruct.value and len(node.inputs) % 2:
            raise self.fail(node, "takes key, value pairs, got an odd number of inputs")
        if len(node.blocks) != _BLOCKS.get(kind, 0):
            raise self.fail(node, f"has {_BLOCKS.get(kind, 0)} block(s), got "
                                  f"{len(node.blocks)}")
        self.operand_types(node)

    def attrs(self, node) -> None:
        allowed = PRIM_ATTRS.get(node.kind, {})
        for key, value in node.attrs.items():
            want = allowed.get(key)
            if want is None:
                raise self.fail(node, f"unexpected attribute {key!r}")
            if want is not object and not isinstance(value, want):
                raise self.fail(node, f"attribute {key!r} must be a {want.__name__}, got "
                                      f"{type(value).__name__}")
        for key in _REQUIRED_ATTRS.get(node.kind, ()):
            if key not in node.attrs:
                raise self.fail(node, f"needs the attribute {key!r}")
        if node.kind == INPLACE:
            op = node.attrs["op"]
            if op not in REGISTRY and op not in METHOD_INPLACE:
                raise self.fail(node, f"unknown in-place op {op!r}")

    def operand_types(self, node) -> None:
        want = OPERAND_TYPES.get(node.kind)
        if want is not None:
            if not node.inputs:
                raise self.fail(node, "needs an operand, got none")
            got = node.inputs[0].type
            if not isinstance(got, want):
                names = " or ".join(w.__name__.replace("Type", "") for w in want)
                raise self.fail(node, f"operand %{node.inputs[0].name} must be a {names}, but "
                                      f"its IR type is {got}")
        out = OUTPUT_TYPES.get(node.kind)
        if out is not None and node.outputs and not isinstance(node.outputs[0].type, out):
            raise self.fail(node, f"makes a {out.__name__.replace('Type', '')}, but its output "
                                  f"is declared {node.outputs[0].type}")
        if node.kind == "prim::format":
            src = node.inputs[0].node
            if src is not None and src.kind == Prim.Constant.value:
                problem = format_fields_problem(src.attrs.get("value"))
                if problem:
                    raise self.fail(node, problem)
        self.element_types(node)

    def element_types(self, node) -> None:
        """What a container node yields is declared no narrower than what the container holds,
        and what it makes holds what it was given."""
        kind, t = node.kind, node.inputs[0].type if node.inputs else None
        if kind == Prim.TupleUnpack.value:
            if len(t.elems) != len(node.outputs):
                raise self.fail(node, f"unpacks a {t} into {len(node.outputs)} value(s)")
            pairs = list(zip(t.elems, node.outputs))
        elif kind in (Prim.ListUnpack.value, Prim.ListIndex.value):
            pairs = [(t.elem, o) for o in node.outputs]
        elif kind == "prim::DictIndex":
            pairs = [(t.value, o) for o in node.outputs]
        elif kind == Prim.TupleConstruct.value:
            out = node.outputs[0].type
            if len(out.elems) != len(node.inputs):
                raise self.fail(node, f"makes a tuple of {len(node.inputs)} value(s) declared "
                                      f"{out}")
            pairs = [(v.type, e) for v, e in zip(node.inputs, out.elems)]
            self._subtypes(node, pairs, "element")
            return
        elif kind == Prim.ListConstruct.value:
            elem = node.outputs[0].type.elem
            self._subtypes(node, [(v.type, elem) for v in node.inputs], "element")
            return
        else:
            return
        self._subtypes(node, [(a, o.type) for a, o in pairs], "result")

    def _subtypes(self, node, pairs, what: str) -> None:
        # NOTE: a producer may refine (the tracer declares the sizes it saw for an element of a
        # Tensor[], one element's sizes for all); only unrelated types (a Tensor read as an
        # int) contradict the container
        for i, (have, declared) in enumerate(pairs):
            if isinstance(have, T.TensorType) and isinstance(declared, T.TensorType):
                continue
            if not (T.is_subtype(have, declared) or T.is_subtype(declared, have)):
                raise self.fail(node, f"{what} {i} is declared {declared}, but the value is "
                                      f"{have}")

    # -- members and calls ---------------------------------------------------------------
    def target(self, node, what: str) -> ModuleInfo:
        if not node.inputs or node.inputs[0] not in self.modules:
            got = "no input" if not node.inputs else f"a value of type {node.inputs[0].type}"
            raise self.fail(node, f"{what} on {got}: only module values (self and its declared "
                                  f"submodules) have members")
        name = node.attrs.get("name")
        if not isinstance(name, str) or is_dunder(name) or not name:
            raise self.fail(node, f"{what} of {name!r}: never a dunder or empty name")
        return self.modules[node.inputs[0]]

    def get_attr(self, node) -> None:
        info = self.target(node, "prim::GetAttr")
        name = node.attrs["name"]
        out = node.outputs[0]
        needle = f'name="{name}"'
        if name in info.tensors:
            self.checker.check_tensor_type(out.type, info.tensors[name],
                                           f"{info.entry.original_name}.{name}", self.text,
                                           needle, self.member)
        elif name in info.submodules:
            sub = info.submodules[name]
            if not (isinstance(out.type, T.ClassType) and out.type.name == sub.class_name):
                raise self.fail(node, f"submodule {name!r} is declared {out.type} in the IR but "
                                      f"the manifest says {sub.class_name}")
            self.modules[out] = self.checker.module_info(sub)
        elif name == "training":  # NOTE: every module has it; the manifest records it
            if not isinstance(out.type, T.BoolType):
                raise self.fail(node, f"reads 'training' as {out.type}; it is a bool")
        elif name in info.attributes:
            self.checker.check_attribute(out.type, info, name, self.text, needle, self.member)
        else:
            raise self.fail(node, f"reads {name!r}, which module {info.label} does not have "
                                  f"(among its declared parameters, buffers, attributes and "
                                  f"submodules)")

    def set_attr(self, node) -> None:
        info = self.target(node, "prim::SetAttr")
        name = node.attrs["name"]
        if name not in info.attributes and name not in info.tensors and name != "training":
            raise self.fail(node, f"writes {name!r}, which is not a declared parameter, buffer "
                                  f"or attribute of module {info.label}")
        want = T.TensorType if name in info.tensors else \
            T.BoolType if name == "training" else None
        if want is not None and not isinstance(node.inputs[1].type, want):
            raise self.fail(node, f"writes a {node.inputs[1].type} into {name!r}, which holds "
                                  f"a {want.__name__.replace('Type', '').lower()}")

    def call_method(self, node) -> None:
        info = self.target(node, "prim::CallMethod")
        name = node.attrs["name"]
        meth = info.methods.get(name)
        if meth is None:
            raise self.fail(node, f"calls {name!r}, which module {info.label} does not have "
                                  f"among its methods {sorted(info.methods)}")
        self.check_call(node, self.checker.graph_of(meth.code), node.inputs, f"method {name}")

    def call_function(self, node) -> None:
        name = node.attrs["name"]
        f = self.checker.functions.get(name)
        if f is None:
            raise self.fail(node, f"calls {name!r}, which the archive does not hold")
        self.check_call(node, self.checker.graph_of(f.code), node.inputs, f"function {name}")

    def check_call(self, node, callee: Graph, args, what: str) -> None:
        if len(args) != len(callee.inputs):
            raise self.fail(node, f"passes {len(args)} argument(s) to {what}, which takes "
                                  f"{len(callee.inputs)}")
        if len(node.outputs) != len(callee.outputs):
            raise self.fail(node, f"expects {len(node.outputs)} result(s) from {what}, which "
                                  f"returns {len(callee.outputs)}")
        for i, (a, p) in enumerate(zip(args, callee.inputs)):
            if i == 0 and a in self.modules:
                continue   # self: the callee's check ties it to the manifest class
            if not T.is_subtype(a.type, p.type) and not _both_tensors(a.type, p.type):
                raise self.fail(node, f"argument {i} of {what} is {a.type}, but the callee "
                                      f"takes {p.type}")
        for i, (o, r) in enumerate(zip(node.outputs, callee.outputs)):
            if not T.is_subtype(r.type, o.type) and not _both_tensors(r.type, o.type):
                raise self.fail(node, f"result {i} of {what} is declared {o.type}, but the "
                                      f"callee returns {r.type}")


def _both_tensors(a: T.Type, p: T.Type) -> bool:
    """A tensor passed where a callee declares a refined tensor (a traced method's inputs carry
    the dtype and sizes seen while tracing): the call is well typed, refinements are not a
    contract between graphs."""
    return isinstance(a, T.TensorType) and isinstance(p, T.TensorType)
