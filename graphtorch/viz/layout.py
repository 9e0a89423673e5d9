"""A pure-Python layered (Sugiyama) layout for drawings with nested clusters.

Used when Graphviz is not installed. Clusters are laid out inside out: a cluster's direct nodes
and child clusters (each already laid out, so one rectangle) are the items of one layered
layout, so every cluster's box holds exactly its own nodes and sibling boxes never overlap.
For each cluster:

1. **Layering**: edges between items follow program order (an edge against it is reversed);
   an item's layer is one below its deepest predecessor, then items feeding others (parameters,
   constants) move down to just above their first consumer.
2. **Crossing reduction**: long edges get one dummy per layer they cross; layers are reordered
   by the barycenter of their neighbours in sweeps down and up, keeping the order with the
   fewest crossings.
3. **Coordinates**: every sweep moves each item towards the mean x of its neighbours, solved
   exactly per layer (least squares under the order and spacing constraints: pool adjacent
   violators); layers stack vertically, items centred in their layer.

Edges are polylines from the source's bottom through their dummies to the target's top.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NODE_H, MIN_W, MAX_W, CHAR_W = 28.0, 56.0, 300.0, 6.6
GAP_X, GAP_Y, PAD, LABEL_H, DUMMY_W = 22.0, 46.0, 12.0, 18.0, 8.0
MAX_LABEL = 40
SWEEPS = 8
TOP, BOTTOM = "\1top", "\1bottom"     # a cluster's entry and exit ports (zero-height items)


def node_text(label: str) -> str:
    """The label as drawn (long ones cut; the page shows the whole line on hover)."""
    return label if len(label) <= MAX_LABEL else label[:MAX_LABEL - 1] + "…"


def node_size(label: str) -> tuple[float, float]:
    return min(MAX_W, max(MIN_W, CHAR_W * len(node_text(label)) + 20.0)), NODE_H


@dataclass
class Box:
    x: float
    y: float
    w: float
    h: float

    def moved(self, dx: float, dy: float) -> Box:
        return Box(self.x + dx, self.y + dy, self.w, self.h)


@dataclass
class Layout:
    width: float
    height: float
    nodes: dict[str, Box] = field(default_factory=dict)
    clusters: dict[str, Box] = field(default_factory=dict)
    edges: dict[str, list[tuple[float, float]]] = field(default_factory=dict)


@dataclass
class _Local:
    """One cluster's layout in its own coordinates (top-left of its content is 0, 0)."""

    w: float
    h: float
    items: dict[str, Box]                       # item -> box
    dummies: dict[tuple[str, str], list[tuple[float, float]]]   # (item, item) -> waypoints


