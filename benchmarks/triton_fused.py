"""Bandwidth of a fused 4-op elementwise chain: Triton FusionGroup vs CuPy eager vs torch eager.

    y = tanh(x * w + b) * x          (mul, add, tanh, mul; float32 vectors of n elements)

The fused kernel reads x, w, b once and writes y once (16 bytes per element); eager execution
makes four passes (44 bytes per element). "GB/s" is the fused minimum traffic over the measured
time, so it compares the three on the same work. Triton times are end to end through
``run_fusion_group`` (specialization lookup included), after a warm-up that compiles the kernel.
torch runs in a child process so the Triton measurements never import it.

    python benchmarks/triton_fused.py [--n 33554432] [--iters 50] [--no-torch]

Without a GPU it runs the same chain under Triton's interpreter vs numpy on a small n (a smoke
run: the interpreter is for testing, not speed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

BYTES_PER_ELEMENT = 16


def chain_graph():
    from graphtorch.ir.graph import Graph
    from graphtorch.ir.types import TensorType

    t = TensorType()
    g = Graph()
    x, w, b = g.add_input("x"), g.add_input("w"), g.add_input("b")
    m = g.emit("op::mul", [x, w], [t]).output
    a = g.emit("op::add", [m, b, g.constant(1)], [t]).output
    h = g.emit("op::tanh", [a], [t]).output
    g.set_outputs([g.emit("op::mul", [h, x], [t]).output])
    return g


def _gpu_time(fn, iters: int) -> float:
    import cupy

    fn()
    cupy.cuda.Device().synchronize()
    start, stop = cupy.cuda.Event(), cupy.cuda.Event()
    start.record()
    for _ in range(iters):
        fn()
    stop.record()
    stop.synchronize()
    return cupy.cuda.get_elapsed_time(start, stop) / 1e3 / iters


def bench_gpu(n: int, iters: int) -> dict:
    import cupy

    from graphtorch.runtime.triton import run_fusion_group

    g = chain_graph()
    rng = cupy.random.default_rng(0)
    x, w, b = (rng.standard_normal(n, dtype=cupy.float32) for _ in range(3))
    fused = lambda: run_fusion_group(g, [x, w, b])
    eager = lambda: cupy.tanh(x * w + b) * x
    got = cupy.asnumpy(fused()[0])
    np.testing.assert_allclose(got, cupy.asnumpy(eager()), rtol=1e-4, atol=1e-5)
    out = {"n": n, "device": cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()}
    for name, fn in (("triton_fused", fused), ("cupy_eager", eager)):
        s = _gpu_time(fn, iters)
        out[name] = {"ms": s * 1e3, "GB/s": BYTES_PER_ELEMENT * n / s / 1e9}
    small = lambda: run_fusion_group(g, [x[:4096], w[:4096], b[:4096]])
    out["triton_small_call_us"] = _gpu_time(small, iters) * 1e6
    return out


def bench_torch(n: int, iters: int) -> dict:
    import torch

    x, w, b = (torch.randn(n, device="cuda") for _ in range(3))
    fn = lambda: torch.tanh(x * w + b) * x
    fn()
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        fn()
    stop.record()
    torch.cuda.synchronize()
    s = start.elapsed_time(stop) / 1e3 / iters
    return {"torch_eager": {"ms": s * 1e3, "GB/s": BYTES_PER_ELEMENT * n / s / 1e9}}


def bench_cpu(n: int) -> dict:
    from graphtorch.runtime.triton import run_fusion_group

    g = chain_graph()
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(n).astype(np.float32) for _ in range(3))
    run_fusion_group(g, [x, w, b])
    t0 = time.perf_counter()
    got = run_fusion_group(g, [x, w, b])[0]
    t1 = time.perf_counter()
    want = np.tanh(x * w + b) * x
    t2 = time.perf_counter()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    return {"n": n, "device": "cpu (Triton interpreter)",
            "triton_interpreter_ms": (t1 - t0) * 1e3, "numpy_eager_ms": (t2 - t1) * 1e3}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1 << 25)
    p.add_argument("--iters", type=int, default=50)
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.torch_only:
        print(json.dumps(bench_torch(args.n, args.iters)))
        return
    from graphtorch.device import cuda_is_available

    if not cuda_is_available():
        print(json.dumps(bench_cpu(min(args.n, 1 << 20)), indent=2))
        return
    result = bench_gpu(args.n, args.iters)
    if not args.no_torch:
        child = subprocess.run([sys.executable, __file__, "--torch-only", "--n", str(args.n),
                                "--iters", str(args.iters)], capture_output=True, text=True)
        if child.returncode == 0:
            result.update(json.loads(child.stdout.strip().splitlines()[-1]))
        else:
            result["torch_eager"] = "unavailable: " + (child.stderr.strip().splitlines()
                                                       or ["no output"])[-1]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
