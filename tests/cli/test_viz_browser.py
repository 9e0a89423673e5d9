"""The viz HTML page in a real headless Chromium: every node drawn and visible, clicking a
module folds and unfolds it, a screenshot is taken. Skips (with the reason) without Chromium."""

from __future__ import annotations

import html as html_lib
import json
import re
import shutil
import subprocess

import pytest

from graphtorch.archive import save
from graphtorch.archive.reader import read_archive
from graphtorch.viz import build_viz, graphviz_available
from tests.cli.test_cli import gtcli
from tests.cli.viz_zoo import nested, two_linear_if

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--hide-scrollbars", "--window-size=1200,900", "--virtual-time-budget=3000"]


def browser() -> str:
    exe = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if exe is None:
        pytest.skip("no Chromium found (apt-get install chromium); the page is not checked "
                    "in a browser")
    return exe


def dom(page, query: str, tmp_path) -> dict:
    """The page's ``?check=1`` report after loading with ``query``."""
    proc = subprocess.run([browser(), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           "--dump-dom", f"{page.as_uri()}?check=1&{query}"],
                          capture_output=True, text=True, timeout=120)
    m = re.search(r'<pre id="gt-check">(.*?)</pre>', proc.stdout, re.S)
    assert m, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    return json.loads(html_lib.unescape(m.group(1)))


@pytest.fixture(scope="module", params=["builtin", "dot"])
def page(request, tmp_path_factory):
    if request.param == "dot" and not graphviz_available():
        pytest.skip("Graphviz (the graphviz package and the dot program) is not installed")
    d = tmp_path_factory.mktemp("page")
    save(two_linear_if(), d / "m.gt")
    gtcli("viz", d / "m.gt", "-o", d / "m.html", "--shape", "x:32x8", "--engine", request.param)
    return d / "m.html", build_viz(read_archive(d / "m.gt"))


def test_every_node_is_drawn_and_visible(page, tmp_path):
    path, g = page
    report = dom(path, "", tmp_path)
    width, height = report["view"]
    assert set(report["nodes"]) == {n.id for n in g.nodes}
    for nid, box in report["nodes"].items():
        assert box["shown"], nid
        # fitted: every node lies inside the window
        assert box["x"] >= -1 and box["x"] + box["w"] <= width + 1, (nid, box)
        assert box["y"] >= -1 and box["y"] + box["h"] <= height + 45, (nid, box)
    assert not any(report["clusters"].values())


def test_clicking_a_module_folds_and_unfolds_it(page, tmp_path):
    path, g = page
    inside = set(g.members("cluster_l1"))
    report = dom(path, "click=cluster_l1", tmp_path)
    assert report["clusters"]["cluster_l1"] and not report["clusters"]["cluster_l2"]
    for nid, box in report["nodes"].items():
        assert box["shown"] == (nid not in inside), nid
    report = dom(path, "click=cluster_l1,cluster_l1", tmp_path)
    assert not report["clusters"]["cluster_l1"]
    assert all(box["shown"] for box in report["nodes"].values())


def test_folding_an_if_hides_both_branches(page, tmp_path):
    path, g = page
    report = dom(path, "fold=cluster_if", tmp_path)
    hidden = {nid for nid, box in report["nodes"].items() if not box["shown"]}
    assert hidden == set(g.members("cluster_if"))
    assert {n.label for n in g.nodes if n.id in hidden} >= {"if", "mul", "merge"}


def test_hover_shows_the_ir_line_and_source(page, tmp_path):
    path, g = page
    linear = next(n for n in g.nodes if n.label == "linear" and n.cluster == "cluster_l1")
    report = dom(path, f"hover={linear.id}", tmp_path)
    assert report["tip"]["shown"]
    tip = html_lib.unescape(report["tip"]["html"])
    assert "op::linear(%input, %0, %1)" in tip and "graphtorch/nn/linear.py:" in tip
    assert "l1: Linear" in tip


def test_wheel_zooms_in(page, tmp_path):
    path, _ = page
    zoom = dom(path, "wheel=1", tmp_path)["zoom"]
    before = [float(v) for v in zoom["before"].split()]
    after = [float(v) for v in zoom["after"].split()]
    assert after[2] < before[2] and after[3] < before[3]         # a smaller area: zoomed in
    # around the cursor at the centre: the centre of the view stays where it was
    for i in (0, 1):
        assert after[i] + after[i + 2] / 2 == pytest.approx(before[i] + before[i + 2] / 2,
                                                             abs=1.0)


def test_screenshot(tmp_path):
    d = tmp_path
    save(nested(), d / "n.gt")
    gtcli("viz", d / "n.gt", "-o", d / "n.html")
    shot = d / "n.png"
    subprocess.run([browser(), *FLAGS, f"--user-data-dir={d / 'profile'}",
                    f"--screenshot={shot}", f"{(d / 'n.html').as_uri()}?fit=1"],
                   capture_output=True, timeout=120)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1200, 900)
    assert len(data) > 20_000     # a blank page compresses to a few KiB