def layout(g) -> Layout:
    """Positions of every node, cluster and edge of a VizGraph."""
    order = {n.id: i for i, n in enumerate(g.nodes)}
    children: dict[str, list[str]] = {"": []}
    for cid in g.clusters:
        children.setdefault(cid, [])
    for cid, c in g.clusters.items():
        children.setdefault(c.parent, []).append(cid)
    direct: dict[str, list[str]] = {cid: [] for cid in children}
    for n in g.nodes:
        direct[n.cluster].append(n.id)
    chain = {n.id: [n.id] + g.ancestors(n.cluster) for n in g.nodes}
    first = {}
    for n in g.nodes:
        for cid in chain[n.id][1:]:
            first.setdefault(cid, order[n.id])
    for k, cid in enumerate(g.clusters):     # a cluster without nodes goes last
        first.setdefault(cid, len(order) + k)
    rank = {**order, **first}
    sizes = {n.id: node_size(n.label) for n in g.nodes}
    sizes[TOP] = sizes[BOTTOM] = (DUMMY_W, 0.0)
    roles = {n.id: n.role for n in g.nodes}
    locals_: dict[str, _Local] = {}

    def item_in(nid: str, cid: str) -> str | None:
        """The item of cluster ``cid`` that holds node ``nid`` (None if outside it)."""
        c = chain[nid]
        if cid == "":
            return c[-1]
        if cid not in c:
            return None
        i = c.index(cid)
        return c[i - 1]

    def lay(cid: str) -> None:
        for child in children[cid]:
            lay(child)
        items = direct[cid] + children[cid]
        for child in children[cid]:
            loc = locals_[child]
            sizes[child] = (loc.w + 2 * PAD, loc.h + 2 * PAD + LABEL_H)
        links: dict[tuple[str, str], int] = {}
        ordered = sorted(items, key=rank.__getitem__)
        for e in g.edges:
            a, b = item_in(e.src, cid), item_in(e.dst, cid)
            if a is None and b is not None:
                a = TOP         # enters the cluster: routed from its top edge
            elif b is None and a is not None:
                b = BOTTOM      # leaves it: routed to its bottom edge
            if a is None or b is None or a == b:
                continue
            key = (a, b) if a == TOP or b == BOTTOM or rank[a] < rank[b] else (b, a)
            links[key] = links.get(key, 0) + 1
        if cid and g.clusters[cid].kind == "block" and ordered and \
                ordered[0] in roles and roles[ordered[0]] == "block":
            # a block's first node (its start) sits above everything else of the block
            fed = {b for a, b in links if a != TOP}
            for item in ordered[1:]:
                if item not in fed:
                    links[(ordered[0], item)] = 1
        used = {x for key in links for x in key}
        ordered = [TOP] * (TOP in used) + ordered + [BOTTOM] * (BOTTOM in used)
        locals_[cid] = _layered(ordered, links, sizes)

    lay("")
    out = Layout(0.0, 0.0)

    def place(cid: str, dx: float, dy: float) -> None:
        loc = locals_[cid]
        for item, box in loc.items.items():
            b = box.moved(dx, dy)
            if item in (TOP, BOTTOM):
                out.ports[(cid, item)] = (b.x + b.w / 2, b.y)
            elif item in g.clusters:
                out.clusters[item] = b
                place(item, b.x + PAD, b.y + PAD + LABEL_H)
            else:
                out.nodes[item] = b
        out.dummies_by[cid] = {k: [(x + dx, y + dy) for x, y in pts]
                               for k, pts in loc.dummies.items()}

    out.dummies_by, out.ports = {}, {}
    place("", PAD, PAD)
    root = locals_[""]
    out.width, out.height = root.w + 2 * PAD, root.h + 2 * PAD
    _route(g, out, chain, item_in, rank)
    del out.dummies_by, out.ports
    return out


def _route(g, out: Layout, chain, item_in, rank) -> None:
    """Edge polylines: source bottom, the dummies of the cluster where the edge is laid out,
    target top; several edges at one node side are spread along it."""
    ends: dict[tuple[str, str], list[str]] = {}
    for e in g.edges:
        ends.setdefault((e.src, "out"), []).append(e.id)
        ends.setdefault((e.dst, "in"), []).append(e.id)
    by_id = {e.id: e for e in g.edges}

    def anchor(nid: str, side: str, eid: str) -> tuple[float, float]:
        box = out.nodes[nid]
        ids = ends[(nid, side)]
        other = (lambda i: out.nodes[by_id[i].dst]) if side == "out" else \
            (lambda i: out.nodes[by_id[i].src])
        ids = sorted(ids, key=lambda i: other(i).x + other(i).w / 2)
        k = ids.index(eid)
        x = box.x + box.w * (k + 1) / (len(ids) + 1)
        return (x, box.y + box.h) if side == "out" else (x, box.y)

    def via(cid: str, key: tuple[str, str]) -> list[tuple[float, float]]:
        pts = list(out.dummies_by.get(cid, {}).get(key, []))
        for port in (TOP, BOTTOM):
            if port in key and (cid, port) in out.ports:
                p = out.ports[(cid, port)]
                pts = [p] + pts if port == TOP else pts + [p]
        return pts

    for e in g.edges:
        lca = next(c for c in chain[e.src][1:] + [""] if c == "" or c in chain[e.dst])
        a, b = item_in(e.src, lca), item_in(e.dst, lca)
        forward = rank[a] < rank[b]
        mids = via(lca, (a, b) if forward else (b, a))
        if not forward:
            mids.reverse()
        up = chain[e.src][1:chain[e.src].index(lca)] if lca else chain[e.src][1:]
        down = chain[e.dst][1:chain[e.dst].index(lca)] if lca else chain[e.dst][1:]
        before = [p for c in up for p in via(c, (item_in(e.src, c), BOTTOM))]
        after = [p for c in reversed(down) for p in via(c, (TOP, item_in(e.dst, c)))]
        out.edges[e.id] = [anchor(e.src, "out", e.id), *before, *mids, *after,
                           anchor(e.dst, "in", e.id)]


