"""SVG of a VizGraph laid out by the built-in layered layout (viz/layout.py).

Every drawn thing is a group the page's script and the tests find by id: ``<g class="cluster
KIND" id=CLUSTER>``, ``<g class="edge" id=EDGE>``, ``<g class="node ROLE" id=NODE>``; each
node group holds one ``rect`` (its box) and each edge group one ``path`` from the source's box
to the target's.
"""

from __future__ import annotations

from html import escape

from graphtorch.viz.layout import Layout, layout, node_text

# fill, stroke per node role; fill, stroke, dash per cluster kind
NODE_STYLE = {"input": ("#d9f2df", "#3c8c55"), "output": ("#f6dcdc", "#b05050"),
              "param": ("#f1f1ee", "#9a9a90"), "const": ("#ffffff", "#b8b8b8"),
              "op": ("#dde9fb", "#4a6fa5"), "prim": ("#fbf1d4", "#b08a2e"),
              "module": ("#cfe0fa", "#2f5597"), "block": ("#ece6f7", "#7a64a8")}
CLUSTER_STYLE = {"module": ("#f4f8fe", "#7d95b8", "5 3"),
                 "function": ("#f8f4fe", "#9a7db8", "5 3"), "if": ("#fffaf0", "#c9a24d", "none"),
                 "loop": ("#f3faf3", "#6aa56a", "none"), "block": ("#ffffff", "#b8aedb", "2 2")}
FONT = "Helvetica, Arial, sans-serif"


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def path_data(points: list[tuple[float, float]]) -> str:
    """A smooth path through ``points`` (Catmull-Rom as cubic Beziers), leaving the first and
    entering the last point vertically."""
    pts: list[tuple[float, float]] = []
    for p in points:
        if not pts or abs(p[0] - pts[-1][0]) + abs(p[1] - pts[-1][1]) > 0.5:
            pts.append(p)
    if len(pts) == 1:
        pts.append(points[-1])
    ext = [(pts[0][0], pts[0][1] - 30.0), *pts, (pts[-1][0], pts[-1][1] + 30.0)]
    parts = [f"M{_num(pts[0][0])},{_num(pts[0][1])}"]
    for i in range(1, len(ext) - 2):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = ext[i - 1], ext[i], ext[i + 1], ext[i + 2]
        c1 = (x1 + (x2 - x0) / 6, y1 + (y2 - y0) / 6)
        c2 = (x2 - (x3 - x1) / 6, y2 - (y3 - y1) / 6)
        parts.append(f"C{_num(c1[0])},{_num(c1[1])} {_num(c2[0])},{_num(c2[1])} "
                     f"{_num(x2)},{_num(y2)}")
    return " ".join(parts)


def to_svg(g, lay: Layout | None = None) -> str:
    lay = lay or layout(g)
    w, h = lay.width, lay.height
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
           f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(w)}pt" height="{_num(h)}pt" '
           f'viewBox="0 0 {_num(w)} {_num(h)}" font-family="{FONT}" class="gt-graph">',
           '<defs><marker id="gt-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#5b6470"/>'
           '</marker></defs>', '<g id="graph0" class="graph">']
    depth = {cid: len(g.ancestors(cid)) for cid in g.clusters}
    for cid in sorted(g.clusters, key=lambda c: depth[c]):
        c, b = g.clusters[cid], lay.clusters[cid]
        fill, stroke, dash = CLUSTER_STYLE[c.kind]
        out.append(f'<g class="cluster {c.kind}" id="{escape(cid)}">'
                   f'<title>{escape(c.label)}</title>'
                   f'<rect x="{_num(b.x)}" y="{_num(b.y)}" width="{_num(b.w)}" '
                   f'height="{_num(b.h)}" rx="7" fill="{fill}" stroke="{stroke}" '
                   f'stroke-dasharray="{dash}"/><text x="{_num(b.x + 8)}" y="{_num(b.y + 15)}" '
                   f'font-size="10" font-weight="bold" fill="{stroke}">{escape(c.label)}</text>'
                   '</g>')
    labelled: set[tuple[str, str]] = set()
    for e in g.edges:
        pts = lay.edges[e.id]
        dash = ' stroke-dasharray="4 3"' if e.control else ""
        parts = [f'<g class="edge" id="{e.id}"><title>{e.src}-&gt;{e.dst}</title>'
                 f'<path d="{path_data(pts)}" fill="none" stroke="#5b6470" stroke-width="1.1"'
                 f'{dash} marker-end="url(#gt-arrow)"/>']
        if e.label and (e.src, e.label) not in labelled:
            labelled.add((e.src, e.label))     # one label per value, just below its producer
            lx, ly = pts[0][0] + 4, pts[0][1] + 11
            parts.append(f'<text x="{_num(lx)}" y="{_num(ly)}" font-size="9" '
                         f'fill="#334" stroke="#ffffff" stroke-width="3" paint-order="stroke">'
                         f'{escape(e.label)}</text>')
        out.append("".join(parts) + "</g>")
    for n in g.nodes:
        b = lay.nodes[n.id]
        fill, stroke = NODE_STYLE[n.role]
        rx = 14 if n.role in ("input", "output", "block") else 2 if n.role == "param" else 6
        weight = ' font-weight="bold"' if n.role in ("op", "module") else ""
        out.append(f'<g class="node {n.role}" id="{n.id}"><title>{escape(n.label)}</title>'
                   f'<rect x="{_num(b.x)}" y="{_num(b.y)}" width="{_num(b.w)}" '
                   f'height="{_num(b.h)}" rx="{rx}" fill="{fill}" stroke="{stroke}"/>'
                   f'<text x="{_num(b.x + b.w / 2)}" y="{_num(b.y + b.h / 2 + 4)}" '
                   f'font-size="11" text-anchor="middle"{weight}>'
                   f'{escape(node_text(n.label))}</text></g>')
    out += ["</g>", "</svg>"]
    return "\n".join(out) + "\n"
