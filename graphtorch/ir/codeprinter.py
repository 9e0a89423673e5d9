"""A graph as Python-like source: what ``ScriptModule.code`` and ``ScriptFunction.code`` show.

The text is for people (TorchScript's ``.code``): prim::If prints as ``if``/``else`` assigning the
block outputs, prim::Loop as ``for ... in range(...)`` or ``while``, registry ops as
``torch.<name>(...)`` calls, constants inline. It is not parsed back; the IR text form is.
"""

from __future__ import annotations

import re

from graphtorch.ir import types as T
from graphtorch.ir.effects import has_side_effects
from graphtorch.ir.graph import Block, Graph, Node, Value
from graphtorch.ir.kinds import Prim
from graphtorch.ir.printer import format_attr, value_names

_INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/", "floordiv": "//", "mod": "%",
          "pow": "**", "eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
          "is": "is", "is_not": "is not", "in": "in", "not_in": "not in", "bitand": "&",
          "bitor": "|", "bitxor": "^", "lshift": "<<", "rshift": ">>"}
_INT_MAX = 2**63 - 1
# scalar prim kinds printed as the Python builtin they mean: prim::len(x) -> len(x)
_BUILTIN_CALLS = frozenset({"bool", "int", "float", "str", "len", "min", "max", "abs", "sum",
                            "list"})
_TENSOR_METHODS = frozenset({"size", "dim", "numel", "item", "tolist"})


def annotation(t) -> str:
    """A type as a Python annotation (``Tuple[Tensor, Tensor]``), as TorchScript's .code shows."""
    if isinstance(t, T.TensorType):
        return "Tensor"
    if isinstance(t, T.TupleType):
        return "Tuple[" + ", ".join(annotation(e) for e in t.elems) + "]"
    if isinstance(t, T.ListType):
        return f"List[{annotation(t.elem)}]"
    if isinstance(t, T.OptionalType):
        return f"Optional[{annotation(t.elem)}]"
    if isinstance(t, T.DictType):
        return f"Dict[{annotation(t.key)}, {annotation(t.value)}]"
    if isinstance(t, T.NoneType):
        return "None"
    if isinstance(t, T.NumberType):
        return "number"
    if isinstance(t, T.DTypeType):
        return "int"
    return str(t)


def python_code(graph: Graph, name: str = "forward") -> str:
    """Python-like source of ``graph`` as a function ``name`` (ends with a newline)."""
    return _CodePrinter(graph).function(name)


