"""The self-contained page of ``graphtorch profile --html``: a flame chart and the op table.

The chart draws one iteration (the median by wall time) as an icicle: time runs left to right,
each row one level deeper (iteration, module calls, nodes, the nodes of blocks); hovering a
slice shows its IR line, source and time, clicking it zooms the chart to it (click the top row
to zoom out). Below it, the per-node table of the profile and the totals per node kind.
"""

from __future__ import annotations

import json
from html import escape

from graphtorch.viz.trace import Slice

ROW_H, WIDTH = 20, 1200
_COLORS = {"iteration": "#b9c3cf", "module": "#8fb3e8", "control": "#f0c96a", "op": "#9fd4a8",
           "prim": "#e8d9b0"}

_STYLE = """
body { margin: 0; font: 13px Helvetica, Arial, sans-serif; color: #223; background: #fafbfc; }
header { padding: 10px 16px; background: #fff; border-bottom: 1px solid #dde; }
header h1 { font-size: 16px; margin: 0 0 2px 0; }
header .meta { color: #667; }
section { padding: 10px 16px; }
h2 { font-size: 14px; margin: 6px 0; }
#flame { background: #fff; border: 1px solid #dde; }
#flame g.slice { cursor: pointer; }
#flame g.slice:hover rect { stroke: #d0582a; stroke-width: 1.5; }
table { border-collapse: collapse; background: #fff; }
th, td { padding: 3px 9px; border-bottom: 1px solid #eef; text-align: right; }
th { background: #f0f2f6; position: sticky; top: 0; }
td.l, th.l { text-align: left; font-family: Menlo, Consolas, monospace; font-size: 12px; }
td .bar { display: inline-block; height: 8px; background: #8fb3e8; vertical-align: middle; }
#tip { position: fixed; display: none; background: #fff; border: 1px solid #bbc; padding: 6px 9px;
  border-radius: 5px; pointer-events: none; max-width: 600px; z-index: 3;
  box-shadow: 0 2px 8px rgba(0,0,0,.15); }
#tip pre { margin: 4px 0; white-space: pre-wrap; font: 11px Menlo, Consolas, monospace; }
"""

_SCRIPT = """
(function () {
  const tip = document.getElementById("tip");
  const svg = document.getElementById("flame");
  const full = svg.viewBox.baseVal.width;
  function esc(s) { return String(s).replace(/[&<>]/g, function (c) {
    return {"&": "&amp;", "<": "&lt;", ">": "&gt;"}[c]; }); }
  svg.addEventListener("mousemove", function (ev) {
    const g = ev.target.closest("g.slice");
    if (!g) { tip.style.display = "none"; return; }
    const d = JSON.parse(g.getAttribute("data-info"));
    tip.innerHTML = "<b>" + esc(d.name) + "</b> " + d.ms + " ms" +
      (d.ir ? "<pre>" + esc(d.ir) + "</pre>" : "") + (d.source ? esc(d.source) : "");
    tip.style.display = "block";
    tip.style.left = (ev.clientX + 12) + "px";
    tip.style.top = (ev.clientY + 12) + "px";
  });
  svg.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  svg.addEventListener("click", function (ev) {   // zoom to the clicked slice
    const g = ev.target.closest("g.slice");
    if (!g) return;
    const r = g.querySelector("rect");
    let x = parseFloat(r.getAttribute("x")), w = parseFloat(r.getAttribute("width"));
    if (g.getAttribute("data-depth") === "0") { x = 0; w = full; }
    svg.setAttribute("viewBox", x + " 0 " + w + " " + svg.viewBox.baseVal.height);
    // labels would stretch with the zoom: shown only at full width (hover still works)
    svg.querySelectorAll("text").forEach(function (t) {
      t.style.display = w < full ? "none" : "";
    });
  });
})();
"""


def _code(text: str) -> str:
    """A node line without its trailing ``# source`` comment, cut to 90 characters."""
    code = text.split("  #", 1)[0].split(" # ", 1)[0]
    return code if len(code) <= 90 else code[:89] + "…"


def _flatten(s: Slice, depth: int, out: list) -> None:
    out.append((s, depth))
    for c in s.children:
        _flatten(c, depth + 1, out)


