"""Interpreter overhead per node vs eager per op, and trace time for a 1,000-node graph.

Run: python benchmarks/graph_overhead.py
Everything is measured side by side in one run (the machines are shared and noisy): the same
chain of small elementwise ops runs eagerly and through the traced graph; the difference per op
is the interpreter's overhead per node.
"""

from __future__ import annotations

import statistics
import time

import graphtorch as gt


def chain(x, n: int):
    for i in range(n):
        x = (x * 1.0001 + 0.5) if i % 2 == 0 else x.tanh()
    return x


def timeit(fn, repeat: int = 7, number: int = 20) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times)


def main() -> None:
    n_ops = 100
    x = gt.rand(1000)
    with gt.no_grad():
        traced = gt.jit.trace(lambda t: chain(t, n_ops), x)
        n_nodes = sum(1 for n in traced.graph.nodes() if n.kind.startswith("op::"))
        traced(x)
        eager_t = timeit(lambda: chain(x, n_ops))
        graph_t = timeit(lambda: traced(x))
    print(f"chain of {n_ops} ops (graph: {n_nodes} op nodes + constants), 1,000-element "
          "float32 tensors")
    print(f"  eager        {eager_t * 1e6 / n_nodes:8.2f} us per op")
    print(f"  interpreter  {graph_t * 1e6 / n_nodes:8.2f} us per node")
    print(f"  overhead     {(graph_t - eager_t) * 1e6 / n_nodes:8.2f} us per node "
          f"(ratio {graph_t / eager_t:.2f}x)")

    big = 400  # 400 ops + their constants = 1,000 nodes
    t0 = time.perf_counter()
    with gt.no_grad():
        traced_big = gt.jit.trace(lambda t: chain(t, big), x)
    trace_s = time.perf_counter() - t0
    print(f"trace time for a {len(traced_big.graph.nodes())}-node graph: {trace_s * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