class _CodePrinter:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.names = _unique_identifiers(value_names(graph))
        self.lines: list[str] = []
        self.inlined: dict[Value, str] = {}

    def ref(self, v: Value) -> str:
        if v.is_constant and not v.uses or v.is_constant and v.node.attrs.get("value") is not None:
            return self.constant(v)
        if v.is_constant:
            return "None"
        if v in self.inlined:
            return self.inlined[v]
        return self.names.get(v, "_undefined")

    def inlinable(self, n: Node) -> bool:
        """A pure one-output node used once, later in the same block: print it at its use."""
        if len(n.outputs) != 1 or n.blocks or not _pure(n):
            return False
        uses = n.outputs[0].uses
        if len(uses) != 1:
            return False
        user = uses[0].node
        if user.block is not n.block or user.kind == Prim.Loop.value:
            return False
        # NOTE: a loop body's results are assigned to the carried names one by one; an inlined
        # expression reading a carried name could see the already-updated value.
        owner = n.block.owner
        if user is n.block.return_node and owner is not None and owner.kind == Prim.Loop.value:
            return False
        # NOTE: never move a read past a node that may write (an in-place update, a call)
        m = n.next
        while m is not None and m is not user:
            if m.blocks or not _pure(m):
                return False
            m = m.next
        return True

    def structure(self, v: Value):
        """A key built from constants and TupleConstructs as nested Python data; computed parts
        stand as their expression text."""
        if v.is_constant:
            return self.graph.constant_value(v)
        if v.node is not None and v.node.kind == Prim.TupleConstruct.value:
            return tuple(self.structure(x) for x in v.node.inputs)
        return _Expr(self.ref(v))

    def subscript(self, n: Node) -> str | None:
        """``x[1:n, ..., None, idx]`` for an op::index node (its structured key)."""
        key = self.structure(n.inputs[1]) if len(n.inputs) > 1 else None
        if not isinstance(key, tuple):
            return None
        tensors = n.inputs[2].node if len(n.inputs) > 2 and n.inputs[2].node else None
        parts = []
        for entry in key:
            if not isinstance(entry, tuple) or not entry:
                return None
            kind, *rest = entry
            if kind == "int":
                parts.append(str(rest[0]))
            elif kind == "slice":
                lo, hi, step = (("" if x is None else str(x)) for x in rest)
                parts.append(f"{lo}:{hi}" + (f":{step}" if step else ""))
            elif kind == "none":
                parts.append("None")
            elif kind == "ellipsis":
                parts.append("...")
            elif kind == "tensor" and tensors is not None and tensors.kind in (
                    Prim.ListConstruct.value,) and rest[0] < len(tensors.inputs):
                parts.append(self.ref(tensors.inputs[rest[0]]))
            else:
                return None
        return ", ".join(parts) if parts else "()"

    def constant(self, v: Value) -> str:
        value = v.node.attrs.get("value")
        if isinstance(value, str):
            return repr(value)
        text = format_attr(value)
        return text if not text.startswith("<") else f"CONSTANTS.{self.names.get(v, 'c')}"

    def function(self, name: str) -> str:
        params = ", ".join(self.names[p] if isinstance(p.type, T.ClassType)
                           else f"{self.names[p]}: {annotation(p.type)}"
                           for p in self.graph.block.inputs)
        outs = self.graph.outputs
        ret = (annotation(outs[0].type) if len(outs) == 1
               else "Tuple[" + ", ".join(annotation(v.type) for v in outs) + "]")
        self.lines.append(f"def {name}({params}) -> {ret}:")
        self.block(self.graph.block, 1)
        self.emit(1, "return " + ", ".join(self.ref(v) for v in outs))
        return "\n".join(self.lines) + "\n"

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("  " * depth + text)

    def block(self, b: Block, depth: int) -> int:
        start = len(self.lines)
        for n in b.nodes:
            self.node(n, depth)
        return len(self.lines) - start

    def assign_block_outputs(self, b: Block, targets: list[Value], depth: int) -> None:
        for t, v in zip(targets, b.outputs):
            self.emit(depth, f"{self.names[t]} = {self.ref(v)}")

    def node(self, n: Node, depth: int) -> None:
        if n.kind == Prim.Constant.value:
            return
        if n.kind == Prim.If.value:
            self.emit(depth, f"if {self.ref(n.inputs[0])}:")
            for i, b in enumerate(n.blocks):
                if i == 1:
                    self.emit(depth, "else:")
                before = len(self.lines)
                self.block(b, depth + 1)
                self.assign_block_outputs(b, n.outputs, depth + 1)
                if len(self.lines) == before:
                    self.emit(depth + 1, "pass")
            return
        if n.kind == Prim.Loop.value:
            self.loop(n, depth)
            return
        rhs = self.expression(n)
        if self.inlinable(n):
            self.inlined[n.outputs[0]] = _parenthesize(rhs)
            return
        outs = [self.names[o] for o in n.outputs]
        if not outs or all(o.type.__class__.__name__ == "NoneType" and not o.uses
                           for o in n.outputs):
            self.emit(depth, rhs)
        else:
            self.emit(depth, f"{', '.join(outs)} = {rhs}")

    def loop(self, n: Node, depth: int) -> None:
        trip, cond0, *init = n.inputs
        b = n.blocks[0]
        counter, *carried = b.inputs
        for p, v in zip(carried, init):
            self.emit(depth, f"{self.names[p]} = {self.ref(v)}")
        endless = trip.is_constant and self.graph.constant_value(trip) == _INT_MAX
        if endless:
            self.emit(depth, f"{self.names[counter]} = 0")
            self.emit(depth, f"_continue = {self.ref(cond0)}")
            self.emit(depth, "while _continue:")
        else:
            if not (cond0.is_constant and self.graph.constant_value(cond0) is True):
                self.emit(depth, f"if {self.ref(cond0)}:")
                depth += 1
            self.emit(depth, f"for {self.names[counter]} in range({self.ref(trip)}):")
        self.block(b, depth + 1)
        cond, *outs = b.outputs
        for p, v in zip(carried, outs):
            if p is not v:
                self.emit(depth + 1, f"{self.names[p]} = {self.ref(v)}")
        if endless:
            self.emit(depth + 1, f"{self.names[counter]} += 1")
            self.emit(depth + 1, f"_continue = {self.ref(cond)}")
        elif not (cond.is_constant and self.graph.constant_value(cond) is True):
            self.emit(depth + 1, f"if not {self.ref(cond)}:")
            self.emit(depth + 2, "break")
        if not b.nodes and not outs:
            self.emit(depth + 1, "pass")
        depth -= 0 if endless or self.ref(cond0) == "True" else 1
        for o, p in zip(n.outputs, carried):
            self.emit(depth, f"{self.names[o]} = {self.names[p]}")

    def expression(self, n: Node) -> str:
        args = [self.ref(v) for v in n.inputs]
        kind = n.kind
        if kind == Prim.GetAttr.value:
            return f"{args[0]}.{n.attrs['name']}"
        if kind == Prim.SetAttr.value:
            return f"{args[0]}.{n.attrs['name']} = {args[1]}"
        if kind == Prim.CallMethod.value:
            return f"({args[0]}).{n.attrs['name']}({', '.join(args[1:])})"
        if kind == Prim.CallFunction.value:
            return f"{n.attrs['name']}({', '.join(args)})"
        if kind == Prim.PythonOp.value:
            return f"{n.attrs.get('name', 'python')}({', '.join(args)})  # eager Python"
        if kind in (Prim.TupleConstruct.value, Prim.ListConstruct.value):
            inner = ", ".join(args) + ("," if len(args) == 1 and
                                       kind == Prim.TupleConstruct.value else "")
            return f"({inner})" if kind == Prim.TupleConstruct.value else f"[{inner}]"
        if kind in (Prim.TupleUnpack.value, Prim.ListUnpack.value, Prim.unchecked_cast.value):
            return args[0]
        if kind == Prim.TupleIndex.value:
            return f"{args[0]}[{args[1]}]"
        if kind == Prim.RaiseException.value:
            return f"raise {n.attrs.get('exc', 'Exception')}({args[0] if args else ''})"
        if kind == Prim.Print.value:
            return f"print({', '.join(args)})"
        if kind == Prim.Uninitialized.value:
            return "uninitialized()"
        ns, _, name = kind.partition("::")
        kwargs = [f"{k}={format_attr(v)}" for k, v in n.attrs.items() if k != "value"
                  and not callable(v)]
        if ns == "op":
            if name == "index":
                sub = self.subscript(n)
                if sub is not None:
                    return f"{_parenthesize(args[0])}[{sub}]"
            return f"torch.{name}({', '.join(args + kwargs)})"
        if name in _INFIX and len(args) == 2:
            return f"{args[0]} {_INFIX[name]} {args[1]}"
        if name in _BUILTIN_CALLS:
            return f"{name}({', '.join(args)})"
        if name in _TENSOR_METHODS and args:
            return f"{args[0]}.{name}({', '.join(args[1:])})"
        if name == "not":
            return f"not {args[0]}"
        return f"{ns}.{name}({', '.join(args + kwargs)})"


