"""``graphtorch viz MODEL -o out.{dot,svg,html}``: a picture of the model's dataflow
(``--format onnx -o m.onnx [--netron]``: an ONNX file, cli/viz_onnx.py).

Submodule calls are expanded in place as nested clusters, ``prim::If``/``prim::Loop`` bodies as
nested blocks, and edges carry dtype and shape (from ``--shape`` through shape propagation, else
the declared types). Graphviz's ``dot`` lays the drawing out when it and the ``graphviz`` package
are installed; otherwise the built-in layered layout does (graphtorch/viz/). ``.html`` is a
self-contained interactive page (pan, zoom, hover details, fold modules).
"""

from __future__ import annotations

import sys
from pathlib import Path

from graphtorch import dtypes
from graphtorch.archive.reader import read_archive
from graphtorch.cli.errors import CLIError, UsageError, emit_json
from graphtorch.cli.inputs import ShapeSpec
from graphtorch.cli.inspect_cmd import entry_method
from graphtorch.cli.viz_onnx import write_onnx
from graphtorch.device import CPU
from graphtorch.ir.types import TensorType
from graphtorch.viz import draw

ENGINES = ("auto", "dot", "builtin")


def add_parser(sub):
    p = sub.add_parser("viz", help="draw the graph: DOT, SVG or an interactive HTML page")
    p.add_argument("model", help="a .gt archive")
    p.add_argument("-o", "--output", required=True, metavar="OUT.{dot,svg,html,onnx}")
    p.add_argument("--format", choices=("dot", "svg", "html", "onnx"),
                   help="output format (default: from the extension of -o)")
    p.add_argument("--netron", action="store_true",
                   help="with --format onnx: open the file in Netron (needs the netron package)")
    p.add_argument("--method", default="forward", help="method to draw (default: forward)")
    p.add_argument("--constants", action="store_true", help="also draw scalar constants")
    p.add_argument("--shape", action="append", metavar="NAME:DIMS[:DTYPE]",
                   help="input shape (repeatable, e.g. x:32x8): edges show propagated shapes")
    p.add_argument("--collapse", type=int, metavar="DEPTH",
                   help="draw modules nested deeper than DEPTH as single boxes (0: all)")
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="layout: Graphviz dot, the built-in layered layout, or auto (dot when "
                        "installed)")
    p.set_defaults(handler=run)
    return p


def input_types(specs: list[str] | None, arg_names: list[str]) -> dict:
    """Argument name -> TensorType from ``--shape`` specs."""

    out = {}
    for text in specs or []:
        spec = ShapeSpec.parse(text)
        if spec.name not in arg_names:
            raise UsageError(f"--shape {text!r}: the method has no argument {spec.name!r}; "
                             f"its arguments are {arg_names}")
        dt = dtypes.from_name(spec.dtype) if spec.dtype else dtypes.get_default_dtype()
        out[spec.name] = TensorType(dt, spec.shape, CPU)
    return out


def run(args) -> int:
    out = Path(args.output)
    fmt = args.format or out.suffix.lower().lstrip(".")
    if fmt == "onnx":
        return write_onnx(args)
    if args.netron:
        raise UsageError("--netron goes with --format onnx")
    if args.format and out.suffix.lower().lstrip(".") != fmt:
        raise UsageError(f"-o {args.output!r} does not end in .{fmt} (--format {fmt})")
    if fmt not in ("dot", "svg", "html"):
        raise UsageError(f"-o {args.output!r}: the extension must be .dot, .svg or .html")
    if args.collapse is not None and args.collapse < 0:
        raise UsageError(f"--collapse {args.collapse}: expected a depth >= 0")
    loaded = read_archive(args.model)
    _, arg_names, _ = entry_method(loaded, args.method)
    g, text, engine, note = draw(loaded, fmt, title=Path(args.model).name, method=args.method,
                                 constants=args.constants, collapse=args.collapse,
                                 input_types=input_types(args.shape, arg_names),
                                 engine=args.engine)
    if engine is None:
        raise CLIError(note)
    out.write_text(text, encoding="utf-8")
    modules = sum(c.kind == "module" for c in g.clusters.values())
    doc = {"model": args.model, "output": str(out), "format": fmt, "engine": engine,
           "nodes": len(g.nodes), "edges": len(g.edges), "clusters": len(g.clusters),
           "modules": modules}
    if note:
        doc["note"] = note
        print(f"graphtorch viz: note: {note}", file=sys.stderr)
    if args.json:
        emit_json(doc)
    else:
        print(f"wrote {out} ({len(g.nodes)} nodes, {len(g.edges)} edges, {modules} module "
              f"calls; layout: {engine})")
    return 0
