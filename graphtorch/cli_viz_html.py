"""A self-contained HTML page (inline SVG, no scripts, no network) for ``graphtorch viz``.

Used when Graphviz is not installed. The layout is a plain layered one: a node's row is one
more than the deepest row among its producers; nodes of one module sit next to each other in a
row, and each module is a dashed box around its nodes, labelled with its path and class.
"""

from __future__ import annotations

from html import escape

NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 150, 30, 30, 56, 40
_FILL = {"input": "#d8f0d8", "output": "#f0d8d8", "param": "#eeeeee", "const": "#ffffff",
         "op": "#dde8f8", "prim": "#f4f0dc"}


def _layout(g) -> dict[str, tuple[float, float]]:
    preds: dict[str, list[str]] = {n.id: [] for n in g.nodes}
    for e in g.edges:
        preds[e.dst].append(e.src)
    row: dict[str, int] = {}
    for n in g.nodes:   # nodes are in program order, so producers come first
        row[n.id] = 1 + max((row.get(p, 0) for p in preds[n.id]), default=-1)
    rows: dict[int, list] = {}
    for n in g.nodes:
        rows.setdefault(row[n.id], []).append(n)
    pos = {}
    for r, nodes in rows.items():
        nodes.sort(key=lambda n: n.cluster)
        for i, n in enumerate(nodes):
            pos[n.id] = (MARGIN + i * (NODE_W + GAP_X), MARGIN + r * (NODE_H + GAP_Y))
    return pos


def to_html(g, title: str) -> str:
    pos = _layout(g)
    width = max((x for x, _ in pos.values()), default=0) + NODE_W + 2 * MARGIN
    height = max((y for _, y in pos.values()), default=0) + NODE_H + 2 * MARGIN
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="Helvetica, Arial, sans-serif">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
             'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#666"/>'
             '</marker></defs>']
    for path in sorted(g.clusters, key=len):
        if not path:
            continue
        inside = [pos[n.id] for n in g.nodes if n.cluster[:len(path)] == path]
        if not inside:
            continue
        pad = 14 - 2 * min(len(path), 5)
        x0 = min(x for x, _ in inside) - pad
        y0 = min(y for _, y in inside) - pad - 10
        x1 = max(x for x, _ in inside) + NODE_W + pad
        y1 = max(y for _, y in inside) + NODE_H + pad
        label = f"{'.'.join(path)} ({g.clusters[path]})"
        parts.append(f'<g class="module"><rect x="{x0}" y="{y0}" width="{x1 - x0}" '
                     f'height="{y1 - y0}" rx="8" fill="none" stroke="#999" '
                     f'stroke-dasharray="4 3"/><text x="{x0 + 6}" y="{y0 + 11}" font-size="9" '
                     f'fill="#555">{escape(label)}</text></g>')
    for e in g.edges:
        (sx, sy), (dx, dy) = pos[e.src], pos[e.dst]
        x1, y1, x2, y2 = sx + NODE_W / 2, sy + NODE_H, dx + NODE_W / 2, dy
        mid = (y1 + y2) / 2
        parts.append(f'<g class="edge"><path d="M{x1},{y1} C{x1},{mid} {x2},{mid} {x2},{y2}" '
                     f'fill="none" stroke="#888" marker-end="url(#arrow)"/>'
                     f'<text x="{(x1 + x2) / 2 + 4}" y="{mid}" font-size="8" fill="#444">'
                     f'{escape(e.label)}</text></g>')
    for n in g.nodes:
        x, y = pos[n.id]
        label = n.label if len(n.label) <= 22 else n.label[:21] + "…"
        parts.append(f'<g class="node {n.role}"><title>{escape(n.label)}</title>'
                     f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6" '
                     f'fill="{_FILL[n.role]}" stroke="#456"/><text x="{x + NODE_W / 2}" '
                     f'y="{y + NODE_H / 2 + 4}" font-size="11" text-anchor="middle">'
                     f'{escape(label)}</text></g>')
    parts.append("</svg>")
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>body{{margin:0;background:#fafafa}}"
            "h1{font:14px Helvetica,Arial,sans-serif;margin:12px 40px}</style></head><body>"
            f"<h1>{escape(title)}: {len(g.nodes)} nodes, {len(g.clusters)} modules</h1>\n"
            + "\n".join(parts) + "\n</body></html>\n")
