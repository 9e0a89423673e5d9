"""PNG bar charts of benchmark tables, for docs/performance.md to show beside them.

Run: ``.venv/bin/python benchmarks/plots.py docs/performance.md -o docs/img`` plots every table
of the page's benchmark sections from the figures already measured there (nothing is re-run);
``--json rows.json --label op --values numpy,torch,graphtorch -o out.png`` plots the ``--json``
rows a benchmark script printed. Needs matplotlib (``pip install 'graphtorch[plots]'``).

Cells read as numbers: ``1,000``, ``0.37 us``, ``4.60 ms`` (times in ms), ``1.11x``; ratio columns
(``gt / PyTorch``, ``gt/numpy``, anything ending in ``x``) and text columns are labels or left
out. Times spanning more than two decades use a log scale.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from pathlib import Path

_UNITS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1e3}
_LABELS = {"numel", "n", "size", "batch", "threads", "layers", "dim", "iters", "step"}
_NUMBER = re.compile(r"^(-?[\d,]*\.?\d+)\s*(ns|us|µs|ms|s|x)?$")


@dataclass
class Table:
    section: str
    header: list[str]
    rows: list[list[str]]


def parse_cell(text: str) -> float | None:
    """The number in a table cell (times in milliseconds), or None for text."""
    m = _NUMBER.match(text.strip().strip("*"))
    if not m:
        return None
    value = float(m.group(1).replace(",", ""))
    unit = m.group(2)
    return value * _UNITS[unit] if unit in _UNITS else value


def read_tables(markdown: str) -> list[Table]:
    """Every pipe table of a markdown page with the ``##`` section it sits in."""
    tables, section, lines = [], "", markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            section = line[3:].strip()
        if line.startswith("|") and i + 1 < len(lines) and re.match(r"^\|[\s:|-]+\|$",
                                                                      lines[i + 1].strip()):
            header = [c.strip() for c in line.strip().strip("|").split("|")]
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            tables.append(Table(section, header, rows))
            continue
        i += 1
    return tables


def _is_ratio(name: str) -> bool:
    return "/" in name or name.lower().endswith(("x", "ratio", "speedup")) or name == "target"


def series_of(table: Table) -> tuple[list[str], dict[str, list[float]]]:
    """Bar labels (the text columns joined) and one series per measured numeric column."""
    numeric = [j for j, name in enumerate(table.header)
               if not _is_ratio(name) and table.rows and
               all(parse_cell(r[j]) is not None for r in table.rows if j < len(r))]
    # numeric columns that name the case (sizes, counts) label the bars instead
    measured = [j for j in numeric if table.header[j].lower() not in _LABELS]
    labels = [" · ".join(r[j] for j in range(len(table.header)) if j not in measured and
                         j < len(r) and not _is_ratio(table.header[j]))
              for r in table.rows]
    return labels, {table.header[j]: [parse_cell(r[j]) for r in table.rows] for j in measured}


def bar_chart(title: str, labels: list[str], series: dict[str, list[float]], path: Path,
              ylabel: str = "ms") -> None:
    import matplotlib  # optional (graphtorch[plots]); only this script needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # after the backend is chosen

    n, k = len(labels), max(len(series), 1)
    width = 0.8 / k
    flat = [v for vs in series.values() for v in vs if v and v > 0]
    log = bool(flat) and max(flat) / min(flat) > 100
    horizontal = n > 8           # many cases: one row each, labels readable
    size = (9.0, 0.22 * n * k + 1.6) if horizontal else (max(6.0, 0.5 * n * k + 2), 4.2)
    fig, ax = plt.subplots(figsize=size, dpi=100)
    for i, (name, values) in enumerate(series.items()):
        pos = [j + (i - (k - 1) / 2) * width for j in range(n)]
        if horizontal:
            ax.barh(pos, values, width, label=name)
        else:
            ax.bar(pos, values, width, label=name)
    if horizontal:
        ax.set_yticks(range(n))
        ax.set_yticklabels(labels, fontsize=8)
        ax.invert_yaxis()           # first row on top, as in the table
        ax.set_xlabel(ylabel)
        if log:
            ax.set_xscale("log")
        ax.grid(axis="x", alpha=0.3)
    else:
        ax.set_xticks(range(n))
        ax.set_xticklabels([label.replace(" · ", "\n") for label in labels], fontsize=8)
        ax.set_ylabel(ylabel)
        if log:
            ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:60] or "table"


def plot_markdown(page: Path, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    counts: dict[str, int] = {}
    for t in read_tables(page.read_text()):
        labels, series = series_of(t)
        if not series or len(t.rows) < 2:
            continue
        name = _slug(t.section.split("(")[0])
        counts[name] = counts.get(name, 0) + 1
        path = out_dir / (f"{name}.png" if counts[name] == 1 else f"{name}_{counts[name]}.png")
        unit = "ms" if any(re.search(r"(us|ms|s)$", r[t.header.index(c)]) for c in series
                           for r in t.rows) else "as in the table"
        bar_chart(t.section, labels, series, path, unit)
        written.append(path)
    return written


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("page", nargs="?", help="a markdown page with benchmark tables")
    p.add_argument("-o", "--output", required=True, help="folder (page) or PNG file (--json)")
    p.add_argument("--json", help="rows printed by a benchmark's --json (a list of objects)")
    p.add_argument("--label", help="--json: the key naming each bar group")
    p.add_argument("--values", help="--json: comma-separated keys to plot")
    p.add_argument("--title", default="")
    args = p.parse_args()
    if args.json:
        rows = json.loads(Path(args.json).read_text())
        keys = args.values.split(",")
        bar_chart(args.title, [str(r[args.label]) for r in rows],
                  {k: [float(r[k]) for r in rows] for k in keys}, Path(args.output))
        print(f"wrote {args.output}")
        return
    if not args.page:
        p.error("give a markdown page or --json")
    for path in plot_markdown(Path(args.page), Path(args.output)):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
