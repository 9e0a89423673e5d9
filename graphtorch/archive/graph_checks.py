"""Validation of the IR members of an archive against the registry, the manifest and the tensors.

A graph that parses can still be wrong for this archive: an op this graphtorch does not have
(a newer producer), a ``prim::PythonOp`` (never loadable), a call of a function the archive does
not hold, a ``prim::GetAttr`` of a slot the module lacks, or a tensor whose dtype or shape differs
from the type the IR declares for it. Each becomes a FormatError naming the member and line.
"""

from __future__ import annotations

from graphtorch import dtypes
from graphtorch.archive import manifest as mf
from graphtorch.archive.instruction_set import ModuleInfo, NodeRules
from graphtorch.archive.values import MAX_DEVICE_INDEX
from graphtorch.errors import FormatError, GraphtorchError, IRParseError
from graphtorch.ir import types as T
from graphtorch.ir.graph import TensorRef
from graphtorch.ir.kinds import Prim
from graphtorch.ir.nesting import nesting_problem as ir_nesting_problem
from graphtorch.ir.parser import parse_graph
from graphtorch.ir.verifier import verify

# NOTE: the IR parser reads ~10 MB/s of node text, but malformed text falls back to the slower
# lark parser (~0.3 MB/s) for its precise error, so both caps bound a hostile member's cost
# (seconds, not minutes). The writer refuses graphs beyond them, so no archive graphtorch writes
# is one it cannot read.
MAX_IR_BYTES = 16 << 20
MAX_IR_LINE_BYTES = 1 << 20
# Whole-archive caps: the IR text of all members together, and the nodes of all graphs.
MAX_ARCHIVE_IR_BYTES = 64 << 20
MAX_ARCHIVE_NODES = 1_000_000
# Blocks, brackets and types nest at most this deep in an archive (ir/nesting.py scans the text
# before parsing; the parsers, the verifier and the passes then never meet a deeper nesting).
MAX_NESTING = 32


def nesting_problem(text: str) -> str | None:
    """Why ``text`` nests deeper than MAX_NESTING (or holds an overlong number), or None."""
    found = ir_nesting_problem(text, MAX_NESTING)
    return None if found is None else f"line {found[0]}: {found[1]}"


def ir_size_problem(text: str) -> str | None:
    """Why IR text is beyond the caps, or None (checked before parsing, and by the writer)."""
    size = len(text.encode("utf-8"))
    if size > MAX_IR_BYTES:
        return f"the IR text is {size} bytes, above the limit of {MAX_IR_BYTES} for one graph"
    for number, line in enumerate(text.split("\n"), start=1):
        if len(line) > MAX_IR_LINE_BYTES:
            return (f"line {number} of the IR text is {len(line)} characters long, above the "
                    f"limit of {MAX_IR_LINE_BYTES} for one line")
    return nesting_problem(text)


def parse_member(archive, member: str):
    """Parse one IR member; parse failures carry the member, line and column."""
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


def count_nodes(graph) -> int:
    """Nodes of ``graph`` and of every nested block and subgraph (no recursion)."""
    n, stack = 0, [graph.block]
    while stack:
        block = stack.pop()
        for node in block.nodes:
            n += 1
            stack.extend(node.blocks)
            sub = node.attrs.get("subgraph")
            if sub is not None and hasattr(sub, "block"):
                stack.append(sub.block)
    return n


def type_depth(t) -> int:
    """How deeply ``t`` nests (no recursion)."""
    depth, stack = 0, [(t, 1)]
    while stack:
        t, d = stack.pop()
        depth = max(depth, d)
        if isinstance(t, (T.ListType, T.OptionalType)):
            stack.append((t.elem, d + 1))
        elif isinstance(t, T.TupleType):
            stack.extend((e, d + 1) for e in t.elems)
        elif isinstance(t, T.DictType):
            stack.extend(((t.key, d + 1), (t.value, d + 1)))
        elif isinstance(t, T.UnionType):
            stack.extend((m, d + 1) for m in t.members)
    return depth


def _line_of(text: str, needle: str) -> str:
    for i, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return f"line {i}: "
    return ""