def flame_svg(it: Slice) -> str:
    rows: list[tuple[Slice, int]] = []
    _flatten(it, 0, rows)
    depth = max(d for _, d in rows) + 1
    scale = WIDTH / it.dur if it.dur > 0 else 0.0
    parts = [f'<svg id="flame" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
             f'height="{depth * ROW_H}" viewBox="0 0 {WIDTH} {depth * ROW_H}" '
             'preserveAspectRatio="none" font-family="Helvetica, Arial, sans-serif">']
    for s, d in rows:
        x = (s.start - it.start) * scale
        w = max(s.dur * scale, 0.5)
        info = {"name": s.name, "ms": f"{s.dur * 1e3:.4f}", "ir": s.args.get("ir", ""),
                "source": s.args.get("source", "")}
        label = ""
        if w > 40:
            chars = int((w - 6) / 6.2)
            label = s.name if len(s.name) <= chars else s.name[:max(chars - 1, 1)] + "…"
        parts.append(f'<g class="slice {s.cat}" data-depth="{d}" '
                     f'data-info="{escape(json.dumps(info))}"><rect x="{x:.2f}" '
                     f'y="{d * ROW_H}" width="{w:.2f}" height="{ROW_H - 2}" '
                     f'fill="{_COLORS.get(s.cat, "#ccc")}" stroke="#fff" stroke-width="0.5"/>'
                     + (f'<text x="{x + 3:.2f}" y="{d * ROW_H + 13}" '
                        f'font-size="11">{escape(label)}</text>' if label else "") + "</g>")
    parts.append("</svg>")
    return "".join(parts)


def profile_html(title: str, doc: dict, iterations: list[Slice]) -> str:
    """The page: header, flame chart of the median iteration, per-node and per-kind tables."""
    it = sorted(iterations, key=lambda s: s.dur)[len(iterations) // 2] if iterations else None
    top = max((r["total_ms"] for r in doc["nodes"]), default=1.0) or 1.0
    rows = "".join(
        f"<tr><td>{r['total_ms']:.3f}</td><td>{r['percent']:.1f}</td><td>{r['calls']}</td>"
        f"<td>{r['mean_us']:.1f}</td><td class=l><span class=bar style=\"width:"
        f"{100 * r['total_ms'] / top:.0f}px\"></span> {escape(r['kind'])}</td>"
        f"<td class=l title=\"{escape(r['text'])}\">{escape(_code(r['text']))}</td>"
        f"<td class=l>{escape(r['source'])}</td></tr>" for r in doc["nodes"])
    kinds = "".join(f"<tr><td>{k['total_ms']:.3f}</td><td>{k['percent']:.1f}</td>"
                    f"<td class=l>{escape(k['kind'])}</td></tr>" for k in doc["by_kind"])
    chart = flame_svg(it) if it is not None else "<p>no iterations traced</p>"
    meta = (f"{doc['iters']} iterations · {doc['wall_ms_per_iter']:.3f} ms per iteration · "
            f"method {doc['method']}")
    legend = " ".join(f'<span style="background:{c};padding:1px 6px">{k}</span>'
                      for k, c in _COLORS.items())
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>profile: {escape(title)}</title><style>{_STYLE}</style></head><body>\n"
            f"<header><h1>profile: {escape(title)}</h1><div class=meta>{escape(meta)}</div>"
            "</header>\n<section><h2>flame chart (median iteration"
            + (f", {it.dur * 1e3:.3f} ms" if it is not None else "") +
            f"): hover for details, click to zoom</h2><div>{legend}</div>{chart}</section>\n"
            "<section><h2>nodes of the prepared graph, by total time</h2><table><tr>"
            "<th>total ms</th><th>%</th><th>calls</th><th>mean us</th><th class=l>kind</th>"
            f"<th class=l>node</th><th class=l>source</th></tr>{rows}</table></section>\n"
            "<section><h2>by kind</h2><table><tr><th>total ms</th><th>%</th>"
            f"<th class=l>kind</th></tr>{kinds}</table></section>\n"
            f"<div id=tip></div><script>{_SCRIPT}</script>\n</body></html>\n")
