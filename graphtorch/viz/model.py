"""What ``graphtorch viz`` draws: nodes, edges and nested clusters built from an archive.

Submodule method calls and script-function calls are expanded in place, one cluster per call
(a module called twice is two clusters); ``prim::If`` and ``prim::Loop`` become clusters holding
a head node, one cluster per block (its nodes, its outputs; a loop body also its inputs) and an
exit node carrying the results, so every branch and loop body is drawn. Parameters are nodes of
the module that reads them. Edges carry the dtype and shape of their value: the declared types,
or those shape propagation computes from the input shapes the user gives (viz/shapes.py).
``collapse=N`` draws modules deeper than N levels as single boxes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from graphtorch.archive.reader import entry_method
from graphtorch.ir.kinds import Prim
from graphtorch.ir.printer import node_line
from graphtorch.ir.types import TensorType
from graphtorch.viz.shapes import propagate_method

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_]")     # cluster ids stay plain in DOT, SVG and URLs


@dataclass
class VizNode:
    id: str
    label: str
    cluster: str       # innermost cluster id, "" at top level
    role: str          # input, output, param, const, op, prim, module, block
    text: str = ""     # the full IR line
    source: str = ""   # file:line:col


@dataclass
class VizEdge:
    id: str
    src: str
    dst: str
    label: str
    control: bool = False    # ordering only (a block head to its block), drawn dashed


@dataclass
class VizCluster:
    id: str
    parent: str        # "" at top level
    label: str
    kind: str          # module, function, if, loop, block


@dataclass
class VizGraph:
    nodes: list[VizNode] = field(default_factory=list)
    edges: list[VizEdge] = field(default_factory=list)
    clusters: dict[str, VizCluster] = field(default_factory=dict)

    def node(self, nid: str) -> VizNode:
        return self._by_id()[nid]

    def _by_id(self) -> dict[str, VizNode]:
        return {n.id: n for n in self.nodes}

    def ancestors(self, cluster: str) -> list[str]:
        """``cluster`` and the clusters around it, innermost first."""
        out = []
        while cluster:
            out.append(cluster)
            cluster = self.clusters[cluster].parent
        return out

    def members(self, cluster: str) -> list[str]:
        """Ids of the nodes inside ``cluster`` at any depth."""
        return [n.id for n in self.nodes if cluster in self.ancestors(n.cluster)]


def edge_label(t) -> str:
    """``float32[3, 8]`` for a tensor type; the type's text otherwise."""
    if isinstance(t, TensorType):
        if t.dtype is None and t.shape is None:
            return "Tensor"
        dt = t.dtype.name if t.dtype is not None else "Tensor"
        if t.shape is None:
            return dt
        return f"{dt}[{', '.join('?' if d is None else str(d) for d in t.shape)}]"
    return str(t)


def short_class(class_name: str) -> str:
    return class_name.rsplit(".", 1)[-1]