def _layered(items: list[str], links: dict[tuple[str, str], int], sizes: dict) -> _Local:
    if not items:
        return _Local(0.0, 0.0, {}, {})
    succ: dict[str, list[str]] = {i: [] for i in items}
    pred: dict[str, list[str]] = {i: [] for i in items}
    for a, b in links:
        succ[a].append(b)
        pred[b].append(a)
    layer: dict[str, int] = {}
    for i in items:                     # items are in program order: a topological order
        layer[i] = 1 + max((layer[p] for p in pred[i]), default=-1)
    for i in reversed(items):           # sources feeding others sit just above their consumer
        if not pred[i] and succ[i] and i != TOP:
            layer[i] = min(layer[s] for s in succ[i]) - 1
    if TOP in layer:                    # the entry port has its own (flat) first layer
        layer = {k: v - min(layer.values()) + (k != TOP) for k, v in layer.items()}
        layer[TOP] = 0
    if BOTTOM in layer:
        layer[BOTTOM] = max(v for k, v in layer.items() if k != BOTTOM) + 1
    # dummies: one per crossed layer for each long link
    width = dict(sizes)
    chains: dict[tuple[str, str], list[str]] = {}
    nbr_up: dict[str, list[str]] = {i: [] for i in items}
    nbr_down: dict[str, list[str]] = {i: [] for i in items}
    for (a, b) in links:
        prev = a
        path = []
        for k in range(layer[a] + 1, layer[b]):
            d = f"\0{a}\0{b}\0{k}"
            layer[d] = k
            width[d] = (DUMMY_W, 0.0)
            nbr_up[d], nbr_down[d] = [], []
            path.append(d)
            nbr_down[prev].append(d)
            nbr_up[d].append(prev)
            prev = d
        nbr_down[prev].append(b)
        nbr_up[b].append(prev)
        chains[(a, b)] = path
    n_layers = max(layer.values()) + 1
    rows: list[list[str]] = [[] for _ in range(n_layers)]
    for v in list(items) + [d for p in chains.values() for d in p]:
        rows[layer[v]].append(v)
    rows = _order(rows, nbr_up, nbr_down)
    xs = _coordinates(rows, nbr_up, nbr_down, width)
    heights = [max((width[v][1] for v in row), default=0.0) for row in rows]
    ys, y = [], 0.0
    for h in heights:
        ys.append(y)
        y += h + (GAP_Y if h else GAP_Y / 2)
    left = min(xs[v] - width[v][0] / 2 for row in rows for v in row)
    boxes: dict[str, Box] = {}
    points: dict[str, tuple[float, float]] = {}
    for k, row in enumerate(rows):
        for v in row:
            w, h = width[v]
            x = xs[v] - w / 2 - left
            top = ys[k] + (heights[k] - h) / 2
            if v in sizes and not v.startswith("\0"):
                boxes[v] = Box(x, top, w, h)
            else:
                points[v] = (xs[v] - left, ys[k] + heights[k] / 2)
    total_w = max(b.x + b.w for b in boxes.values())
    total_w = max([total_w] + [p[0] + DUMMY_W / 2 for p in points.values()])
    total_h = y - (GAP_Y if heights[-1] else GAP_Y / 2)
    dummies = {}
    for key, path in chains.items():
        pts = []
        for d in path:
            x, yc = points[d]
            k = layer[d]
            pts.append((x, ys[k] + heights[k] / 2))
        dummies[key] = pts
    return _Local(total_w, total_h, boxes, dummies)


