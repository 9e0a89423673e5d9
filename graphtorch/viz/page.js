// graphtorch viz page: pan, zoom, hover details, fold/unfold clusters. No network, no libraries.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("gt-data").textContent);
  const canvas = document.getElementById("gt-canvas");
  const svg = canvas.querySelector("svg");
  const tip = document.getElementById("gt-tip");
  const params = new URLSearchParams(window.location.search);
  const vb = svg.viewBox.baseVal;
  const full = {x: vb.x, y: vb.y, w: vb.width, h: vb.height};
  const view = {x: 0, y: 0, w: 1, h: 1};
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");

  function apply() {
    svg.setAttribute("viewBox", view.x + " " + view.y + " " + view.w + " " + view.h);
  }
  function show(scale, top) {
    const cw = canvas.clientWidth || 800, ch = canvas.clientHeight || 600;
    view.w = cw / scale;
    view.h = ch / scale;
    view.x = full.x + full.w / 2 - view.w / 2;
    view.y = top ? full.y - 10 / scale : full.y + full.h / 2 - view.h / 2;
    apply();
  }
  function fit() {
    const cw = canvas.clientWidth || 800, ch = canvas.clientHeight || 600;
    show(Math.min(cw / (full.w + 20), ch / (full.h + 20)), false);
  }
  function start() {   // readable size, top of the graph in view
    const cw = canvas.clientWidth || 800;
    show(Math.min(1.25, cw / (full.w + 20)), true);
  }
  function zoom(k, cx, cy) {
    const r = svg.getBoundingClientRect();
    const fx = (cx - r.left) / r.width, fy = (cy - r.top) / r.height;
    const px = view.x + fx * view.w, py = view.y + fy * view.h;
    view.w *= k;
    view.h *= k;
    view.x = px - fx * view.w;
    view.y = py - fy * view.h;
    apply();
  }
  canvas.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    zoom(Math.exp(ev.deltaY * 0.0015), ev.clientX, ev.clientY);
  }, {passive: false});
  let drag = null;
  canvas.addEventListener("pointerdown", function (ev) {
    drag = {x: ev.clientX, y: ev.clientY, moved: false};
  });
  window.addEventListener("pointermove", function (ev) {
    if (drag) {
      const r = svg.getBoundingClientRect();
      const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      view.x -= dx * view.w / r.width;
      view.y -= dy * view.h / r.height;
      drag.x = ev.clientX;
      drag.y = ev.clientY;
      apply();
    }
    if (tip.style.display === "block") {
      tip.style.left = (ev.clientX + 14) + "px";
      tip.style.top = (ev.clientY + 14) + "px";
    }
  });
  window.addEventListener("pointerup", function () {
    setTimeout(function () { drag = null; }, 0);
  });

  // hover: the node's full IR line and source location
  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;"}[c];
    });
  }
  svg.addEventListener("mouseover", function (ev) {
    const g = ev.target.closest("g.node, g.edge");
    if (!g) { tip.style.display = "none"; return; }
    let html;
    if (g.classList.contains("node")) {
      const n = data.nodes[g.id];
      if (!n) return;
      html = "<b>" + esc(n.label) + "</b> <i>" + esc(n.role) + "</i>";
      if (n.text) html += "<pre>" + esc(n.text) + "</pre>";
      if (n.source) html += "<div class=src>" + esc(n.source) + "</div>";
      if (n.cluster) html += "<div class=in>in " + esc(data.clusters[n.cluster].label) + "</div>";
    } else {
      const e = data.edges[g.id];
      if (!e) return;
      html = esc(data.nodes[e[0]].label) + " &rarr; " + esc(data.nodes[e[1]].label) +
        (e[2] ? "<pre>" + esc(e[2]) + "</pre>" : "");
    }
    tip.innerHTML = html;
    tip.style.display = "block";
    tip.style.left = (ev.clientX + 14) + "px";
    tip.style.top = (ev.clientY + 14) + "px";
  });
  svg.addEventListener("mouseleave", function () { tip.style.display = "none"; });

  // folding: a folded cluster hides what it holds and is drawn opaque on top
  const folded = {};
  const home = {};
  for (const cid in data.clusters) {
    const el = document.getElementById(cid);
    if (!el) continue;
    const text = el.querySelector("text");
    home[cid] = {el: el, parent: el.parentNode, next: el.nextSibling,
                 text: text, label: text ? text.textContent : ""};
  }
  function refresh() {
    const hiddenNodes = new Set(), hiddenClusters = new Set();
    for (const cid in folded) {
      if (!folded[cid]) continue;
      data.clusters[cid].nodes.forEach(function (n) { hiddenNodes.add(n); });
      data.clusters[cid].inner.forEach(function (c) { hiddenClusters.add(c); });
    }
    for (const nid in data.nodes) {
      const el = document.getElementById(nid);
      if (el) el.style.display = hiddenNodes.has(nid) ? "none" : "";
    }
    for (const eid in data.edges) {
      const el = document.getElementById(eid);
      const e = data.edges[eid];
      if (el) el.style.display = hiddenNodes.has(e[0]) && hiddenNodes.has(e[1]) ? "none" : "";
    }
    for (const cid in home) {
      const h = home[cid];
      const isFolded = !!folded[cid] && !hiddenClusters.has(cid);
      h.el.style.display = hiddenClusters.has(cid) ? "none" : "";
      h.el.classList.toggle("folded", isFolded);
      h.el.setAttribute("data-folded", isFolded ? "1" : "0");
      if (h.text) {
        h.text.textContent = isFolded ?
          "\u25B8 " + h.label + " (" + data.clusters[cid].nodes.length + " nodes)" : h.label;
      }
      if (isFolded) {
        h.parent.appendChild(h.el);
      } else if (h.el.parentNode === h.parent && h.next && h.el.nextSibling !== h.next) {
        h.parent.insertBefore(h.el, h.next);
      }
    }
  }
  function toggle(cid) {
    folded[cid] = !folded[cid];
    refresh();
  }
  svg.addEventListener("click", function (ev) {
    if (drag && drag.moved) return;
    if (ev.target.closest("g.node")) return;
    const c = ev.target.closest("g.cluster");
    if (c && data.clusters[c.id]) toggle(c.id);
  });
  document.getElementById("gt-fit").onclick = fit;
  document.getElementById("gt-in").onclick = function () {
    const r = svg.getBoundingClientRect();
    zoom(1 / 1.25, r.left + r.width / 2, r.top + r.height / 2);
  };
  document.getElementById("gt-out").onclick = function () {
    const r = svg.getBoundingClientRect();
    zoom(1.25, r.left + r.width / 2, r.top + r.height / 2);
  };
  document.getElementById("gt-unfold").onclick = function () {
    for (const cid in folded) folded[cid] = false;
    refresh();
  };
  window.gtFold = function (cid, on) { folded[cid] = on !== false; refresh(); };

  (params.get("fold") || "").split(",").filter(Boolean).forEach(function (cid) {
    if (data.clusters[cid]) folded[cid] = true;
  });
  refresh();
  // test hook: real click events on the named clusters, in order
  (params.get("click") || "").split(",").filter(Boolean).forEach(function (cid) {
    const el = document.getElementById(cid);
    const shape = el && el.querySelector("rect, polygon, path");
    if (shape) shape.dispatchEvent(new MouseEvent("click", {bubbles: true}));
  });
  if (params.get("check") || params.get("fit")) fit(); else start();
  if (params.get("check")) {   // test hook: what is drawn where, read back from the DOM
    const out = {view: [canvas.clientWidth, canvas.clientHeight], nodes: {}, clusters: {}};
    const hover = params.get("hover");
    if (hover && document.getElementById(hover)) {   // a real mouseover on that node
      const r = document.getElementById(hover).getBoundingClientRect();
      document.getElementById(hover).querySelector("rect, polygon, path, ellipse")
        .dispatchEvent(new MouseEvent("mouseover", {bubbles: true, clientX: r.left,
                                                    clientY: r.top}));
      out.tip = {shown: tip.style.display === "block", html: tip.innerHTML};
    }
    if (params.get("wheel")) {   // a real wheel event: the view zooms in around the cursor
      const before = svg.getAttribute("viewBox");
      const r = canvas.getBoundingClientRect();
      canvas.dispatchEvent(new WheelEvent("wheel", {deltaY: -300, bubbles: true,
        cancelable: true, clientX: r.left + r.width / 2, clientY: r.top + r.height / 2}));
      out.zoom = {before: before, after: svg.getAttribute("viewBox")};
    }
    for (const nid in data.nodes) {
      const el = document.getElementById(nid);
      const r = el ? el.getBoundingClientRect() : null;
      out.nodes[nid] = r ? {shown: el.style.display !== "none" && r.width > 0 && r.height > 0,
                            x: r.left, y: r.top, w: r.width, h: r.height} : null;
    }
    for (const cid in home) out.clusters[cid] = home[cid].el.getAttribute("data-folded") === "1";
    const pre = document.createElement("pre");
    pre.id = "gt-check";
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }
})();
