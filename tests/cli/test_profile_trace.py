"""graphtorch profile --trace / --html: Chrome trace-event JSON valid against the format, slices
nested by iteration, module call and control-flow block; the flame-chart page."""

from __future__ import annotations

import json
import math
import re
import subprocess

import pytest

from graphtorch.archive import save
from tests.cli.test_cli import gtcli
from tests.cli.viz_zoo import two_linear_if

ITERS = 3


def _no_constants(name):
    raise ValueError(f"{name} is not JSON")


def validate_trace(doc: dict) -> list[dict]:
    """Check the trace-event format (JSON object form) and return the complete events."""
    assert isinstance(doc, dict) and isinstance(doc["traceEvents"], list)
    assert doc.get("displayTimeUnit", "ms") in ("ms", "ns")
    complete = []
    for ev in doc["traceEvents"]:
        assert ev["ph"] in ("X", "M"), ev
        assert isinstance(ev["name"], str) and ev["name"]
        assert isinstance(ev["pid"], int) and isinstance(ev["tid"], int)
        assert isinstance(ev.get("args", {}), dict)
        if ev["ph"] == "M":
            assert ev["name"] in ("process_name", "thread_name", "process_sort_index",
                                  "thread_sort_index")
            assert isinstance(ev["args"]["name"], str)
            continue
        for key in ("ts", "dur"):
            assert isinstance(ev[key], (int, float)) and not isinstance(ev[key], bool)
            assert math.isfinite(ev[key]) and ev[key] >= 0, ev
        assert isinstance(ev.get("cat", ""), str)
        complete.append(ev)
    # complete events of one thread nest: each lies inside the enclosing one or after it
    by_thread: dict = {}
    for ev in complete:
        by_thread.setdefault((ev["pid"], ev["tid"]), []).append(ev)
    for events in by_thread.values():
        stack: list[dict] = []
        for ev in sorted(events, key=lambda e: (e["ts"], -e["dur"])):
            while stack and stack[-1]["ts"] + stack[-1]["dur"] <= ev["ts"] + 1e-3:
                stack.pop()
            if stack:
                top = stack[-1]
                assert ev["ts"] + ev["dur"] <= top["ts"] + top["dur"] + 1e-3, (ev, top)
            stack.append(ev)
    return complete


def inside(child: dict, parent: dict) -> bool:
    return (parent["ts"] <= child["ts"] + 1e-3 and
            child["ts"] + child["dur"] <= parent["ts"] + parent["dur"] + 1e-3)


@pytest.fixture(scope="module")
def profiled(tmp_path_factory):
    d = tmp_path_factory.mktemp("profile")
    save(two_linear_if(), d / "m.gt")
    doc = json.loads(gtcli("profile", d / "m.gt", "--shape", "x:4x8", "--iters", str(ITERS),
                           "--warmup", "2",   # warmup runs are not traced
                           "--trace", d / "t.json", "--html", d / "p.html", "--top", "0",
                           "--json").stdout)
    trace = json.loads((d / "t.json").read_text(), parse_constant=_no_constants)
    return doc, trace, (d / "p.html").read_text()


def test_trace_is_valid_trace_event_json(profiled):
    doc, trace, _ = profiled
    assert doc["trace"].endswith("t.json")
    events = validate_trace(trace)
    assert trace["otherData"]["iters"] == ITERS
    assert sum(e["cat"] == "iteration" for e in events) == ITERS


def test_slices_nest_by_module_and_block(profiled):
    _, trace, _ = profiled
    events = validate_trace(trace)
    iterations = [e for e in events if e["cat"] == "iteration"]
    for name in ("l1.forward", "l2.forward"):
        calls = [e for e in events if e["name"] == name]
        assert len(calls) == ITERS and all(c["cat"] == "module" for c in calls)
        for call in calls:
            assert sum(inside(call, it) for it in iterations) == 1
            linear = [e for e in events if e["name"] == "linear" and inside(e, call)]
            assert len(linear) == 1
            assert "op::linear" in linear[0]["args"]["ir"]
            assert linear[0]["args"]["source"].startswith("graphtorch/nn/linear.py:")
    ifs = [e for e in events if e["name"] == "prim::If"]
    loops = [e for e in events if e["name"] == "prim::Loop"]
    assert len(ifs) == len(loops) == ITERS
    for node in ifs:    # relu output is >= 0 and Linear(8,16) of rand input: the sum is > 0
        assert len([e for e in events if e["name"] == "mul" and inside(e, node)]) == 1
    for node in loops:  # range(3): the body's add runs three times inside each loop slice
        assert len([e for e in events if e["name"] == "add" and inside(e, node)]) == 3
    outside = [e for e in events if e["name"] == "add" and not any(inside(e, n) for n in loops)]
    assert outside == []


def test_html_page_has_flame_chart_and_table(profiled):
    doc, trace, page = profiled
    assert page.startswith("<!DOCTYPE html>") and "<script src" not in page
    assert '<svg id="flame"' in page
    slices = re.findall(r'<g class="slice (\w+)" data-depth="(\d+)"', page)
    assert ("module", "1") in slices and ("iteration", "0") in slices
    # one iteration's slices: the trace's events divided by the iterations
    n_x = sum(e["ph"] == "X" for e in trace["traceEvents"])
    assert len(slices) == n_x // ITERS
    rows = re.findall(r"<tr><td>", page)
    assert len(rows) == len(doc["nodes"]) + len(doc["by_kind"])


def test_flame_page_renders_in_chromium(profiled, tmp_path):
    from tests.cli.test_viz_browser import FLAGS, browser

    _, _, page = profiled
    path = tmp_path / "p.html"
    path.write_text(page)
    proc = subprocess.run([browser(), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           "--dump-dom", path.as_uri()], capture_output=True, text=True,
                          timeout=120)
    dom = proc.stdout
    assert '<svg id="flame"' in dom and dom.count('class="slice') == page.count('class="slice')
    assert "l1.forward" in dom and "<table>" in dom