def _crossings(rows, nbr_down) -> int:
    total = 0
    for k in range(len(rows) - 1):
        pos = {v: i for i, v in enumerate(rows[k + 1])}
        segs = [(i, pos[w]) for i, v in enumerate(rows[k]) for w in nbr_down[v] if w in pos]
        for i in range(len(segs)):
            a1, b1 = segs[i]
            for j in range(i + 1, len(segs)):
                a2, b2 = segs[j]
                if (a1 - a2) * (b1 - b2) < 0:
                    total += 1
    return total


def _order(rows, nbr_up, nbr_down):
    best, best_c = [list(r) for r in rows], _crossings(rows, nbr_down)
    cur = [list(r) for r in rows]
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        ks = range(1, len(cur)) if down else range(len(cur) - 2, -1, -1)
        for k in ks:
            ref = cur[k - 1] if down else cur[k + 1]
            pos = {v: i for i, v in enumerate(ref)}
            nb = nbr_up if down else nbr_down
            old = {v: i for i, v in enumerate(cur[k])}

            def bary(v, pos=pos, nb=nb, old=old):
                ps = [pos[w] for w in nb[v] if w in pos]
                return (sum(ps) / len(ps), old[v]) if ps else (old[v], old[v])

            cur[k].sort(key=bary)
        c = _crossings(cur, nbr_down)
        if c < best_c:
            best, best_c = [list(r) for r in cur], c
        if best_c == 0:
            break
    return best


def _coordinates(rows, nbr_up, nbr_down, width) -> dict[str, float]:
    xs: dict[str, float] = {}
    for row in rows:
        x = 0.0
        for v in row:
            xs[v] = x + width[v][0] / 2
            x += width[v][0] + GAP_X
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        ks = range(len(rows)) if down else range(len(rows) - 1, -1, -1)
        for k in ks:
            row = rows[k]
            desired = []
            for v in row:
                nb = nbr_up[v] + nbr_down[v] if sweep >= 2 else \
                    (nbr_up[v] if down else nbr_down[v])
                nb = nb or nbr_up[v] + nbr_down[v]
                if not nb:
                    desired.append(xs[v])
                    continue
                # long edges pull harder, so their dummies line up and the edges run straight
                ws = [1.0 + 3.0 * (v[0] == "\0") + 3.0 * (w[0] == "\0") for w in nb]
                desired.append(sum(wt * xs[w] for wt, w in zip(ws, nb)) / sum(ws))
            for v, x in zip(row, _fit(desired, [width[v][0] for v in row])):
                xs[v] = x
    return xs


def _fit(desired: list[float], widths: list[float]) -> list[float]:
    """Centres closest to ``desired`` (least squares) keeping order and spacing: isotonic
    regression of desired - offset by pooling adjacent violators."""
    offsets, acc = [], 0.0
    for i, w in enumerate(widths):
        if i:
            acc += (widths[i - 1] + w) / 2 + GAP_X
        offsets.append(acc)
    blocks: list[list[float]] = []      # [mean, count]
    for d, o in zip(desired, offsets):
        blocks.append([d - o, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, c2 = blocks.pop()
            m1, c1 = blocks.pop()
            blocks.append([(m1 * c1 + m2 * c2) / (c1 + c2), c1 + c2])
    ys = []
    for m, c in blocks:
        ys += [m] * int(c)
    return [y + o for y, o in zip(ys, offsets)]
