"""Boxes and edge ends read back from a drawing's SVG (Graphviz's or the built-in layout's).

Both renderers write ``<g class="node ..." id=NODE>``, ``<g class="cluster ..." id=CLUSTER>``
and ``<g class="edge" id=EDGE>``; a node's or cluster's box is its first shape (rect, polygon,
path or ellipse), an edge's ends are its path's first point and its arrowhead's tip (the path's
last point when the arrow is a marker).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

SVG = "{http://www.w3.org/2000/svg}"
_NUM = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


@dataclass(frozen=True)
class Rect:
    x0: float
    y0: float
    x1: float
    y1: float

    def inside(self, other: Rect, tol: float = 0.5) -> bool:
        return (self.x0 >= other.x0 - tol and self.y0 >= other.y0 - tol and
                self.x1 <= other.x1 + tol and self.y1 <= other.y1 + tol)

    def overlaps(self, other: Rect, tol: float = 0.5) -> bool:
        return (self.x0 < other.x1 - tol and other.x0 < self.x1 - tol and
                self.y0 < other.y1 - tol and other.y0 < self.y1 - tol)

    def distance(self, p: tuple[float, float]) -> float:
        dx = max(self.x0 - p[0], 0.0, p[0] - self.x1)
        dy = max(self.y0 - p[1], 0.0, p[1] - self.y1)
        return math.hypot(dx, dy)


def _points(el) -> list[tuple[float, float]]:
    tag = el.tag.replace(SVG, "")
    if tag == "rect":
        x, y = float(el.get("x")), float(el.get("y"))
        return [(x, y), (x + float(el.get("width")), y + float(el.get("height")))]
    if tag == "ellipse":
        cx, cy, rx, ry = (float(el.get(k)) for k in ("cx", "cy", "rx", "ry"))
        return [(cx - rx, cy - ry), (cx + rx, cy + ry)]
    text = el.get("points") if tag in ("polygon", "polyline") else el.get("d")
    nums = [float(v) for v in _NUM.findall(text or "")]
    return list(zip(nums[0::2], nums[1::2]))


def _box(points) -> Rect:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return Rect(min(xs), min(ys), max(xs), max(ys))


def _first_shape(g):
    for el in g:
        if el.tag.replace(SVG, "") in ("rect", "polygon", "path", "ellipse"):
            return el
    return None


@dataclass
class Geometry:
    nodes: dict[str, Rect]
    clusters: dict[str, Rect]
    edges: dict[str, tuple[tuple[float, float], tuple[float, float]]]


def read_geometry(svg: str) -> Geometry:
    root = ET.fromstring(svg)
    geo = Geometry({}, {}, {})
    for g in root.iter(f"{SVG}g"):
        classes = (g.get("class") or "").split()
        gid = g.get("id")
        if "node" in classes:
            geo.nodes[gid] = _box(_points(_first_shape(g)))
        elif "cluster" in classes:
            geo.clusters[gid] = _box(_points(_first_shape(g)))
        elif "edge" in classes:
            path = next(el for el in g if el.tag == f"{SVG}path")
            pts = _points(path)
            start, end = pts[0], pts[-1]
            arrow = next((el for el in g if el.tag == f"{SVG}polygon"), None)
            if arrow is not None:   # Graphviz: the tip is the arrowhead point farthest away
                end = max(_points(arrow), key=lambda p: math.dist(p, pts[-1]))
            geo.edges[gid] = (start, end)
    return geo


def check_layout(g, svg: str, tol: float = 2.0) -> Geometry:
    """Assert the drawing's invariants: each cluster's box holds exactly its nodes, no two
    nodes overlap, sibling clusters do not overlap, every edge ends on its two nodes."""
    geo = read_geometry(svg)
    assert set(geo.nodes) == {n.id for n in g.nodes}
    assert set(geo.clusters) == set(g.clusters)
    assert set(geo.edges) == {e.id for e in g.edges}
    for cid in g.clusters:
        members = set(g.members(cid))
        box = geo.clusters[cid]
        for nid, r in geo.nodes.items():
            if nid in members:
                assert r.inside(box), (cid, nid, r, box)
            else:
                assert not r.overlaps(box), (cid, "holds the non-member", nid, r, box)
    ids = list(geo.nodes)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            assert not geo.nodes[a].overlaps(geo.nodes[b]), (a, b)
    cids = list(g.clusters)
    for i, a in enumerate(cids):
        for b in cids[i + 1:]:
            if a in g.ancestors(b) or b in g.ancestors(a):
                continue
            assert not geo.clusters[a].overlaps(geo.clusters[b]), (a, b)
    for e in g.edges:
        start, end = geo.edges[e.id]
        assert geo.nodes[e.src].distance(start) <= tol, (e, start, geo.nodes[e.src])
        assert geo.nodes[e.dst].distance(end) <= tol, (e, end, geo.nodes[e.dst])
    return geo
