"""Validation of the IR members of an archive against the registry, the manifest and the tensors.

A graph that parses can still be wrong for this archive: an op this graphtorch does not have
(a newer producer), a ``prim::PythonOp`` (never loadable), a call of a function the archive does
not hold, a ``prim::GetAttr`` of a slot the module lacks, or a tensor whose dtype or shape differs
from the type the IR declares for it. Each becomes a FormatError naming the member and line.
"""

from __future__ import annotations

from graphtorch.archive import manifest as mf
from graphtorch.errors import FormatError, GraphtorchError, IRParseError

# NOTE: the IR parser reads ~10 MB/s of node text, but malformed text falls back to the slower
# lark parser (~0.3 MB/s) for its precise error, so both caps bound a hostile member's cost
# (seconds, not minutes). The writer refuses graphs beyond them, so no archive graphtorch writes
# is one it cannot read.
MAX_IR_BYTES = 16 << 20
MAX_IR_LINE_BYTES = 1 << 20


def ir_size_problem(text: str) -> str | None:
    """Why IR text is beyond the caps, or None (checked before parsing, and by the writer)."""
    size = len(text.encode("utf-8"))
    if size > MAX_IR_BYTES:
        return f"the IR text is {size} bytes, above the limit of {MAX_IR_BYTES} for one graph"
    for number, line in enumerate(text.split("\n"), start=1):
        if len(line) > MAX_IR_LINE_BYTES:
            return (f"line {number} of the IR text is {len(line)} characters long, above the "
                    f"limit of {MAX_IR_LINE_BYTES} for one line")
    return None


