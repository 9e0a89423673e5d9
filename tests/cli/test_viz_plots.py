"""benchmarks/plots.py: benchmark tables of a markdown page (or --json rows) as PNG charts."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_plots", ROOT / "benchmarks" / "plots.py")
plots = importlib.util.module_from_spec(_spec)
sys.modules["bench_plots"] = plots      # its dataclasses look their module up by name
_spec.loader.exec_module(plots)

PAGE = """# Perf

## Ops (benchmarks/x.py)

| op | numel | numpy | graphtorch | gt/numpy |
| --- | ---: | ---: | ---: | ---: |
| add | 1,000 | 0.37 us | 1.57 us | 4.23 |
| add | 10M | 4.60 ms | 4.80 ms | 1.04 |

text between

| threads | model | graphtorch | PyTorch | gt / PyTorch |
| --- | --- | ---: | ---: | ---: |
| 1 | MLP | 11.56 | 10.41 | 1.11x |
| 2 | MLP | 8.46 | 13.89 | 0.61x |
"""


def test_cells_read_as_numbers_in_ms():
    assert plots.parse_cell("0.37 us") == pytest.approx(0.37e-3)
    assert plots.parse_cell("4.60 ms") == 4.60
    assert plots.parse_cell("2 s") == 2000.0
    assert plots.parse_cell("1,000") == 1000.0
    assert plots.parse_cell("1.11x") == 1.11
    assert plots.parse_cell("MLP 784-512") is None and plots.parse_cell("10M") is None


def test_tables_and_series():
    first, second = plots.read_tables(PAGE)
    assert first.section == "Ops (benchmarks/x.py)" and len(first.rows) == 2
    labels, series = plots.series_of(first)
    assert labels == ["add · 1,000", "add · 10M"]
    assert series == {"numpy": [pytest.approx(0.37e-3), 4.60],
                      "graphtorch": [pytest.approx(1.57e-3), 4.80]}
    labels, series = plots.series_of(second)
    assert labels == ["1 · MLP", "2 · MLP"]
    assert series == {"graphtorch": [11.56, 8.46], "PyTorch": [10.41, 13.89]}


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_page_and_json_rows_to_png(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib is not installed (graphtorch[plots])")
    page = tmp_path / "perf.md"
    page.write_text(PAGE)
    written = plots.plot_markdown(page, tmp_path / "img")
    assert [p.name for p in written] == ["ops.png", "ops_2.png"]
    for p in written:
        w, h = _png_size(p)
        assert w >= 500 and h >= 300
    rows = [{"op": "add", "numpy": 1.0, "graphtorch": 1.5}, {"op": "mul", "numpy": 2.0,
                                                            "graphtorch": 2.5}]
    (tmp_path / "rows.json").write_text(json.dumps(rows))
    out = tmp_path / "rows.png"
    subprocess.run([sys.executable, ROOT / "benchmarks" / "plots.py", "--json",
                    tmp_path / "rows.json", "--label", "op", "--values", "numpy,graphtorch",
                    "-o", out], check=True, capture_output=True, timeout=120)
    assert _png_size(out)[0] >= 500
