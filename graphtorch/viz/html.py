"""The self-contained interactive page of ``graphtorch viz -o out.html``.

One file: the drawing's SVG inline (from Graphviz or the built-in layout), the node details as
JSON and a small inline script (page.js): drag to pan, wheel to zoom, hover a node for its IR
line and source location, click a cluster to fold or unfold it. Nothing is fetched from the
network. Test hooks: ``?fold=ID,ID`` folds clusters on load, ``?check=1`` fits the drawing and
appends ``<pre id="gt-check">`` with every node's on-screen box.
"""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

from graphtorch.viz.svg import CLUSTER_STYLE, NODE_STYLE

_SCRIPT = Path(__file__).with_name("page.js")

_STYLE = """
html, body { margin: 0; height: 100%; background: #fafbfc; font: 13px Helvetica, Arial,
  sans-serif; color: #223; }
header { display: flex; align-items: center; gap: 12px; padding: 8px 14px; white-space: nowrap;
  border-bottom: 1px solid #dde; background: #fff; height: 24px; overflow: hidden; }
header h1 { font-size: 15px; margin: 0; }
header .meta { color: #667; }
header .help { margin-left: auto; color: #889; font-size: 12px; }
header button { font: 12px Helvetica, Arial, sans-serif; border: 1px solid #ccd;
  background: #f5f6f8; border-radius: 4px; padding: 2px 8px; cursor: pointer; }
#gt-canvas { position: absolute; top: 41px; left: 0; right: 0; bottom: 0; overflow: hidden;
  cursor: grab; }
#gt-canvas svg { width: 100%; height: 100%; user-select: none; }
#gt-canvas g.cluster { cursor: pointer; }
#gt-canvas g.cluster.folded rect, #gt-canvas g.cluster.folded polygon,
#gt-canvas g.cluster.folded path { fill: #dfe8f6; fill-opacity: 1; stroke-width: 2; }
#gt-canvas g.node:hover rect, #gt-canvas g.node:hover polygon, #gt-canvas g.node:hover path,
#gt-canvas g.node:hover ellipse { stroke: #d0582a; stroke-width: 2; }
#gt-legend { position: fixed; left: 10px; bottom: 10px; background: rgba(255,255,255,.9);
  border: 1px solid #dde; border-radius: 5px; padding: 4px 8px; font-size: 11px; color: #556; }
#gt-legend span { display: inline-block; margin-right: 8px; }
#gt-legend i { display: inline-block; width: 10px; height: 10px; border: 1px solid;
  border-radius: 2px; margin-right: 3px; vertical-align: -1px; }
#gt-tip { position: fixed; display: none; max-width: 640px; background: #fff;
  border: 1px solid #bbc; border-radius: 5px; padding: 6px 9px; pointer-events: none;
  box-shadow: 0 2px 8px rgba(0,0,0,.15); z-index: 5; }
#gt-tip pre { margin: 4px 0; white-space: pre-wrap; font: 11px Menlo, Consolas, monospace; }
#gt-tip .src { color: #2f5597; font-size: 11px; }
#gt-tip .in { color: #889; font-size: 11px; }
"""


def _inline_svg(svg: str) -> str:
    """The ``<svg>`` element alone (no XML declaration, doctype or comments)."""
    svg = re.sub(r"<\?xml.*?\?>", "", svg, flags=re.S)
    svg = re.sub(r"<!DOCTYPE.*?>", "", svg, flags=re.S)
    return re.sub(r"<!--.*?-->", "", svg, flags=re.S).strip()


def page_data(g) -> dict:
    """What the script needs: node details, edge ends, each cluster's nodes and clusters."""
    inner: dict[str, list[str]] = {cid: [] for cid in g.clusters}
    nodes: dict[str, list[str]] = {cid: [] for cid in g.clusters}
    for cid in g.clusters:
        for anc in g.ancestors(cid)[1:]:
            inner[anc].append(cid)
    for n in g.nodes:
        for anc in g.ancestors(n.cluster):
            nodes[anc].append(n.id)
    return {"nodes": {n.id: {"label": n.label, "role": n.role, "text": n.text,
                             "source": n.source, "cluster": n.cluster} for n in g.nodes},
            "edges": {e.id: [e.src, e.dst, e.label] for e in g.edges},
            "clusters": {cid: {"label": c.label, "kind": c.kind, "parent": c.parent,
                               "nodes": nodes[cid], "inner": inner[cid]}
                         for cid, c in g.clusters.items()}}


_LEGEND_NODES = {"input": "input / output", "op": "op", "prim": "prim", "param": "parameter",
                 "module": "module (collapsed)", "block": "block in / out"}
_LEGEND_CLUSTERS = {"module": "module call", "function": "function call", "if": "if",
                    "loop": "loop"}


def _legend(g) -> str:
    roles = {n.role for n in g.nodes} | ({"input"} if any(n.role == "output" for n in g.nodes)
                                         else set())
    kinds = {c.kind for c in g.clusters.values()}
    items = [(NODE_STYLE[r], text) for r, text in _LEGEND_NODES.items() if r in roles]
    items += [(CLUSTER_STYLE[k][:2], text) for k, text in _LEGEND_CLUSTERS.items() if k in kinds]
    return "".join(f'<span><i style="background:{fill};border-color:{stroke}"></i>'
                   f"{escape(text)}</span>" for (fill, stroke), text in items)


def to_html(g, svg: str, title: str, engine: str) -> str:
    data = json.dumps(page_data(g), separators=(",", ":")).replace("</", "<\\/")
    script = _SCRIPT.read_text(encoding="utf-8")
    meta = (f"{len(g.nodes)} nodes · {len(g.edges)} edges · "
            f"{sum(c.kind == 'module' for c in g.clusters.values())} module calls · "
            f"laid out by {engine}")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>\n"
            f"<header><h1>{escape(title)}</h1><span class=\"meta\">{escape(meta)}</span>"
            "<button id=\"gt-fit\">fit</button><button id=\"gt-in\">+</button>"
            "<button id=\"gt-out\">&minus;</button><button id=\"gt-unfold\">unfold all</button>"
            "<span class=\"help\">drag: pan · wheel: zoom · hover: IR line · click a box: fold"
            "</span></header>\n"
            f"<div id=\"gt-canvas\">{_inline_svg(svg)}</div><div id=\"gt-tip\"></div>\n"
            f"<div id=\"gt-legend\">{_legend(g)}</div>\n"
            f"<script type=\"application/json\" id=\"gt-data\">{data}</script>\n"
            f"<script>\n{script}</script>\n</body></html>\n")