class GraphChecker:
    """Parses every IR member of an archive (within the caps), then checks each graph against
    the closed instruction set (instruction_set.py), the manifest and the tensors."""

    def __init__(self, loaded):
        self.loaded = loaded
        self.manifest: mf.Manifest = loaded.manifest
        self.functions = {f.name: f for f in self.manifest.functions}
        self._infos: dict[int, ModuleInfo] = {}
        self._parsed: dict[str, tuple[object, str]] = {}
        root = self.manifest.root
        self._paths = {} if root is None else {id(e): p for p, e in root.walk()}

    def module_info(self, entry: mf.ModuleEntry) -> ModuleInfo:
        info = self._infos.get(id(entry))
        if info is None:
            info = self._infos[id(entry)] = ModuleInfo(entry)
        return info

    def graph_of(self, member: str):
        return self._parsed[member][0]

    def _members(self):
        """(member, Method, module entry or None, path) of every method and function."""
        seen: set[str] = set()
        out = []
        if self.manifest.root is not None:
            for path, entry in self.manifest.root.walk():
                for meth in entry.methods:
                    self._claim(meth.code, seen)
                    out.append((meth.code, meth, entry, path))
        for f in self.manifest.functions:
            self._claim(f.code, seen)
            out.append((f.code, f, None, None))
        return out

    def check_all(self):
        """Yield (member, graph) for every method and function, each fully checked."""
        members = self._members()
        total_bytes = total_nodes = 0
        for member, _, _, _ in members:
            graph, text = parse_member(self.loaded.archive, member)
            total_bytes += len(text)
            if total_bytes > MAX_ARCHIVE_IR_BYTES:
                raise FormatError(f"the archive's IR text is above the limit of "
                                  f"{MAX_ARCHIVE_IR_BYTES} bytes in all", member=member)
            total_nodes += count_nodes(graph)
            if total_nodes > MAX_ARCHIVE_NODES:
                raise FormatError(f"the archive's graphs hold more than {MAX_ARCHIVE_NODES} "
                                  f"nodes in all", member=member)
            self._parsed[member] = graph, text
        for member, meth, entry, path in members:
            yield member, self.check(meth, entry, path)

    def _claim(self, member: str, seen: set[str]) -> None:
        if member in seen:
            raise FormatError(f"IR member {member!r} is claimed by two methods",
                              member=mf.MANIFEST)
        seen.add(member)

    def check(self, meth: mf.Method, module: mf.ModuleEntry | None, path: str | None):
        member = meth.code
        graph, text = self._parsed[member]
        inputs = graph.inputs
        n_self = 0 if module is None else 1
        if module is not None:
            if not inputs or not isinstance(inputs[0].type, T.ClassType) \
                    or inputs[0].type.name != module.class_name:
                got = str(inputs[0].type) if inputs else "no inputs"
                raise FormatError(f"the graph's first input must be self : {module.class_name} "
                                  f"(the manifest's class), got {got}", member=member)
        if len(inputs) - n_self != len(meth.arg_names):
            raise FormatError(f"the graph takes {len(inputs) - n_self} arguments but the "
                              f"manifest names {len(meth.arg_names)}: {meth.arg_names}",
                              member=member)
        self._check_types(graph, member)
        NodeRules(self, graph, text, meth, module, member).run()
        self._bind_constants(graph, text, meth, member)
        self._verify(graph, member)
        return graph

    def _check_types(self, graph, member: str) -> None:
        stack = [graph.block]
        while stack:
            block = stack.pop()
            values = list(block.inputs)
            for node in block.nodes:
                values.extend(node.outputs)
                stack.extend(node.blocks)
            for v in values:
                if type_depth(v.type) > MAX_NESTING:
                    raise FormatError(f"the type of %{v.name} nests deeper than the limit of "
                                      f"{MAX_NESTING}", member=member)
                dev = getattr(v.type, "device", None)
                if dev is not None and dev.index is not None and dev.index > MAX_DEVICE_INDEX:
                    raise FormatError(f"the type of %{v.name} names device {dev}: the index "
                                      f"is above {MAX_DEVICE_INDEX}", member=member)

    def _bind_constants(self, graph, text: str, meth: mf.Method, member: str) -> None:
        for node in graph.walk():
            value = node.attrs.get("value") if node.kind == Prim.Constant.value else None
            if isinstance(value, TensorRef):
                self._bind_constant(graph, node, value.name, text, meth, member)

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
        entry = self.loaded.tensors.entry(key, what)
        actual = T.TensorType(dtypes.from_numpy(entry.numpy_dtype), entry.shape)
        declared = ir_type
        if isinstance(declared, T.TensorType) and declared.device is not None:
            declared = T.TensorType(declared.dtype, declared.shape)  # map_location may move it
        if not T.is_subtype(actual, declared):
            raise FormatError(f"{_line_of(text, needle)}{what} is declared {ir_type} in the IR "
                              f"but the tensors member holds {actual} under key {key!r}",
                              member=member)

    check_tensor_type = _check_tensor_type

    def check_attribute(self, ir_type, info: ModuleInfo, name: str, text: str, needle: str,
                        member: str) -> None:
        """A constant attribute read by prim::GetAttr: its value must fit the IR's type."""
        value = info.attributes[name].value
        key = value.get("tensor") if isinstance(value, dict) else None
        if isinstance(key, str):
            self._check_tensor_type(ir_type, key, f"{info.entry.original_name}.{name}", text,
                                    needle, member)
            return
        decoded = self.loaded.attributes.get((self._paths.get(id(info.entry), ""), name))
        problem = T.type_mismatch(decoded, ir_type)
        if problem:
            raise FormatError(f"{_line_of(text, needle)}attribute {name!r} of "
                              f"{info.entry.original_name} is read as {ir_type}, but its value "
                              f"does not fit: {problem}", member=member)

    def _verify(self, graph, member: str) -> None:
        try:
            verify(graph)
        except GraphtorchError as e:
            raise FormatError(f"the graph does not verify: {e}", member=member) from None
