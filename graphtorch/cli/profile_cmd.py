"""``graphtorch profile MODEL``: per-node time table of the prepared graph, sorted by total time.

The model's method is prepared as the executor prepares it (calls inlined, parameters lifted)
and run by the reference interpreter with its timing hook, which reports every top-level node;
control-flow nodes (``prim::If``/``prim::Loop``) count as one node including their blocks.

``--trace out.json`` also runs the method's own graph (calls not inlined) ``--iters`` times with
every node timed at every depth and writes Chrome trace-event JSON (viz/trace.py): slices nested
by iteration, module call and control-flow block. ``--html out.html`` writes a page with a flame
chart of those slices and the table (viz/flame.py).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from graphtorch.autograd import no_grad
from graphtorch.cli.errors import emit_json
from graphtorch.cli.run_cmd import add_model_arguments, add_timing_arguments, prepare_run
from graphtorch.frontend.script_module import ScriptFunction
from graphtorch.ir.printer import node_line
from graphtorch.runtime.executor import (
    _resolve,
    check_inputs,
    prepared_function_graph,
    prepared_graph,
)
from graphtorch.runtime.interpreter import Interpreter
from graphtorch.viz.flame import profile_html
from graphtorch.viz.trace import trace_events, trace_run


def add_parser(sub):
    p = sub.add_parser("profile", help="per-node time table, sorted by total time")
    add_model_arguments(p)
    add_timing_arguments(p, iters=10)
    p.add_argument("--top", type=int, default=25, metavar="N", help="rows to show (25; 0: all)")
    p.add_argument("--trace", metavar="OUT.json",
                   help="write Chrome trace-event JSON (Perfetto, chrome://tracing): one slice "
                        "per node, nested by module and block")
    p.add_argument("--html", metavar="OUT.html",
                   help="write a self-contained page with a flame chart and the table")
    p.set_defaults(handler=run)
    return p


@dataclass
class NodeStats:
    index: int
    kind: str
    text: str
    source: str
    calls: int = 0
    times: list[float] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(self.times)


def profile(prep, method: str, warmup: int, iters: int) -> tuple[list[NodeStats], float]:
    graph, inputs = _prepared(prep, method)
    stats: dict[int, NodeStats] = {}
    order = {id(n): i for i, n in enumerate(graph.nodes())}
    recording = False

    def hook(node, seconds: float) -> None:
        if not recording:
            return
        s = stats.get(id(node))
        if s is None:
            s = stats[id(node)] = NodeStats(order.get(id(node), -1), node.kind,
                                            node_line(node).strip(),
                                            str(node.source) if node.source else "")
        s.calls += 1
        s.times.append(seconds)

    interp = Interpreter(hook)
    with no_grad():
        for _ in range(warmup):
            interp.run(graph, inputs)
        prep.sync()
        recording = True
        t0 = time.perf_counter()
        for _ in range(iters):
            interp.run(graph, inputs)
        prep.sync()
        wall = time.perf_counter() - t0
    rows = sorted(stats.values(), key=lambda s: (-s.total, s.index))
    return rows, wall


def trace(prep, method: str, iters: int, warmup: int = 0):
    """Slices of ``iters`` runs of the method's own graph (see viz/trace.py)."""

    target = prep.target
    if isinstance(target, ScriptFunction):
        names = [v.name for v in target.graph.inputs]
        vals = check_inputs(target.graph, list(prep.call_args), names, target.name, first=0)
        return trace_run(target, vals, iters, warmup=warmup)
    module = target.owner
    vals = check_inputs(target.graph, list(prep.call_args), target.arg_names, method, first=1)
    return trace_run(target, [module] + vals, iters, module, warmup)


def _prepared(prep, method: str):
    target = prep.target
    if isinstance(target, ScriptFunction):
        fn = target
        names = [v.name for v in fn.graph.inputs]
        vals = check_inputs(fn.graph, list(prep.call_args), names, fn.name, first=0)
        return prepared_function_graph(fn), vals
    module = target.owner
    vals = check_inputs(target.graph, list(prep.call_args), target.arg_names, method, first=1)
    p = prepared_graph(module, method)
    return p.graph, [module] + vals + [_resolve(module, path) for path in p.param_paths]


def run(args) -> int:
    prep = prepare_run(args)
    rows, wall = profile(prep, args.method, args.warmup, args.iters)
    total = sum(r.total for r in rows) or 1e-12
    shown = rows if args.top == 0 else rows[:args.top]
    table = [{"node": r.index, "kind": r.kind, "calls": r.calls, "total_ms": r.total * 1e3,
              "mean_us": r.total / r.calls * 1e6, "percent": 100 * r.total / total,
              "source": r.source, "text": r.text} for r in shown]
    by_kind: dict[str, float] = {}
    for r in rows:
        by_kind[r.kind] = by_kind.get(r.kind, 0.0) + r.total
    doc = {"model": args.model, "method": args.method, "iters": args.iters,
           "wall_ms_per_iter": wall / args.iters * 1e3, "nodes": table,
           "by_kind": [{"kind": k, "total_ms": v * 1e3, "percent": 100 * v / total}
                       for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1])]}
    if prep.device.type == "cuda":
        # NOTE: kernels run asynchronously; a node's time is its launch, the wall time is real
        doc["note"] = "on CUDA, per-node times are launch times; wall_ms_per_iter is synchronized"
    if args.trace or args.html:
        _write_pictures(args, prep, doc)
    if args.json:
        emit_json(doc)
        return 0
    if "note" in doc:
        print(f"note: {doc['note']}")
    print(f"{args.model} {args.method}: {args.iters} iterations, "
          f"{doc['wall_ms_per_iter']:.3f} ms per iteration ({len(rows)} nodes)")
    print(f"{'total ms':>10} {'%':>6} {'calls':>6} {'mean us':>9}  {'node':<28} source")
    for r in table:
        print(f"{r['total_ms']:10.3f} {r['percent']:6.1f} {r['calls']:6d} {r['mean_us']:9.1f}  "
              f"{_short(r['text'], 28):<28} {r['source']}")
    if args.top and len(rows) > args.top:
        print(f"... {len(rows) - args.top} more nodes (--top 0 shows all)")
    print("by kind:")
    for k in doc["by_kind"]:
        print(f"{k['total_ms']:10.3f} {k['percent']:6.1f}  {k['kind']}")
    return 0


def _write_pictures(args, prep, doc: dict) -> None:
    iterations = trace(prep, args.method, args.iters, args.warmup)
    if args.trace:
        meta = {"model": args.model, "method": args.method, "iters": args.iters}
        Path(args.trace).write_text(json.dumps(trace_events(iterations, meta)),
                                    encoding="utf-8")
        doc["trace"] = args.trace
    if args.html:
        Path(args.html).write_text(profile_html(Path(args.model).name, doc, iterations),
                                   encoding="utf-8")
        doc["html"] = args.html


def _short(text: str, width: int) -> str:
    """The node's right-hand side (``op::add(%1, %2)``), cut to ``width``."""
    rhs = text.split(" = ", 1)[-1].split("  #", 1)[0]
    return rhs if len(rhs) <= width else rhs[:width - 3] + "..."
