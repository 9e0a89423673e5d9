"""Chrome trace-event JSON of a model run (``graphtorch profile --trace``), for Perfetto and
chrome://tracing.

The method's own graph (not the inlined one) runs through the reference interpreter with every
node timed at every depth: a submodule call is one slice named after the module (its nodes
nested inside), ``prim::If``/``prim::Loop`` slices hold the nodes of the blocks they ran, and
each iteration is a slice of its own. Every slice is a complete event (``ph: "X"``, ``ts`` and
``dur`` in microseconds) on one thread; children always lie inside their parent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from graphtorch.autograd import no_grad
from graphtorch.ir.kinds import Prim
from graphtorch.ir.printer import node_line
from graphtorch.runtime.interpreter import Interpreter

PID, TID = 1, 1


@dataclass
class Slice:
    name: str
    cat: str
    start: float               # seconds (perf_counter)
    dur: float                 # seconds
    depth: int
    args: dict = field(default_factory=dict)
    children: list[Slice] = field(default_factory=list)


class _TimingInterpreter(Interpreter):
    """Times every node of every block; builds the slice tree from the post-order reports."""

    def __init__(self, module_names: dict[int, str]):
        super().__init__(self._report)
        self.module_names = module_names
        self.depth = 0
        self.pending: list[Slice] = []      # reported slices still waiting for their parent
        self.last_call = "?"                # module path of the graph run last

    def run(self, graph, inputs: list):
        # prim::CallMethod runs its callee through run(), receiver first
        path = self.module_names.get(id(inputs[0])) if inputs else None
        try:
            return super().run(graph, inputs)
        finally:
            if path is not None:
                self.last_call = path

    def run_block(self, block, env: dict, top: bool = False) -> list:
        self.depth += 1
        try:
            return super().run_block(block, env, top=True)
        finally:
            self.depth -= 1

    def _report(self, node, seconds: float) -> None:
        end = time.perf_counter()
        kind = node.kind
        name, cat = (kind[4:], "op") if kind.startswith("op::") else (kind, "prim")
        args = {"ir": node_line(node).strip()}
        if node.source:
            args["source"] = str(node.source)
        if kind == Prim.CallMethod.value:
            cat = "module"
            name = f"{self.last_call}.{node.attrs.get('name')}"
        elif kind in (Prim.If.value, Prim.Loop.value):
            cat = "control"
        elif kind == Prim.GetAttr.value:
            name = f"{kind}[{node.attrs.get('name')}]"
        s = Slice(name, cat, end - seconds, seconds, self.depth, args)
        kids = [c for c in self.pending if c.depth > self.depth]
        self.pending = [c for c in self.pending if c.depth <= self.depth]
        for c in kids:       # measured ends are a hook call late: keep children inside
            c.start = max(c.start, s.start)
            c.dur = max(0.0, min(c.start + c.dur, s.start + s.dur) - c.start)
        s.children = kids
        self.pending.append(s)


def _module_paths(root) -> dict[int, str]:
    return {id(m): (name or "self") for name, m in root.named_modules()}


def trace_run(target, inputs: list, iters: int, module=None, warmup: int = 0) -> list[Slice]:
    """One slice per iteration of ``target``'s graph run on ``inputs`` (module first when the
    target is a method), each holding its nodes' slices; ``warmup`` untraced runs first."""
    names = _module_paths(module) if module is not None else {}
    interp = _TimingInterpreter(names)
    out = []
    with no_grad():
        for _ in range(warmup):
            interp.run(target.graph, list(inputs))
        interp.pending = []
        for i in range(iters):
            t0 = time.perf_counter()
            interp.run(target.graph, list(inputs))
            dur = time.perf_counter() - t0
            root = Slice(f"iteration {i}", "iteration", t0, dur, 0, {})
            for c in interp.pending:
                c.start = max(c.start, t0)
                c.dur = max(0.0, min(c.start + c.dur, t0 + dur) - c.start)
            root.children, interp.pending = interp.pending, []
            out.append(root)
    return out


def trace_events(iterations: list[Slice], meta: dict | None = None) -> dict:
    """The trace-event JSON object (``traceEvents`` plus metadata events)."""
    t0 = iterations[0].start if iterations else 0.0
    events: list[dict] = [
        {"name": "process_name", "ph": "M", "pid": PID, "tid": TID,
         "args": {"name": "graphtorch profile"}},
        {"name": "thread_name", "ph": "M", "pid": PID, "tid": TID,
         "args": {"name": "interpreter"}}]

    def emit(s: Slice) -> None:
        events.append({"name": s.name, "cat": s.cat, "ph": "X",
                       "ts": round((s.start - t0) * 1e6, 3), "dur": round(s.dur * 1e6, 3),
                       "pid": PID, "tid": TID, "args": s.args})
        for c in s.children:
            emit(c)

    for it in iterations:
        emit(it)
    return {"traceEvents": events, "displayTimeUnit": "ms", "otherData": meta or {}}
