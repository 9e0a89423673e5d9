"""IR text parse time: the fast reader against the lark reader, on the printer's own text.

    python benchmarks/ir_parse.py [--sizes 1000 20000] [--repeat 3] [--lark-repeat 1]

Graphs: a traced elementwise chain (one node per line, shapes, source locations, scalar
constants) and a scripted model with blocks (a loop around an if, copied until the size is
reached). Both readers parse the same text and must build equal graphs; the table shows the best
time of each, the throughput and the speedup. ``.gt`` loading parses every method graph, so
this is the IR part of the load time of a big archive.
"""

from __future__ import annotations

import argparse
import gc
import time

import graphtorch as gt
from graphtorch import nn
from graphtorch.ir import Graph, graphs_equal
from graphtorch.ir.clone import insert_graph
from graphtorch.ir.fast_parser import parse_graph_fast
from graphtorch.ir.parser import lark_parser, parse_graph_lark


class Chain(nn.Module):
    def __init__(self, steps: int):
        super().__init__()
        self.steps = steps

    def forward(self, x):
        for _ in range(self.steps):
            x = gt.tanh(x) * 0.5 + x
        return x


class Stepper(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = 0.5

    def forward(self, x, n: int):
        for i in range(n):
            if i % 2 == 0:
                x = gt.tanh(x) * self.scale
            else:
                x = gt.relu(x) + x
        return x


def traced_chain(nodes: int) -> Graph:
    """About ``nodes`` nodes: 4 per step (tanh, constant, mul, add)."""
    return gt.jit.trace(Chain(max(1, nodes // 4)), gt.rand(2, 4)).graph


def scripted_blocks(nodes: int) -> Graph:
    """Copies of a scripted loop-around-if method chained until ``nodes`` nodes."""
    callee = gt.jit.script(Stepper()).graph
    per_copy = len(callee.walk())
    g = Graph()
    self_, x, n = (g.add_input(p.name, p.type) for p in callee.inputs)
    for _ in range(max(1, nodes // per_copy)):
        (x,) = insert_graph(g, callee, [self_, x, n])
    g.set_outputs([x])
    return g


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()   # NOTE: the previous graph is freed here, not inside the next timing
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        del result
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 20000])
    ap.add_argument("--repeat", type=int, default=3, help="runs of the fast reader (best)")
    ap.add_argument("--lark-repeat", type=int, default=1, help="runs of the lark reader (best)")
    args = ap.parse_args()
    lark_parser()   # built once, outside the timings
    print(f"{'graph':<16}{'nodes':>7}{'MB':>7}{'lark ms':>10}{'fast ms':>10}"
          f"{'lark MB/s':>11}{'fast MB/s':>11}{'speedup':>9}")
    for make in (traced_chain, scripted_blocks):
        for size in args.sizes:
            g = make(size)
            text = str(g)
            fast, slow = parse_graph_fast(text), parse_graph_lark(text)
            assert graphs_equal(fast, slow, check_names=True, check_source=True)
            assert str(fast) == text
            t_fast = best_of(args.repeat, lambda: parse_graph_fast(text))  # noqa: B023
            t_lark = best_of(args.lark_repeat, lambda: parse_graph_lark(text))  # noqa: B023
            mb = len(text.encode()) / 1e6
            print(f"{make.__name__:<16}{len(g.walk()):>7}{mb:>7.2f}{t_lark * 1e3:>10.1f}"
                  f"{t_fast * 1e3:>10.1f}{mb / t_lark:>11.2f}{mb / t_fast:>11.2f}"
                  f"{t_lark / t_fast:>8.1f}x")


if __name__ == "__main__":
    main()