def parse_member(archive, member: str):
    """Parse one IR member; parse failures carry the member, line and column."""
    from graphtorch.ir.parser import parse_graph

    raw = archive.read(member, MAX_IR_BYTES)
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(f"IR text is not UTF-8: {e}", member=member) from None
    problem = ir_size_problem(text)
    if problem:
        raise FormatError(problem, member=member)
    try:
        return parse_graph(text), text
    except IRParseError as e:
        where = f"line {e.line}, column {e.column}: " if e.line is not None else ""
        msg = str(e).split(" (line ")[0]
        raise FormatError(f"IR parse error at {where}{msg}", member=member) from None
    except GraphtorchError as e:
        raise FormatError(f"invalid IR: {e}", member=member) from None
    except (RecursionError, ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
        # NOTE: the parser reads hostile text; a crash in it must still be a FormatError.
        raise FormatError(f"IR text could not be parsed ({type(e).__name__}: {e})",
                          member=member) from None


def _line_of(text: str, needle: str) -> str:
    for i, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return f"line {i}: "
    return ""


class GraphChecker:
    def __init__(self, loaded):
        self.loaded = loaded
        self.manifest: mf.Manifest = loaded.manifest
        self.functions = {f.name: f for f in self.manifest.functions}

    def check_all(self):
        """Yield (member, graph) for every method and function, each fully checked."""
        seen: set[str] = set()
        if self.manifest.root is not None:
            for path, entry in self.manifest.root.walk():
                for meth in entry.methods:
                    self._claim(meth.code, seen)
                    yield meth.code, self.check(meth, entry, path)
        for f in self.manifest.functions:
            self._claim(f.code, seen)
            yield f.code, self.check(f, None, None)

    def _claim(self, member: str, seen: set[str]) -> None:
        if member in seen:
            raise FormatError(f"IR member {member!r} is claimed by two methods",
                              member=mf.MANIFEST)
        seen.add(member)

    def check(self, meth: mf.Method, module: mf.ModuleEntry | None, path: str | None):
        from graphtorch.ir.types import ClassType

        member = meth.code
        graph, text = parse_member(self.loaded.archive, member)
        inputs = graph.inputs
        n_self = 0 if module is None else 1
        if module is not None:
            if not inputs or not isinstance(inputs[0].type, ClassType) \
                    or inputs[0].type.name != module.class_name:
                got = str(inputs[0].type) if inputs else "no inputs"
                raise FormatError(f"the graph's first input must be self : {module.class_name} "
                                  f"(the manifest's class), got {got}", member=member)
        if len(inputs) - n_self != len(meth.arg_names):
            raise FormatError(f"the graph takes {len(inputs) - n_self} arguments but the "
                              f"manifest names {len(meth.arg_names)}: {meth.arg_names}",
                              member=member)
        self._check_nodes(graph, text, meth, member)
        if module is not None:
            self._check_self_attrs(graph, text, module, member)
        self._verify(graph, member)
        return graph

    def _check_nodes(self, graph, text: str, meth: mf.Method, member: str) -> None:
        from graphtorch.ir.graph import Graph, TensorRef
        from graphtorch.ir.kinds import Prim
        from graphtorch.ops.registry import REGISTRY

        def visit(g) -> None:
            for node in g.walk():
                kind = node.kind
                if kind.startswith("op::") and kind[4:] not in REGISTRY:
                    raise FormatError(f"{_line_of(text, kind)}unknown op {kind!r}: this "
                                      f"graphtorch has no such operator (the archive may come "
                                      f"from a newer graphtorch)", member=member)
                if kind == Prim.PythonOp.value:
                    raise FormatError(f"{_line_of(text, kind)}prim::PythonOp (a Python eager "
                                      "fallback) cannot be loaded from an archive", member=member)
                if kind == Prim.CallFunction.value:
                    name = node.attrs.get("name")
                    if name not in self.functions:
                        raise FormatError(f"{_line_of(text, str(name))}prim::CallFunction "
                                          f"calls {name!r}, which the archive does not hold",
                                          member=member)
                value = node.attrs.get("value") if kind == Prim.Constant.value else None
                if isinstance(value, TensorRef):
                    self._bind_constant(g, node, value.name, text, meth, member)
                for attr in node.attrs.values():
                    if isinstance(attr, Graph):
                        visit(attr)

        visit(graph)

    def _bind_constant(self, graph, node, name: str, text: str, meth: mf.Method,
                       member: str) -> None:
        key = meth.tensor_constants.get(name)
        if key is None:
            raise FormatError(f"{_line_of(text, f'<tensor:{name}>')}tensor constant {name!r} "
                              f"has no entry in the manifest's tensor_constants", member=member)
        self._check_tensor_type(node.output.type, key, f"tensor constant {name!r}", text,
                                f"<tensor:{name}>", member)
        graph.tensor_constants[name] = self.loaded.tensors.tensor(key, f"{member}:{name}")

    def _check_tensor_type(self, ir_type, key: str, what: str, text: str, needle: str,
                           member: str) -> None:
        from graphtorch import dtypes
        from graphtorch.ir.types import TensorType, is_subtype

        entry = self.loaded.tensors.entry(key, what)
        actual = TensorType(dtypes.from_numpy(entry.numpy_dtype), entry.shape)
        declared = ir_type
        if isinstance(declared, TensorType) and declared.device is not None:
            declared = TensorType(declared.dtype, declared.shape)  # map_location may move it
        if not is_subtype(actual, declared):
            raise FormatError(f"{_line_of(text, needle)}{what} is declared {ir_type} in the IR "
                              f"but the tensors member holds {actual} under key {key!r}",
                              member=member)

    def _check_self_attrs(self, graph, text: str, module: mf.ModuleEntry, member: str) -> None:
        from graphtorch.ir.kinds import Prim
        from graphtorch.ir.types import ClassType

        tensors = {p.name: p.key for p in module.parameters + module.buffers}
        subs = {s.name: s for s in module.submodules}
        attrs = {a.name: a for a in module.attributes}
        self_value = graph.inputs[0]
        for use in self_value.uses:
            node = use.node
            if node.kind != Prim.GetAttr.value:
                continue
            name = node.attrs.get("name")
            needle = f'name="{name}"'
            out = node.outputs[0].type if node.outputs else None
            if name in tensors:
                self._check_tensor_type(out, tensors[name], f"{module.original_name}.{name}",
                                        text, needle, member)
            elif name in subs:
                want = subs[name].class_name
                if not (isinstance(out, ClassType) and out.name == want):
                    raise FormatError(f"{_line_of(text, needle)}submodule {name!r} is declared "
                                      f"{out} in the IR but the manifest says {want}",
                                      member=member)
            elif name == "training":  # NOTE: every module has it; the manifest records it
                if out is not None and str(out) != "bool":
                    raise FormatError(f"{_line_of(text, needle)}prim::GetAttr reads 'training' "
                                      f"as {out}; it is a bool", member=member)
            elif name in attrs:
                value = attrs[name].value
                key = value.get("tensor") if isinstance(value, dict) else None
                if isinstance(key, str):
                    self._check_tensor_type(out, key, f"{module.original_name}.{name}", text,
                                            needle, member)
            else:
                raise FormatError(f"{_line_of(text, needle)}prim::GetAttr reads {name!r}, which "
                                  f"module {module.original_name} ({module.class_name}) does "
                                  f"not have", member=member)

    def _verify(self, graph, member: str) -> None:
        try:
            from graphtorch.ir.verifier import verify
        except ImportError:  # pragma: no cover - the verifier lands with the IR
            return
        try:
            verify(graph)
        except GraphtorchError as e:
            raise FormatError(f"the graph does not verify: {e}", member=member) from None
