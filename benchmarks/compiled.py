"""graphtorch compiled (the default executor) vs its peers, side by side in one run.

Peers: numpy (hand-written), PyTorch eager, torch.jit.script, torch.compile (when it works
here), graphtorch eager and graphtorch compiled (``graphtorch.jit.script``, default settings).
All run with the same thread count (``--threads``: OMP/BLAS threads, torch.set_num_threads).
Median milliseconds per call after warm-up (which includes compilation).

    .venv/bin/python benchmarks/compiled.py --threads 1          # --quick: fewer repeats
    .venv/bin/python benchmarks/compiled.py --only chain,loop --no-torch-compile
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time


def _args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated workload names")
    ap.add_argument("--no-torch-compile", action="store_true")
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    return ap.parse_args()


ARGS = _args()
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "GT_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)  # NOTE: before numpy/torch load their thread pools

import numpy as np  # noqa: E402

import graphtorch as gt  # noqa: E402

try:
    import torch  # noqa: E402

    torch.set_num_threads(ARGS.threads)
except ImportError:  # pragma: no cover - torch is optional
    torch = None

PEERS = ("numpy", "torch eager", "torch.jit.script", "torch.compile", "gt eager",
         "gt compiled")


def timeit(fn, budget: float) -> float:
    """Median seconds per call: warm-up calls, then repeats for about ``budget`` seconds."""
    for _ in range(3):
        fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    n = int(min(max(budget / one, 5), 2000))
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


# --- workloads: (graphtorch module/function, torch twin, numpy fn, inputs) ---------------------
def chain_fn(x, y):
    return (x * y + 1).exp().sin() * 0.5 + x


def chain_np(x, y):
    return np.sin(np.exp(x * y + 1)) * 0.5 + x


def loop_fn(t):
    for _ in range(50):
        t = t * 1.0001 + 0.0001
    return t


def loop_np(t):
    for _ in range(50):
        t = t * np.float32(1.0001) + np.float32(0.0001)
    return t


def softmax_fn(x):
    return x.softmax(-1)


def softmax_np(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def layer_norm_np(x, w, b):
    m = x.mean(-1, keepdims=True)
    c = x - m
    return c / np.sqrt((c * c).mean(-1, keepdims=True) + 1e-5) * w + b


def build(lib, name):
    """(module or function, inputs) of workload ``name`` in ``lib`` (gt or torch)."""
    rng = np.random.default_rng(0)
    arr = lambda *s: lib.from_numpy(rng.standard_normal(s).astype(np.float32))  # noqa: E731
    if name == "chain":
        return chain_fn, (arr(1 << 22), arr(1 << 22))
    if name == "loop":
        return loop_fn, (arr(1000),)
    if name == "softmax":
        return softmax_fn, (arr(1024, 1024),)
    lib.manual_seed(0)
    if name == "layer_norm":
        return lib.nn.LayerNorm(1024).eval(), (arr(1024, 1024),)
    if name == "gelu_mlp":
        m = lib.nn.Sequential(lib.nn.Linear(512, 2048), lib.nn.GELU(), lib.nn.Linear(2048, 512))
        return m.eval(), (arr(256, 512),)
    if name == "encoder":
        m = lib.nn.TransformerEncoderLayer(256, 4, 1024, dropout=0.0, batch_first=True)
        return m.eval(), (arr(8, 128, 256),)
    if name == "lstm":
        return LSTMLoop(lib).eval(), (arr(50, 64, 256),)
    raise KeyError(name)


def lstm_module(lib):
    class LSTMLoop(lib.nn.Module):
        """A scripted LSTM: one LSTMCell stepped over 50 time steps."""

        def __init__(self):
            super().__init__()
            self.cell = lib.nn.LSTMCell(256, 256)

        def forward(self, xs):
            h = xs.new_zeros(xs.shape[1], 256)
            c = xs.new_zeros(xs.shape[1], 256)
            for t in range(xs.shape[0]):
                h, c = self.cell(xs[t], (h, c))
            return h

    return LSTMLoop


def LSTMLoop(lib):  # noqa: N802 - a class factory per library
    return lstm_module(lib)()


NUMPY = {"chain": lambda x, y: chain_np(x, y), "loop": loop_np, "softmax": softmax_np}
WORKLOADS = ("chain", "layer_norm", "loop", "gelu_mlp", "softmax", "encoder", "lstm")


def measure(name: str, budget: float) -> dict:
    row: dict = {}
    gm, gin = build(gt, name)
    with gt.no_grad():
        row["gt eager"] = timeit(lambda: gm(*gin), budget)
        try:
            compiled = gt.jit.script(gm)
        except gt.errors.GraphtorchError:  # not scriptable here: the traced graph instead
            compiled = gt.jit.trace(gm, gin)
            row["how"] = "traced"
        ref = gm(*gin)
        got = compiled(*gin)
        got = compiled(*gin)  # the plan's first call (the first ran the interpreter)
        err = float(np.max(np.abs(got.numpy() - ref.numpy()))) if ref.numel() else 0.0
        row["gt compiled"] = timeit(lambda: compiled(*gin), budget)
        row["max |compiled - eager|"] = err
    ins = [t.numpy() for t in gin]
    if name in NUMPY:
        row["numpy"] = timeit(lambda: NUMPY[name](*ins), budget)
    elif name == "layer_norm":
        w, b = gm.weight.detach().numpy(), gm.bias.detach().numpy()
        row["numpy"] = timeit(lambda: layer_norm_np(ins[0], w, b), budget)
    if torch is None:
        return row
    tm, tin = build(torch, name)
    if isinstance(tm, torch.nn.Module):
        tm.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                            for k, v in gm.state_dict().items()})
    with torch.no_grad():
        row["torch eager"] = timeit(lambda: tm(*tin), budget)
        try:
            ts = torch.jit.script(tm)
            row["torch.jit.script"] = timeit(lambda: ts(*tin), budget)
        except Exception as e:  # noqa: BLE001 - report, do not stop the table
            row["torch.jit.script"] = f"n/a ({type(e).__name__})"
        if not ARGS.no_torch_compile:
            try:
                t0 = time.perf_counter()
                tc = torch.compile(tm)
                tc(*tin)
                row["torch.compile warm-up"] = time.perf_counter() - t0
                row["torch.compile"] = timeit(lambda: tc(*tin), budget)
            except Exception as e:  # noqa: BLE001 - report, do not stop the table
                row["torch.compile"] = f"n/a ({type(e).__name__})"
    return row


def fmt(v) -> str:
    if isinstance(v, str):
        return v
    if v is None:
        return "—"
    ms = v * 1e3
    return f"{ms:.3f}" if ms < 1 else f"{ms:.2f}"


def main() -> None:
    names = [n for n in ARGS.only.split(",") if n] or list(WORKLOADS)
    budget = 0.3 if ARGS.quick else 1.0
    rows = {}
    for name in names:
        rows[name] = measure(name, budget)
        print(f"{name}: " + ", ".join(f"{k}={fmt(v) if 'err' not in k and '|' not in k else v}"
                                     for k, v in rows[name].items()), file=sys.stderr)
    head = ["workload", *PEERS, "compiled vs gt eager", "compiled vs torch.compile"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    speedups = []
    for name, r in rows.items():
        ce, cc = r.get("gt eager"), r.get("gt compiled")
        tc = r.get("torch.compile")
        s1 = ce / cc if isinstance(ce, float) and isinstance(cc, float) else None
        s2 = tc / cc if isinstance(tc, float) and isinstance(cc, float) else None
        if s1:
            speedups.append(s1)
        cells = [name, *[fmt(r.get(p)) for p in PEERS],
                 f"{s1:.2f}x" if s1 else "—", f"{s2:.2f}x" if s2 else "—"]
        print("| " + " | ".join(cells) + " |")
    if speedups:
        geo = math.exp(sum(math.log(s) for s in speedups) / len(speedups))
        print(f"\ngeometric mean, compiled vs graphtorch eager: {geo:.2f}x "
              f"(threads={ARGS.threads})")


if __name__ == "__main__":
    main()
