"""``graphtorch viz MODEL -o out.{dot,svg,html}``: a picture of the model's dataflow.

Method calls of submodules are expanded in place and drawn as nested clusters, so the picture
shows the module hierarchy; edges carry the dtype and shape of the values they carry. DOT is
always available; SVG goes through Graphviz's ``dot`` when it is installed; otherwise a
self-contained HTML page with its own layered layout is written (cli_viz_html.py).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("viz", help="draw the graph: DOT, SVG (Graphviz) or self-contained HTML")
    p.add_argument("model", help="a .gt archive")
    p.add_argument("-o", "--output", required=True, metavar="OUT.{dot,svg,html}")
    p.add_argument("--method", default="forward", help="method to draw (default: forward)")
    p.add_argument("--constants", action="store_true", help="also draw scalar constants")
    p.set_defaults(handler=run)
    return p


@dataclass
class VizNode:
    id: str
    label: str
    cluster: tuple[str, ...]
    role: str          # input, output, param, op, prim, const


@dataclass
class VizEdge:
    src: str
    dst: str
    label: str


@dataclass
class VizGraph:
    nodes: list[VizNode] = field(default_factory=list)
    edges: list[VizEdge] = field(default_factory=list)
    clusters: dict[tuple[str, ...], str] = field(default_factory=dict)  # path -> class name


def edge_label(t) -> str:
    from graphtorch.ir.types import TensorType

    if isinstance(t, TensorType):
        dt = t.dtype.name if t.dtype is not None else "?"
        if t.shape is None:
            return dt
        return f"{dt}[{', '.join('?' if d is None else str(d) for d in t.shape)}]"
    return str(t)


class _Builder:
    def __init__(self, loaded, constants: bool):
        self.loaded, self.constants = loaded, constants
        self.g = VizGraph()
        self.count = 0

    def add(self, label: str, cluster: tuple[str, ...], role: str) -> str:
        nid = f"n{self.count}"
        self.count += 1
        self.g.nodes.append(VizNode(nid, label, cluster, role))
        return nid

    def method(self, graph, entry, path: tuple[str, ...], args: list) -> list:
        """Draw ``graph`` inside cluster ``path``; ``args`` are (id, type) sources of its
        non-self inputs; returns the (id, type) sources of its outputs."""
        from graphtorch.ir.kinds import Prim
        from graphtorch.ir.types import TensorType

        if entry is not None:
            self.g.clusters[path] = entry.class_name
        env: dict = {}
        modules: dict = {}
        inputs = graph.inputs
        if entry is not None:
            modules[inputs[0]] = (entry, path)
            inputs = inputs[1:]
        for v, src in zip(inputs, args):
            env[v] = src
        for node in graph.nodes():
            kind = node.kind
            if kind == Prim.GetAttr.value and node.inputs[0] in modules:
                owner, opath = modules[node.inputs[0]]
                name = node.attrs.get("name")
                sub = next((s for s in owner.submodules if s.name == name), None)
                if sub is not None:
                    modules[node.outputs[0]] = (sub, opath + (name,))
                else:
                    role = "param" if isinstance(node.outputs[0].type, TensorType) else "const"
                    env[node.outputs[0]] = (self.add(name, opath, role), node.outputs[0].type)
                continue
            if kind == Prim.CallMethod.value and node.inputs and node.inputs[0] in modules:
                sub, spath = modules[node.inputs[0]]
                meth = next((m for m in sub.methods if m.name == node.attrs.get("name")), None)
                if meth is not None:
                    outs = self.method(self.loaded.graphs[meth.code], sub, spath,
                                       [env.get(v) for v in node.inputs[1:]])
                    for v, src in zip(node.outputs, outs):
                        env[v] = src
                    continue
            if kind == Prim.Constant.value and not isinstance(node.outputs[0].type, TensorType) \
                    and not self.constants:
                continue
            label = kind[4:] if kind.startswith("op::") else kind
            if kind == Prim.Constant.value:
                label = f"{node.attrs.get('value')!r}"
            role = "op" if kind.startswith("op::") else \
                "const" if kind == Prim.Constant.value else "prim"
            nid = self.add(label, path, role)
            for v in node.inputs:
                src = env.get(v)
                if src is not None:
                    self.g.edges.append(VizEdge(src[0], nid, edge_label(src[1])))
            for v in node.outputs:
                env[v] = (nid, v.type)
        return [env.get(v) for v in graph.outputs]


def build_viz(loaded, method: str = "forward", constants: bool = False) -> VizGraph:
    from graphtorch.cli_inspect import entry_method

    graph, arg_names, first = entry_method(loaded, method)
    b = _Builder(loaded, constants)
    args = [(b.add(n, (), "input"), v.type) for n, v in zip(arg_names, graph.inputs[first:])]
    outs = b.method(graph, loaded.manifest.root, (), args)
    for i, src in enumerate(outs):
        nid = b.add("output" if len(outs) == 1 else f"output{i}", (), "output")
        if src is not None:
            b.g.edges.append(VizEdge(src[0], nid, edge_label(src[1])))
    return b.g


_DOT_STYLE = {"input": 'shape=ellipse, style=filled, fillcolor="#d8f0d8"',
              "output": 'shape=ellipse, style=filled, fillcolor="#f0d8d8"',
              "param": 'shape=note, style=filled, fillcolor="#eeeeee"',
              "const": 'shape=plaintext',
              "op": 'shape=box, style="rounded,filled", fillcolor="#dde8f8"',
              "prim": 'shape=box, style=filled, fillcolor="#f4f0dc"'}


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(g: VizGraph, title: str = "graphtorch") -> str:
    lines = [f"digraph {_q(title)} {{", "  rankdir=TB;",
             '  node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=8, color="#666666"];']
    by_cluster: dict[tuple[str, ...], list[VizNode]] = {}
    for n in g.nodes:
        by_cluster.setdefault(n.cluster, []).append(n)
    paths = sorted(set(by_cluster) | set(g.clusters))

    def emit(path: tuple[str, ...], indent: str) -> None:
        for n in by_cluster.get(path, []):
            lines.append(f"{indent}{n.id} [label={_q(n.label)}, {_DOT_STYLE[n.role]}];")
        for child in paths:
            if len(child) == len(path) + 1 and child[:len(path)] == path:
                cid = "cluster_" + "_".join(child)
                lines.append(f"{indent}subgraph {_q(cid)} {{")
                label = f"{'.'.join(child)} ({g.clusters.get(child, '?')})"
                lines.append(f'{indent}  label={_q(label)}; style="rounded,dashed"; '
                             'fontname="Helvetica"; fontsize=9;')
                emit(child, indent + "  ")
                lines.append(f"{indent}}}")

    emit((), "  ")
    for e in g.edges:
        lines.append(f"  {e.src} -> {e.dst} [label={_q(e.label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def run(args) -> int:
    from graphtorch.archive.reader import read_archive
    from graphtorch.cli import CLIError, emit_json
    from graphtorch.cli_viz_html import to_html

    out = Path(args.output)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("dot", "svg", "html"):
        raise CLIError(f"-o {args.output!r}: the extension must be .dot, .svg or .html")
    loaded = read_archive(args.model)
    g = build_viz(loaded, args.method, args.constants)
    dot = to_dot(g, Path(args.model).stem)
    note = None
    if fmt == "dot":
        out.write_text(dot)
    elif fmt == "svg" and shutil.which("dot"):
        proc = subprocess.run(["dot", "-Tsvg", "-o", str(out)], input=dot, text=True,
                              capture_output=True)
        if proc.returncode != 0:
            raise CLIError(f"Graphviz dot failed: {' '.join(proc.stderr.split())}")
    else:
        if fmt == "svg":
            out = out.with_suffix(".html")
            note = f"Graphviz 'dot' is not installed; wrote a self-contained HTML page to {out}"
        out.write_text(to_html(g, Path(args.model).name))
    doc = {"model": args.model, "output": str(out), "format": out.suffix.lstrip("."),
           "nodes": len(g.nodes), "edges": len(g.edges), "clusters": len(g.clusters)}
    if note:
        doc["note"] = note
        print(f"graphtorch viz: note: {note}", file=sys.stderr)
    if args.json:
        emit_json(doc)
    else:
        print(f"wrote {out} ({len(g.nodes)} nodes, {len(g.edges)} edges, "
              f"{len(g.clusters)} modules)")
    return 0
