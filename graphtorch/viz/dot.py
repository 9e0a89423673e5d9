"""DOT text of a VizGraph and its SVG through Graphviz (the ``graphviz`` package and ``dot``).

Nodes, clusters and edges carry their VizGraph ids (``id=``) and kinds (``class=``) so the SVG
Graphviz writes has the same groups as the built-in renderer's (viz/svg.py): the page's script
and the tests read both the same way.
"""

from __future__ import annotations

import shutil

from graphtorch.errors import GraphtorchError
from graphtorch.viz.layout import node_text
from graphtorch.viz.svg import CLUSTER_STYLE, NODE_STYLE

_SHAPE = {"input": 'shape=box, style="rounded,filled"',
          "output": 'shape=box, style="rounded,filled"',
          "param": 'shape=note, style=filled, fontsize=9',
          "const": 'shape=box, style="filled,dotted"',
          "op": 'shape=box, style="rounded,filled", fontname="Helvetica-Bold"',
          "prim": 'shape=box, style=filled', "module": 'shape=box3d, style=filled',
          "block": 'shape=box, style="rounded,filled"'}


class GraphvizUnavailable(GraphtorchError):
    """The ``graphviz`` package or the ``dot`` program is missing."""


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def graphviz_available() -> bool:
    """True when both the ``graphviz`` Python package and the ``dot`` program are present."""
    try:
        import graphviz  # noqa: F401 - only probing whether the optional package is installed
    except ImportError:
        return False
    return shutil.which("dot") is not None


def to_dot(g, title: str = "graphtorch") -> str:
    lines = [f"digraph {_q(title)} {{",
             "  rankdir=TB; nodesep=0.25; ranksep=0.4; bgcolor=transparent;",
             '  node [fontname="Helvetica", fontsize=10, height=0.35, penwidth=1];',
             '  edge [fontname="Helvetica", fontsize=8, color="#5b6470", arrowsize=0.6];']
    kids: dict[str, list[str]] = {}
    for cid, c in g.clusters.items():
        kids.setdefault(c.parent, []).append(cid)
    direct: dict[str, list] = {}
    for n in g.nodes:
        direct.setdefault(n.cluster, []).append(n)

    def emit(cid: str, indent: str) -> None:
        for n in direct.get(cid, []):
            fill, stroke = NODE_STYLE[n.role]
            lines.append(f"{indent}{n.id} [id={n.id}, class={_q(n.role)}, "
                         f"label={_q(node_text(n.label))}, {_SHAPE[n.role]}, "
                         f'fillcolor="{fill}", color="{stroke}"];')
        for child in kids.get(cid, []):
            c = g.clusters[child]
            fill, stroke, dash = CLUSTER_STYLE[c.kind]
            style = "rounded,filled" + (",dashed" if dash != "none" else "")
            lines.append(f"{indent}subgraph {_q(child)} {{")
            lines.append(f"{indent}  id={_q(child)}; class={_q(c.kind)}; label={_q(c.label)}; "
                         f'style="{style}"; fillcolor="{fill}"; color="{stroke}"; '
                         f'fontname="Helvetica-Bold"; fontsize=9; fontcolor="{stroke}"; '
                         'labeljust=l;')
            emit(child, indent + "  ")
            lines.append(f"{indent}}}")

    emit("", "  ")
    for e in g.edges:
        extra = ", style=dashed" if e.control else ""
        lines.append(f"  {e.src} -> {e.dst} [id={e.id}, label={_q(e.label)}{extra}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_svg(dot: str) -> str:
    """SVG text of ``dot`` laid out by Graphviz; GraphvizUnavailable without it."""
    try:
        import graphviz  # optional: `pip install graphtorch[viz]` plus the dot program
    except ImportError as e:
        raise GraphvizUnavailable("the 'graphviz' Python package is not installed "
                                  "(pip install 'graphtorch[viz]')") from e
    if shutil.which("dot") is None:
        raise GraphvizUnavailable("Graphviz's 'dot' program is not installed "
                                  "(apt-get install graphviz)")
    try:
        return graphviz.Source(dot).pipe(format="svg", encoding="utf-8")
    except graphviz.backend.ExecutableNotFound as e:
        raise GraphvizUnavailable(f"Graphviz's 'dot' could not be run: {e}") from e
    except graphviz.backend.CalledProcessError as e:
        stderr = e.stderr.decode() if isinstance(e.stderr, bytes) else str(e.stderr)
        raise GraphtorchError(f"Graphviz dot failed: {' '.join(stderr.split())}") from e
