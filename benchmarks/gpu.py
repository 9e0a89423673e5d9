"""Issue 15's GPU targets, side by side in one run: graphtorch vs torch eager vs torch.compile.

    python benchmarks/gpu.py [--strict] [--json PATH] [--iters N]
    python benchmarks/gpu.py --cpu-smoke     # no GPU: every graphtorch path on tiny CPU inputs

Rows (each a ratio against its target, PASS/FAIL):

1. fused elementwise chain ``tanh(x * w + b) * x`` (float32, 2**27 elements, compiled with
   ``jit.script``: one Triton kernel, 16 bytes per element) vs the card's copy bandwidth
   (``cupy.copyto``, 8 bytes per element): >= 95%;
2. softmax and 3. layer_norm over the rows of an 8192 x 8192 float32 matrix (compiled: a Triton
   row kernel; 8 bytes per element) vs torch.compile's bandwidth: >= 1x;
4. 100 tiny elementwise ops on a 32 x 32 tensor, traced, compiled, with CUDA graphs: <= 40 us per
   call (host time per call, the calls back to back, synchronized at the end);
5. MLP 784-512-512-10, batch 256, SGD training step (forward, cross_entropy, backward, step),
   graphtorch compiled (``jit.script`` of the model) vs torch eager: <= 1x;
6. eager per-op overhead (``a + b`` on 16-element tensors, host time per op) vs torch eager:
   <= 2x.

graphtorch runs in this process and never imports torch; torch eager and torch.compile run in a
child process (``--torch-side``) on the same device, and their numbers join the table (``--full``
adds torch.compile columns for the tiny ops and the MLP step, which no target reads). Times are
medians of ``--repeats`` timed loops of ``--iters`` calls each, after warm-up calls (compiles,
plans and CUDA graph captures happen there). Without a GPU (no CuPy, or no device) the script
prints one line and exits 0.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

import graphtorch as gt
import graphtorch.nn.functional as F
from graphtorch.runtime.triton import device_plan

CHAIN_N = 1 << 27
ROWS = 8192
TINY_OPS = 100
MLP = (784, 512, 512, 10)
BATCH = 256
TARGETS = {   # row -> (how the ratio is formed, the bound, "min" or "max")
    "chain_vs_copy": ("fused chain GB/s / copy GB/s", 0.95, "min"),
    "softmax_vs_compile": ("softmax GB/s / torch.compile GB/s", 1.0, "min"),
    "layer_norm_vs_compile": ("layer_norm GB/s / torch.compile GB/s", 1.0, "min"),
    "tiny_ops_us": ("100 tiny ops, CUDA graphs: us per call", 40.0, "max"),
    "mlp_vs_torch_eager": ("MLP train step / torch eager", 1.0, "max"),
    "eager_op_vs_torch": ("eager per-op overhead / torch eager", 2.0, "max"),
}


class Timer:
    """Median seconds per call of ``fn``: ``repeats`` loops of ``iters`` calls, synchronized."""

    def __init__(self, sync, iters: int, repeats: int):
        self.sync, self.iters, self.repeats = sync, iters, repeats

    def __call__(self, fn, warmup: int = 3, iters: int | None = None) -> float:
        iters = iters or self.iters
        for _ in range(warmup):
            fn()
        self.sync()
        runs = []
        for _ in range(self.repeats):
            t0 = time.perf_counter()
            for _ in range(iters):
                fn()
            self.sync()
            runs.append((time.perf_counter() - t0) / iters)
        return statistics.median(runs)


# --- the workloads, written once for graphtorch (torch runs the same code in the child) --------
def chain(x, w, b):
    return gt.tanh(x * w + b) * x


def softmax_rows(x):
    return F.softmax(x, dim=-1)


def layer_norm_rows(x, w, b):
    return F.layer_norm(x, [x.shape[-1]], w, b)


def tiny_ops(x, lib=gt):
    for i in range(TINY_OPS // 4):
        x = lib.sin(x * 1.001 + 0.001 * i) - x * 0.5
    return x


def mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(MLP[0], MLP[1]), nn.ReLU(), nn.Linear(MLP[1], MLP[2]),
                         nn.ReLU(), nn.Linear(MLP[2], MLP[3]))


def train_step(lib, model, opt, x, y):
    opt.zero_grad()
    loss = lib.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


# --- graphtorch side ----------------------------------------------------------------------------
def sections(steps: list, out: dict) -> dict:
    """Run each ``(name, fn)``; ``fn()`` returns numbers for ``out``. A step that fails is
    recorded under ``out["errors"]`` and the others still run (one broken row keeps the rest)."""
    for name, fn in steps:
        try:
            out.update(fn())
        except Exception as e:  # noqa: BLE001 - reported in the table, the run goes on
            out.setdefault("errors", {})[name] = f"{type(e).__name__}: {e}"[:300]
    return out


def graphtorch_side(dev: str, sync, timer: Timer, smoke: bool) -> dict:
    n = 1 << 12 if smoke else CHAIN_N
    rows = 16 if smoke else ROWS
    xp = np if dev == "cpu" else _cupy()

    def bandwidth():
        x, w, b = (gt.randn(n, device=dev) for _ in range(3))
        dst = gt.empty(n, device=dev)
        got = {"copy_GBps": 8 * n / timer(lambda: xp.copyto(dst._data, x._data)) / 1e9}
        fused = gt.jit.script(chain)
        with gt.no_grad():
            _check(fused(x, w, b), chain(x, w, b), 1e-4)
            got["chain_GBps"] = 16 * n / timer(lambda: fused(x, w, b)) / 1e9
            got["chain_eager_GBps"] = 16 * n / timer(lambda: chain(x, w, b)) / 1e9
        return got

    def rows_():
        m = gt.randn(rows, rows, device=dev)
        lw, lb = gt.randn(rows, device=dev), gt.randn(rows, device=dev)
        sm, ln = gt.jit.script(softmax_rows), gt.jit.script(layer_norm_rows)
        got = {}
        with gt.no_grad():
            _check(sm(m), softmax_rows(m), 1e-4)
            _check(ln(m, lw, lb), layer_norm_rows(m, lw, lb), 1e-3)
            got["softmax_GBps"] = 8 * rows * rows / timer(lambda: sm(m)) / 1e9
            got["layer_norm_GBps"] = 8 * rows * rows / timer(lambda: ln(m, lw, lb)) / 1e9
        got["explain_softmax"] = next(iter(_plans(sm).values())).explain()
        return got

    def tiny():
        t = gt.randn(32, 32, device=dev)
        traced = gt.jit.trace(tiny_ops, (t,))
        got = {}
        with gt.no_grad():
            got["tiny_ops_plain_us"] = timer(lambda: traced(t)) * 1e6
            device_plan.set_cuda_graphs(True)
            try:
                graphed = gt.jit.trace(tiny_ops, (t,))
                _check(graphed(t), tiny_ops(t), 1e-4)
                _check(graphed(t), tiny_ops(t), 1e-4)
                got["tiny_ops_us"] = timer(lambda: graphed(t)) * 1e6
            finally:
                device_plan.set_cuda_graphs(False)
            got["tiny_ops_eager_us"] = timer(lambda: tiny_ops(t)) * 1e6
        got["graphs"] = next(iter(_plans(graphed).values())).source.splitlines()[-1]
        return got

    def training():
        gt.manual_seed(0)
        model = mlp(gt).to(dev)
        xb = gt.randn(BATCH, MLP[0], device=dev)
        yb = gt.randint(0, MLP[3], (BATCH,), device=dev)
        opt = gt.optim.SGD(model.parameters(), lr=0.01)
        got = {"mlp_eager_us": timer(lambda: train_step(gt, model, opt, xb, yb)) * 1e6}
        scripted = gt.jit.script(model)
        opt = gt.optim.SGD(scripted.parameters(), lr=0.01)
        # NOTE: warm-up past the profiling calls of the autodiff pass and of both plans
        got["mlp_us"] = timer(lambda: train_step(gt, scripted, opt, xb, yb), warmup=8) * 1e6
        return got

    def eager_op():
        a, c = gt.randn(16, device=dev), gt.randn(16, device=dev)
        return {"eager_op_us": timer(lambda: a + c, iters=timer.iters * 20) * 1e6}

    return sections([("bandwidth", bandwidth), ("rows", rows_), ("tiny ops", tiny),
                     ("mlp", training), ("eager op", eager_op)], {})


def _plans(obj) -> dict:
    from graphtorch.runtime.executor import plans_of  # NOTE: the runtime loads lazily

    return plans_of(obj).plans


def _check(got, want, tol: float) -> None:
    np.testing.assert_allclose(got.cpu().numpy(), want.cpu().numpy(), rtol=tol, atol=tol)


def _cupy():
    import cupy  # NOTE: an optional dependency (the cuda12/cuda13 extras): the GPU side only

    return cupy


# --- torch side (child process) -----------------------------------------------------------------
def torch_side(dev: str, iters: int, repeats: int, smoke: bool, full: bool) -> dict:
    import torch  # NOTE: only in the child process: graphtorch's numbers never import torch

    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    timer = Timer(sync, iters, repeats)
    n = 1 << 12 if smoke else CHAIN_N
    rows = 16 if smoke else ROWS
    compile_ = (lambda f: f) if smoke else torch.compile

    def bandwidth():
        x, w, b = (torch.randn(n, device=dev) for _ in range(3))
        dst = torch.empty(n, device=dev)
        tchain = lambda x, w, b: torch.tanh(x * w + b) * x   # noqa: E731 - the same chain
        cchain = compile_(tchain)
        return {"copy_GBps": 8 * n / timer(lambda: dst.copy_(x)) / 1e9,
                "chain_eager_GBps": 16 * n / timer(lambda: tchain(x, w, b)) / 1e9,
                "chain_compile_GBps": 16 * n / timer(lambda: cchain(x, w, b)) / 1e9}

    def rows_():
        m = torch.randn(rows, rows, device=dev)
        lw, lb = torch.randn(rows, device=dev), torch.randn(rows, device=dev)
        tsm = lambda m: torch.softmax(m, dim=-1)   # noqa: E731
        tln = lambda m, w, b: torch.nn.functional.layer_norm(m, [rows], w, b)   # noqa: E731
        csm, cln = compile_(tsm), compile_(tln)
        per = 8 * rows * rows / 1e9
        return {"softmax_eager_GBps": per / timer(lambda: tsm(m)),
                "layer_norm_eager_GBps": per / timer(lambda: tln(m, lw, lb)),
                "softmax_compile_GBps": per / timer(lambda: csm(m)),
                "layer_norm_compile_GBps": per / timer(lambda: cln(m, lw, lb))}

    def tiny():
        t = torch.randn(32, 32, device=dev)
        ttiny = lambda t: tiny_ops(t, torch)   # noqa: E731
        got = {"tiny_ops_eager_us": timer(lambda: ttiny(t)) * 1e6}
        if full and not smoke:
            ctiny = torch.compile(ttiny, mode="reduce-overhead")
            got["tiny_ops_compile_us"] = timer(lambda: ctiny(t), warmup=5) * 1e6
        return got

    def training():
        torch.manual_seed(0)
        model = mlp(torch).to(dev)
        xb = torch.randn(BATCH, MLP[0], device=dev)
        yb = torch.randint(0, MLP[3], (BATCH,), device=dev)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        got = {"mlp_eager_us": timer(lambda: train_step(torch, model, opt, xb, yb)) * 1e6}
        if full and not smoke:
            cmodel = torch.compile(mlp(torch).to(dev))
            copt = torch.optim.SGD(cmodel.parameters(), lr=0.01)
            got["mlp_compile_us"] = timer(lambda: train_step(torch, cmodel, copt, xb, yb)) \
                * 1e6
        return got

    def eager_op():
        a, c = torch.randn(16, device=dev), torch.randn(16, device=dev)
        return {"eager_op_us": timer(lambda: a + c, iters=iters * 20) * 1e6}

    return sections([("bandwidth", bandwidth), ("rows", rows_), ("tiny ops", tiny),
                     ("mlp", training), ("eager op", eager_op)], {})


def run_torch_child(dev: str, args) -> dict:
    cmd = [sys.executable, __file__, "--torch-side", "--iters", str(args.iters),
           "--repeats", str(args.repeats)] + (["--cpu-smoke"] if args.cpu_smoke else []) \
        + (["--full"] if args.full else [])
    try:
        child = subprocess.run(cmd, capture_output=True, text=True, timeout=args.torch_timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"torch side timed out after {args.torch_timeout} s"}
    if child.returncode != 0:
        tail = (child.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"torch side failed: {tail}"}
    return json.loads(child.stdout.strip().splitlines()[-1])


# --- the table ----------------------------------------------------------------------------------
def ratios(ours: dict, torch_: dict) -> dict:
    def div(a, b):
        return a / b if a is not None and b else None

    return {
        "chain_vs_copy": div(ours.get("chain_GBps"), ours.get("copy_GBps")),
        "softmax_vs_compile": div(ours.get("softmax_GBps"), torch_.get("softmax_compile_GBps")),
        "layer_norm_vs_compile": div(ours.get("layer_norm_GBps"),
                                     torch_.get("layer_norm_compile_GBps")),
        "tiny_ops_us": ours.get("tiny_ops_us"),
        "mlp_vs_torch_eager": div(ours.get("mlp_us"), torch_.get("mlp_eager_us")),
        "eager_op_vs_torch": div(ours.get("eager_op_us"), torch_.get("eager_op_us")),
    }


def verdicts(rs: dict) -> dict:
    out = {}
    for key, (_, bound, kind) in TARGETS.items():
        v = rs.get(key)
        if v is None:
            out[key] = "n/a"
        else:
            out[key] = "PASS" if (v >= bound if kind == "min" else v <= bound) else "FAIL"
    return out


def table(ours: dict, torch_: dict, device: str) -> str:
    def f(d, k, fmt="{:.1f}"):
        v = d.get(k)
        return fmt.format(v) if isinstance(v, (int, float)) else "-"

    lines = [f"device: {device}",
             f"{'measure':34s} {'graphtorch':>12s} {'torch eager':>12s} {'torch.compile':>14s}"]
    for label, ko, ke, kc in (
            ("copy GB/s", "copy_GBps", "copy_GBps", None),
            ("fused chain GB/s", "chain_GBps", "chain_eager_GBps", "chain_compile_GBps"),
            ("  (graphtorch eager chain GB/s)", "chain_eager_GBps", None, None),
            ("softmax 8192^2 fp32 GB/s", "softmax_GBps", "softmax_eager_GBps",
             "softmax_compile_GBps"),
            ("layer_norm 8192^2 fp32 GB/s", "layer_norm_GBps", "layer_norm_eager_GBps",
             "layer_norm_compile_GBps"),
            ("100 tiny ops us/call (graphs)", "tiny_ops_us", "tiny_ops_eager_us",
             "tiny_ops_compile_us"),
            ("  (compiled, no graphs; eager)", "tiny_ops_plain_us", None, None),
            ("  (graphtorch eager us/call)", "tiny_ops_eager_us", None, None),
            ("MLP train step us (compiled)", "mlp_us", "mlp_eager_us", "mlp_compile_us"),
            ("  (graphtorch eager MLP step us)", "mlp_eager_us", None, None),
            ("eager a + b us/op", "eager_op_us", "eager_op_us", None)):
        lines.append(f"{label:34s} {f(ours, ko):>12s} {f(torch_, ke) if ke else '':>12s} "
                     f"{f(torch_, kc) if kc else '':>14s}")
    rs = ratios(ours, torch_)
    vs = verdicts(rs)
    lines.append("")
    lines.append(f"{'target':44s} {'value':>8s} {'bound':>8s}  verdict")
    for key, (label, bound, kind) in TARGETS.items():
        v = rs[key]
        shown = f"{v:.3f}" if v is not None else "-"
        lines.append(f"{label:44s} {shown:>8s} {('>=' if kind == 'min' else '<=')}"
                     f"{bound:<6g}  {vs[key]}")
    met = sum(v == "PASS" for v in vs.values())
    lines.append(f"targets met: {met}/{len(TARGETS)}")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", help="write every number here")
    p.add_argument("--strict", action="store_true", help="exit 1 unless every target is met")
    p.add_argument("--cpu-smoke", action="store_true",
                   help="tiny inputs on the CPU through the Triton interpreter (no GPU needed)")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--full", action="store_true",
                   help="also torch.compile the tiny ops (CUDA graphs) and the MLP step: "
                        "context columns, not targets (a minute more of compiling)")
    p.add_argument("--torch-timeout", type=int, default=240)
    p.add_argument("--torch-side", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    dev = "cpu" if args.cpu_smoke else "cuda"
    if args.torch_side:
        print(json.dumps(torch_side(dev, args.iters, args.repeats, args.cpu_smoke, args.full)))
        return 0
    if not args.cpu_smoke and not gt.cuda.is_available():
        print("gpu.py: no CUDA GPU with CuPy here; nothing measured (--cpu-smoke runs the code "
              "paths on the CPU)")
        return 0
    if args.cpu_smoke:
        import os

        os.environ["GT_FUSION_BACKEND"] = "triton"   # the GPU plan, on CPU arrays
        device, sync = "cpu (Triton interpreter; smoke run, numbers mean nothing)", lambda: None
    else:
        cp = _cupy()
        device = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
        sync = cp.cuda.Device().synchronize
    ours = graphtorch_side(dev, sync, Timer(sync, args.iters, args.repeats), args.cpu_smoke)
    torch_ = {} if args.no_torch else run_torch_child(dev, args)
    print(ours.pop("explain_softmax", "(no softmax plan)"))
    print(ours.pop("graphs", "(no CUDA graph row)"))
    if "error" in torch_:
        print(torch_["error"])
    for side, errors in (("graphtorch", ours.get("errors", {})),
                         ("torch", torch_.get("errors", {}))):
        for name, err in errors.items():
            print(f"{side} {name} row failed: {err}")
    print(table(ours, torch_, device))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": device, "graphtorch": ours, "torch": torch_,
                       "ratios": ratios(ours, torch_)}, f, indent=2)
    ok = all(v == "PASS" for v in verdicts(ratios(ours, torch_)).values())
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
