"""Interpreter overhead per node vs eager per op, trace time for a 1,000-node graph, and the
fixed cost of one compiled call.

Run: python benchmarks/graph_overhead.py          # --torch-compile: also torch.compile's call
Everything is measured side by side in one run (the machines are shared and noisy): the same
chain of small elementwise ops runs eagerly and through the traced graph (the reference
interpreter); the difference per op is the interpreter's overhead per node. The compiled rows
time a scripted call of one tiny op (``x + 1`` on 1,000 elements: guard, unwrapping, one C
launch, wrapping) and of the 50-step loop of benchmarks/compiled.py (one fused C kernel): the
calling thread's CPU time (``time.thread_time``: time the shared machine gives other jobs is not
counted), best of 7 repeats; every peer runs on one thread.
"""

from __future__ import annotations

import argparse
import statistics
import time

import graphtorch as gt
from graphtorch.runtime.cpu_codegen import set_executor


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


def one_op(t):
    return t + 1


def loop50(t):
    for _ in range(50):
        t = t * 1.0001 + 0.0001
    return t


def best_us(fn, number: int = 2000) -> float:
    for _ in range(5):
        fn()
    times = []
    for _ in range(7):
        t0 = time.thread_time()
        for _ in range(number):
            fn()
        times.append((time.thread_time() - t0) / number)
    return min(times) * 1e6


def compiled_calls(with_torch: bool) -> None:
    x = gt.rand(1000)
    print("compiled call, 1,000-element float32 input (thread CPU time, best of 7 repeats)")
    for name, fn in (("x + 1", one_op), ("50 x (t * 1.0001 + 0.0001)", loop50)):
        scripted = gt.jit.script(fn)
        with gt.no_grad():
            set_executor(None)
            compiled = best_us(lambda s=scripted: s(x))
            eager = best_us(lambda f=fn: f(x))
        line = f"  {name:28s} gt compiled {compiled:7.2f} us   gt eager {eager:8.2f} us"
        if with_torch:
            import torch  # NOTE: optional peer, only with --torch-compile

            tx = torch.from_numpy(x.numpy())
            tc = torch.compile(fn)
            with torch.no_grad():
                tc(tx)
                per = best_us(lambda c=tc, a=tx: c(a))
                line += f"   torch.compile {per:7.2f} us"
        print(line)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--torch-compile", action="store_true", help="time torch.compile's call")
    args = ap.parse_args()
    compiled_calls(args.torch_compile)
    set_executor("interpreter")  # NOTE: the rows below measure the reference interpreter
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
