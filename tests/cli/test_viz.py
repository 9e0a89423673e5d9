"""graphtorch viz: layout invariants on the SVG of both layout engines for a zoo of graphs,
control-flow blocks, parameter placement, propagated shapes on edges, --collapse."""

from __future__ import annotations

import json
import re

import pytest

from graphtorch.archive import save
from graphtorch.archive.reader import read_archive
from graphtorch.ir.types import TensorType
from graphtorch.viz import build_viz, draw, graphviz_available, render_svg, to_dot, to_svg
from graphtorch.viz.html import page_data
from tests.cli.test_cli import gtcli
from tests.cli.viz_geometry import Rect, check_layout, read_geometry
from tests.cli.viz_zoo import ZOO

ENGINES = ["builtin", "dot"]


@pytest.fixture(scope="module")
def archives(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("zoo")
    out = {}
    for name, make in ZOO.items():
        out[name] = d / f"{name}.gt"
        save(make(), out[name])
    return out


def svg_of(g, engine: str) -> str:
    if engine == "dot":
        if not graphviz_available():
            pytest.skip("Graphviz (the graphviz package and the dot program) is not installed")
        return render_svg(to_dot(g))
    return to_svg(g)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", list(ZOO))
def test_layout_invariants(archives, name, engine):
    g = build_viz(read_archive(archives[name]))
    check_layout(g, svg_of(g, engine))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("depth", [0, 1])
def test_collapsed_layout_invariants(archives, engine, depth):
    g = build_viz(read_archive(archives["nested"]), collapse=depth)
    check_layout(g, svg_of(g, engine))
    modules = {c.label for c in g.clusters.values() if c.kind == "module"}
    boxes = {n.label for n in g.nodes if n.role == "module"}
    if depth == 0:
        assert modules == set()
        assert boxes == {"stage1: Middle", "stage2: Middle", "head: Linear"}
    else:
        assert modules == {"stage1: Middle", "stage2: Middle", "head: Linear"}
        assert boxes == {"stage1.a: Inner", "stage1.b: Inner", "stage2.a: Inner",
                         "stage2.b: Inner"}


def test_the_check_catches_a_node_outside_its_cluster(archives):
    g = build_viz(read_archive(archives["two_linear_if"]))
    svg = to_svg(g)
    weight = next(n for n in g.nodes if n.label == "weight" and n.cluster == "cluster_l2")
    moved = re.sub(rf'(<g class="node param" id="{weight.id}">.*?<rect x=")([\d.]+)',
                   lambda m: m.group(1) + str(float(m.group(2)) + 5000), svg)
    assert moved != svg
    with pytest.raises(AssertionError):
        check_layout(g, moved)


def test_the_check_catches_overlapping_nodes():
    a, b = Rect(0, 0, 10, 10), Rect(5, 5, 20, 20)
    assert a.overlaps(b) and not a.overlaps(Rect(10, 0, 20, 10))
    assert Rect(1, 1, 2, 2).inside(a) and not b.inside(a)


@pytest.mark.parametrize("engine", ENGINES)
def test_issue_model_clusters_blocks_and_parameters(archives, engine):
    g = build_viz(read_archive(archives["two_linear_if"]))
    kinds = {cid: c.kind for cid, c in g.clusters.items()}
    assert kinds == {"cluster_l1": "module", "cluster_if": "if", "cluster_if_then": "block",
                     "cluster_if_else": "block", "cluster_loop": "loop",
                     "cluster_loop_body": "block", "cluster_l2": "module"}
    mul = next(n for n in g.nodes if n.label == "mul")
    assert mul.cluster == "cluster_if_then" and "op::mul" in mul.text
    add = next(n for n in g.nodes if n.label == "add")
    assert add.cluster == "cluster_loop_body"
    assert [n.label for n in g.nodes if n.cluster == "cluster_l2"] == ["weight", "bias",
                                                                       "linear"]
    geo = check_layout(g, svg_of(g, engine))
    l1 = set(g.members("cluster_l1"))
    assert not any(geo.nodes[n].inside(geo.clusters["cluster_l2"]) for n in l1)
    # parameters sit right above their linear: within two rows, overlapping it horizontally
    for cluster in ("cluster_l1", "cluster_l2"):
        linear = next(n for n in g.nodes if n.cluster == cluster and n.label == "linear")
        lin = geo.nodes[linear.id]
        for p in (n for n in g.nodes if n.cluster == cluster and n.role == "param"):
            box = geo.nodes[p.id]
            assert box.y1 <= lin.y0 and lin.y0 - box.y1 < 80, (cluster, p.label)
            assert abs((box.x0 + box.x1) / 2 - (lin.x0 + lin.x1) / 2) < 150


def test_loop_body_holds_an_if_holding_a_module_call(archives):
    g = build_viz(read_archive(archives["loop_if"]))
    c = g.clusters
    assert c["cluster_if"].parent == "cluster_loop_body"
    assert c["cluster_lin"].parent == "cluster_if_then"
    assert {n.label for n in g.nodes if n.cluster == "cluster_if_else"} >= {"tanh"}
    body = next(n for n in g.nodes if n.cluster == "cluster_loop_body" and n.role == "block")
    assert body.label.startswith("body(%i")


def test_each_call_of_a_module_is_its_own_cluster(archives):
    g = build_viz(read_archive(archives["twice"]))
    assert {cid: c.label for cid, c in g.clusters.items()} == {"cluster_l": "l: Linear",
                                                              "cluster_l_2": "l: Linear"}
    for cid in g.clusters:
        assert [n.label for n in g.nodes if n.cluster == cid] == ["weight", "bias", "linear"]


def test_script_function_calls_are_clusters_too(archives):
    from graphtorch import dtypes

    loaded = read_archive(archives["cell"])
    g = build_viz(loaded)
    (fid,) = [cid for cid, c in g.clusters.items() if c.kind == "function"]
    assert g.clusters[fid].label == "scale()"
    assert g.clusters[fid].parent == "cluster_if_then"
    assert [n.label for n in g.nodes if n.cluster == fid] == ["mul"]
    f32 = dtypes.float32
    typed = build_viz(loaded, input_types={"x": TensorType(f32, (2, 4)),
                                           "h": TensorType(f32, (2, 4))})
    mul = next(n for n in typed.nodes if n.cluster == fid)
    assert {e.label for e in typed.edges if e.src == mul.id} == {"float32[2, 4]"}
    boxes = build_viz(loaded, collapse=0)
    assert not boxes.clusters.get(fid) and any(n.label == "scale()" for n in boxes.nodes)


def test_an_empty_call_still_has_its_box(archives):
    g = build_viz(read_archive(archives["identity"]))
    (node,) = [n for n in g.nodes if n.cluster == "cluster_1"]
    assert node.label == "identity" and g.clusters["cluster_1"].label == "1: Identity"
    assert [e.label for e in g.edges if e.dst == node.id] == ["float32[2, 3]"]


def test_edges_carry_propagated_shapes(archives, tmp_path):
    path = archives["two_linear_if"]
    plain = build_viz(read_archive(path))
    assert "?" not in {e.label for e in plain.edges}
    assert "Tensor" in {e.label for e in plain.edges}   # scripted: declared types only
    gtcli("viz", path, "-o", tmp_path / "g.dot", "--shape", "x:32x8")
    dot = (tmp_path / "g.dot").read_text()
    for label in ("float32[32, 8]", "float32[16, 8]", "float32[32, 16]", "float32[32, 4]"):
        assert f'label="{label}"' in dot, label
    g = build_viz(read_archive(path), input_types={"x": TensorType(None, None)})
    assert all(e.label != "float32[32, 4]" for e in g.edges)


def test_shape_of_an_unknown_argument_is_a_usage_error(archives, tmp_path):
    proc = gtcli("viz", archives["two_linear_if"], "-o", tmp_path / "g.dot", "--shape",
                 "y:3x8", check=2)
    assert "no argument 'y'" in proc.stderr


@pytest.mark.parametrize("engine", ENGINES)
def test_html_page_is_self_contained_with_details(archives, tmp_path, engine):
    if engine == "dot" and not graphviz_available():
        pytest.skip("Graphviz (the graphviz package and the dot program) is not installed")
    out = tmp_path / "g.html"
    doc = json.loads(gtcli("viz", archives["cell"], "-o", out, "--engine", engine,
                           "--json").stdout)
    assert doc["engine"] == engine and doc["modules"] == 1
    html = out.read_text()
    assert "<script src" not in html and "<link" not in html
    data = json.loads(re.search(r'<script type="application/json" id="gt-data">(.*?)</script>',
                                html, re.S).group(1))
    g = build_viz(read_archive(archives["cell"]))
    assert data == json.loads(json.dumps(page_data(g)))
    lin = next(n for n in data["nodes"].values() if n["label"] == "linear")
    assert "op::linear" in lin["text"] and lin["source"].startswith("graphtorch/nn/linear.py:")
    geo = read_geometry(html[html.index("<svg"):html.index("</svg>") + 6])
    assert set(geo.nodes) == set(data["nodes"])


def test_engine_dot_without_graphviz_is_an_error(archives, monkeypatch):
    import graphtorch.viz as viz

    monkeypatch.setattr(viz, "graphviz_available", lambda: False)
    g, text, engine, note = draw(read_archive(archives["cell"]), "svg", "cell", engine="dot")
    assert engine is None and "Graphviz is not installed" in note
    g, text, engine, note = draw(read_archive(archives["cell"]), "svg", "cell")
    assert engine == "builtin" and text.startswith("<?xml") and "built-in" in note
