"""The built-in layered layout on random graphs with random nested clusters: every cluster's box
holds exactly its nodes, no two nodes or sibling boxes overlap, every edge ends on its nodes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphtorch.viz.layout import layout
from graphtorch.viz.model import VizCluster, VizEdge, VizGraph, VizNode
from graphtorch.viz.svg import to_svg
from tests.cli.viz_geometry import check_layout

ROLES = ["input", "op", "prim", "param", "block", "module", "const", "output"]


@st.composite
def graphs(draw) -> VizGraph:
    g = VizGraph()
    n_clusters = draw(st.integers(0, 6))
    ids: list[str] = [""]
    for k in range(n_clusters):
        parent = draw(st.sampled_from(ids))
        kind = draw(st.sampled_from(["module", "function", "if", "loop", "block"]))
        cid = f"cluster_{k}"
        g.clusters[cid] = VizCluster(cid, parent, f"c{k}: {kind}", kind)
        ids.append(cid)
    n = draw(st.integers(1, 30))
    for i in range(n):
        label = draw(st.text("abcdefgh_:[]0123456789 ", min_size=1, max_size=48))
        g.nodes.append(VizNode(f"n{i}", label, draw(st.sampled_from(ids)),
                               draw(st.sampled_from(ROLES))))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                          max_size=3 * n))
    seen = set()
    for a, b in pairs:
        if a == b or (a, b) in seen:
            continue
        seen.add((a, b))      # mostly forward (as drawn graphs are); some backward ones too
        g.edges.append(VizEdge(f"e{len(g.edges)}", f"n{a}", f"n{b}", "float32[2]",
                               control=draw(st.booleans())))
    return g


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_random_graphs_keep_the_layout_invariants(g):
    check_layout(g, to_svg(g))


@settings(max_examples=30, deadline=None)
@given(graphs())
def test_layout_is_deterministic(g):
    a, b = layout(g), layout(g)
    assert a.nodes == b.nodes and a.clusters == b.clusters and a.edges == b.edges