class _Builder:
    def __init__(self, loaded, constants: bool, collapse: int | None, callees: dict):
        self.loaded, self.constants, self.collapse = loaded, constants, collapse
        self.callees = callees          # call node -> callee graph with propagated types
        self.g = VizGraph()
        self.count = 0
        self.cluster_names: dict[str, int] = {}
        self.paths: dict[str, tuple[str, ...]] = {}    # module cluster -> module path
        self.running: set[str] = set()     # script functions being drawn (no recursion)

    def add(self, label: str, cluster: str, role: str, node=None) -> str:
        nid = f"n{self.count}"
        self.count += 1
        text = node_line(node).strip() if node is not None else ""
        source = str(node.source) if node is not None and node.source else ""
        self.g.nodes.append(VizNode(nid, label, cluster, role, text, source))
        return nid

    def cluster(self, base: str, parent: str, label: str, kind: str) -> str:
        k = self.cluster_names.get(base, 0)
        self.cluster_names[base] = k + 1
        cid = base if k == 0 else f"{base}_{k + 1}"
        self.g.clusters[cid] = VizCluster(cid, parent, label, kind)
        return cid

    def edge(self, src, dst: str, control: bool = False) -> None:
        """An edge from ``src`` = (node id, type) unless the same one is drawn already."""
        if src is None:
            return
        label = "" if control else edge_label(src[1])
        for e in self.g.edges[-8:]:
            if e.src == src[0] and e.dst == dst and e.label == label:
                return
        self.g.edges.append(VizEdge(f"e{len(self.g.edges)}", src[0], dst, label, control))

    # -- methods and blocks ----------------------------------------------------------------
    def method(self, graph, entry, cluster: str, path: tuple[str, ...], args: list) -> list:
        """Draw ``graph`` inside ``cluster``; ``args`` are the (id, type) sources of its
        non-self inputs; returns the (id, type) sources of its outputs."""
        env: dict = {}
        modules: dict = {}
        inputs = graph.inputs
        if entry is not None:
            modules[inputs[0]] = (entry, path)
            inputs = inputs[1:]
        for v, src in zip(inputs, args):
            env[v] = src
        self.block(graph.block, env, modules, cluster)
        return [env.get(v) for v in graph.outputs]

    def block(self, block, env: dict, modules: dict, cluster: str) -> None:
        for node in block.nodes:
            kind = node.kind
            if kind == Prim.GetAttr.value and node.inputs[0] in modules:
                self.get_attr(node, env, modules, cluster)
            elif kind == Prim.CallMethod.value and node.inputs and node.inputs[0] in modules:
                self.call(node, env, modules, cluster)
            elif kind == Prim.CallFunction.value and self.function(node) is not None and \
                    node.attrs.get("name") not in self.running:
                self.call_function(node, env, cluster)
            elif kind == Prim.If.value:
                self.if_(node, env, modules, cluster)
            elif kind == Prim.Loop.value:
                self.loop(node, env, modules, cluster)
            elif kind == Prim.Constant.value and not self.constants and \
                    not isinstance(node.outputs[0].type, TensorType):
                continue
            else:
                self.plain(node, env, cluster)

    def get_attr(self, node, env: dict, modules: dict, cluster: str) -> None:
        owner, opath = modules[node.inputs[0]]
        name = node.attrs.get("name")
        sub = next((s for s in owner.submodules if s.name == name), None)
        if sub is not None:
            modules[node.outputs[0]] = (sub, opath + (name,))
            return
        out = node.outputs[0]
        role = "param" if isinstance(out.type, TensorType) else "const"
        label = name if opath == self.cluster_path(cluster) else ".".join(opath + (name,))
        env[out] = (self.add(label, cluster, role, node), out.type)

    def cluster_path(self, cluster: str) -> tuple[str, ...]:
        for cid in self.g.ancestors(cluster):
            c = self.g.clusters[cid]
            if c.kind == "module":
                return self.paths[cid]
        return ()

    def call(self, node, env: dict, modules: dict, cluster: str) -> None:
        sub, spath = modules[node.inputs[0]]
        meth = next((m for m in sub.methods if m.name == node.attrs.get("name")), None)
        if meth is None:
            self.plain(node, env, cluster)
            return
        args = [env.get(v) for v in node.inputs[1:]]
        title = ".".join(spath)
        if meth.name != "forward":
            title += f".{meth.name}"
        if self.collapse is not None and len(spath) > self.collapse:
            nid = self.add(f"{title}: {short_class(sub.class_name)}", cluster, "module", node)
            for src in args:
                self.edge(src, nid)
            for v in node.outputs:
                env[v] = (nid, v.type)
            return
        cid = self.cluster("cluster_" + "_".join(_ID_UNSAFE.sub("_", p) for p in spath), cluster,
                           f"{title}: {short_class(sub.class_name)}", "module")
        self.paths[cid] = spath
        graph = self.callees.get(node) or self.loaded.graphs[meth.code]
        outs = self.pass_through(node, cid, self.method(graph, sub, cid, spath, args))
        for v, src in zip(node.outputs, outs):
            env[v] = (src[0], v.type) if src is not None else None

    def pass_through(self, node, cid: str, outs: list) -> list:
        """A call that draws nothing (``nn.Identity``) gets one node, so its box is drawn."""
        if any(n.cluster == cid for n in self.g.nodes) or \
                any(c.parent == cid for c in self.g.clusters.values()):
            return outs
        nid = self.add("identity", cid, "block", node)
        for src in outs:
            self.edge(src, nid)
        return [(nid, src[1]) if src is not None else None for src in outs]

    def function(self, node):
        """The archive's entry of the script function ``node`` calls (None if not stored)."""
        name = node.attrs.get("name")
        return next((f for f in self.loaded.manifest.functions if f.name == name), None)

    def call_function(self, node, env: dict, cluster: str) -> None:
        fn = self.function(node)
        short = short_class(fn.name)
        args = [env.get(v) for v in node.inputs]
        depth = sum(self.g.clusters[c].kind == "module" for c in self.g.ancestors(cluster))
        if self.collapse is not None and depth + 1 > self.collapse:
            nid = self.add(f"{short}()", cluster, "module", node)
            for src in args:
                self.edge(src, nid)
            for v in node.outputs:
                env[v] = (nid, v.type)
            return
        cid = self.cluster(f"cluster_{_ID_UNSAFE.sub('_', short)}", cluster, f"{short}()",
                           "function")
        graph = self.callees.get(node) or self.loaded.graphs[fn.code]
        self.running.add(fn.name)
        outs = self.pass_through(node, cid, self.method(graph, None, cid, (), args))
        self.running.discard(fn.name)
        for v, src in zip(node.outputs, outs):
            env[v] = (src[0], v.type) if src is not None else None

    def plain(self, node, env: dict, cluster: str) -> None:
        kind = node.kind
        label = kind[4:] if kind.startswith("op::") else kind
        if kind == Prim.Constant.value:
            label = f"{node.attrs.get('value')!r}"
        role = "op" if kind.startswith("op::") else \
            "const" if kind == Prim.Constant.value else "prim"
        nid = self.add(label, cluster, role, node)
        for v in node.inputs:
            self.edge(env.get(v), nid)
        for v in node.outputs:
            env[v] = (nid, v.type)

    # -- control flow ------------------------------------------------------------------------
    def if_(self, node, env: dict, modules: dict, cluster: str) -> None:
        cid = self.cluster("cluster_if", cluster, "if", "if")
        head = self.add("if", cid, "prim", node)
        for v in node.inputs:
            self.edge(env.get(v), head)
        ends = []
        for name, block in zip(("then", "else"), node.blocks):
            bid = self.cluster(f"{cid}_{name}", cid, name, "block")
            first = len(self.g.nodes)
            inner = dict(env)
            self.block(block, inner, dict(modules), bid)
            # the branch hangs off its if: a control edge to each node fed from outside only
            inside = {n.id for n in self.g.nodes[first:]}
            fed = {e.dst for e in self.g.edges if e.src in inside and e.dst in inside}
            for n in self.g.nodes[first:]:
                if n.id not in fed and n.role not in ("param", "const"):
                    self.edge((head, None), n.id, control=True)
            ends.append(self.block_end(block, inner, bid, head))
        self.exit(node, env, cid, "merge", ends)

    def loop(self, node, env: dict, modules: dict, cluster: str) -> None:
        cid = self.cluster("cluster_loop", cluster, "loop", "loop")
        head = self.add("loop", cid, "prim", node)
        for v in node.inputs:
            self.edge(env.get(v), head)
        block = node.blocks[0]
        bid = self.cluster(f"{cid}_body", cid, "body", "block")
        names = ", ".join(f"%{v.name}" if v.name else "%_" for v in block.inputs)
        start = self.add(f"body({names})", bid, "block")
        inner = dict(env)
        for v in block.inputs:
            inner[v] = (start, v.type)
        self.edge((head, None), start, control=True)
        self.block(block, inner, dict(modules), bid)
        end = self.block_end(block, inner, bid, start)
        self.exit(node, env, cid, "loop exit", [end])

    def block_end(self, block, env: dict, cluster: str, start: str) -> str:
        end = self.add("-> " + ", ".join(edge_label(v.type) for v in block.outputs)
                       if block.outputs else "end", cluster, "block")
        for v in block.outputs:
            self.edge(env.get(v), end)
        inside = {n.id for n in self.g.nodes if n.cluster == cluster or
                  cluster in self.g.ancestors(n.cluster)} - {end}
        if not any(e.dst == end and e.src in inside for e in self.g.edges):
            self.edge((start, None), end, control=True)
        return end

    def exit(self, node, env: dict, cluster: str, label: str, ends: list[str]) -> None:
        out = self.add(label, cluster, "block")
        types = [v.type for v in node.outputs]
        for end in ends:
            if types:
                self.g.edges.append(VizEdge(f"e{len(self.g.edges)}", end, out,
                                            ", ".join(edge_label(t) for t in types)))
            else:
                self.edge((end, None), out, control=True)
        for v in node.outputs:
            env[v] = (out, v.type)


def build_viz(loaded, method: str = "forward", constants: bool = False,
              collapse: int | None = None, input_types: dict | None = None) -> VizGraph:
    """The drawing of ``method`` of a loaded archive. ``input_types`` (argument name ->
    TensorType) switches on shape propagation from those inputs."""
    graph, arg_names, first = entry_method(loaded, method)
    root = loaded.manifest.root
    callees: dict = {}
    if input_types:
        graph = propagate_method(loaded, graph, root if first else None, arg_names,
                                 input_types, callees)
    b = _Builder(loaded, constants, collapse, callees)
    args = [(b.add(n, "", "input"), v.type) for n, v in zip(arg_names, graph.inputs[first:])]
    for (nid, t), name in zip(args, arg_names):
        b.g.node(nid).text = f"%{name} : {t}"
    outs = b.method(graph, root if first else None, "", (), args)
    for i, src in enumerate(outs):
        nid = b.add("output" if len(outs) == 1 else f"output{i}", "", "output")
        b.edge(src, nid)
    return b.g