def _identifier(name: str) -> str:
    name = re.sub(r"\W", "_", name)
    return f"_{name}" if name[:1].isdigit() else name


class _Expr(str):
    """An expression inside a structured key (printed as is, not as a quoted string)."""

    def __repr__(self) -> str:
        return str(self)


def _unique_identifiers(printed: dict) -> dict:
    """Python identifiers for the printed value names, never two values with one name."""
    taken: set[str] = set()
    out = {}
    for v, n in printed.items():
        base = _identifier(n)
        name, i = base, 0
        while name in taken:
            name = f"{base}_{i}"
            i += 1
        taken.add(name)
        out[v] = name
    return out


# kinds whose outputs always get a name, even when used once
_NAMED_KINDS = frozenset({Prim.Uninitialized.value, Prim.TupleUnpack.value, Prim.ListUnpack.value})


def _pure(n: Node) -> bool:
    """Whether ``n``'s expression may be printed at its single use instead of named: no side
    effects (the IR's effects query, ir/effects.py) and not a kind that is always named."""
    return n.kind not in _NAMED_KINDS and not has_side_effects(n)


def _parenthesize(expr: str) -> str:
    """Wrap an infix expression so it can stand as an operand."""
    if re.fullmatch(r"[\w.]+(\(.*\)|\[.*\])?", expr) or expr.startswith(("(", "[")):
        return expr
    return f"({expr})"
