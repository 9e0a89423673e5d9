"""Drawings of graphtorch graphs: model (what is drawn), layout (built-in layered layout), svg,
dot (Graphviz), html (the interactive page). ``draw`` picks the layout engine."""

from __future__ import annotations

from graphtorch.viz.dot import GraphvizUnavailable, graphviz_available, render_svg, to_dot
from graphtorch.viz.html import to_html
from graphtorch.viz.model import VizCluster, VizEdge, VizGraph, VizNode, build_viz
from graphtorch.viz.svg import to_svg

__all__ = ["VizCluster", "VizEdge", "VizGraph", "VizNode", "build_viz", "draw", "to_dot",
           "to_svg", "to_html", "render_svg", "graphviz_available", "GraphvizUnavailable"]

ENGINE_NAMES = {"dot": "Graphviz dot", "builtin": "the built-in layered layout"}


def draw(loaded, fmt: str, title: str, method: str = "forward", constants: bool = False,
         collapse: int | None = None, input_types: dict | None = None,
         engine: str = "auto") -> tuple[VizGraph, str, str | None, str | None]:
    """(graph, text of the ``fmt`` file, engine used, note). ``engine="dot"`` without Graphviz
    gives engine None and the reason as the note."""
    g = build_viz(loaded, method, constants, collapse, input_types)
    dot = to_dot(g, title)
    if fmt == "dot":
        return g, dot, "dot", None
    note = None
    use = engine
    if engine in ("auto", "dot") and not graphviz_available():
        if engine == "dot":
            return g, "", None, "--engine dot: Graphviz is not installed (the 'graphviz' " \
                "package and the 'dot' program: pip install 'graphtorch[viz]', apt-get " \
                "install graphviz)"
        note = "Graphviz is not installed; the drawing uses the built-in layered layout"
        use = "builtin"
    elif engine == "auto":
        use = "dot"
    svg = render_svg(dot) if use == "dot" else to_svg(g)
    if fmt == "svg":
        return g, svg, use, note
    return g, to_html(g, svg, title, ENGINE_NAMES[use]), use, note
