"""graphtorch compiled (the default executor) vs its peers, side by side in one run.

Peers: numpy (hand-written), PyTorch eager, torch.jit.script, torch.compile (when it works
here), graphtorch eager and graphtorch compiled (``graphtorch.jit.script``, default settings).
All run with the same thread count (``--threads``: OMP/BLAS threads, torch.set_num_threads).
Median milliseconds per call after warm-up (which includes compilation). The last column says
which backends ran the compiled plan's kernels (``c``: generated C; ``python``: a registry
kernel on arrays; ``eager``: a fallback through dispatch).

Training-step rows (``mlp_train``, ``lenet_train``: forward, cross-entropy, backward,
SGD(momentum=0.9) step) compare graphtorch eager with a compiled model (a call that records
gradients runs the autodiff pass's forward and backward graphs as execution plans, joined to
eager autograd by one node; the loss and the optimizer stay eager) and PyTorch eager;
torch.compile is not run on them. Their last column counts the kernels of both plans.

The compile table: a traced ~1,000-node graph (blocks of elementwise chains, reductions and
softmax, every block different) compiled in a fresh process with an empty kernel cache (cold:
passes + lowering + C compiles) and again in another fresh process with the cache filled (warm).

    .venv/bin/python benchmarks/compiled.py --threads 1          # --quick: fewer repeats
    .venv/bin/python benchmarks/compiled.py --only chain,loop --no-torch-compile
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time


def _args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="",
                    help="comma-separated workload names (and 'compile': the compile table)")
    ap.add_argument("--no-torch-compile", action="store_true")
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    ap.add_argument("--no-compile-time", action="store_true", help="skip the compile table")
    ap.add_argument("--timer", choices=("wall", "thread"), default="wall",
                    help="thread: the calling thread's CPU time (time.thread_time), which leaves "
                         "out what a shared machine gives other jobs (every peer runs on one "
                         "thread with --threads 1)")
    ap.add_argument("--probe-compile", type=int, default=0, help=argparse.SUPPRESS)
    return ap.parse_args()


ARGS = _args()
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "GT_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)  # NOTE: before numpy/torch load their thread pools

import numpy as np  # noqa: E402

import graphtorch as gt  # noqa: E402
from graphtorch.runtime.autodiff_exec import training_kernels  # noqa: E402
from graphtorch.runtime.executor import plans_of, prepared_function  # noqa: E402

try:
    import torch  # noqa: E402

    torch.set_num_threads(ARGS.threads)
except ImportError:  # pragma: no cover - torch is optional
    torch = None

PEERS = ("numpy", "torch eager", "torch.jit.script", "torch.compile", "gt eager",
         "gt compiled")


CLOCK = time.thread_time if ARGS.timer == "thread" else time.perf_counter


def timeit(fn, budget: float) -> float:
    """Median seconds per call: warm-up calls, then repeats for about ``budget`` seconds."""
    for _ in range(3):
        fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    n = int(min(max(budget / one, 5), 2000))
    if one < 1e-4:  # NOTE: thread_time ticks coarsely: time batches of tiny calls
        batch = int(1e-4 / one) + 1
        times = []
        for _ in range(max(5, n // batch)):
            t0 = CLOCK()
            for _ in range(batch):
                fn()
            times.append((CLOCK() - t0) / batch)
        return float(np.median(times))
    times = []
    for _ in range(n):
        t0 = CLOCK()
        fn()
        times.append(CLOCK() - t0)
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


def reduce_fn(x):
    return (x.sum(0) + x.mean(1)) * x.var(1) + x.amax(1) - x.amin(0)


def reduce_np(x):
    return (x.sum(0) + x.mean(1)) * x.var(1, ddof=1) + x.max(1) - x.min(0)


def sub_amax_fn(x):
    return x - x.amax(1, keepdim=True)


def sub_amax_np(x):
    return x - x.max(1, keepdims=True)


def center_w_fn(x, w):
    return (x - x.mean(1, keepdim=True)) * w


def center_w_np(x, w):
    return (x - x.mean(1, keepdims=True)) * w


def cross_entropy_np(x, t):
    m = x.max(1, keepdims=True)
    lse = np.log(np.exp(x - m).sum(1)) + m[:, 0]
    return (lse - x[np.arange(len(t)), t]).mean()


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
    if name == "reduce":
        return reduce_fn, (arr(1024, 1024),)
    if name == "sub_amax":
        return sub_amax_fn, (arr(1024, 1024),)
    if name == "center_w":
        return center_w_fn, (arr(1024, 1024), arr(1024))
    if name == "cross_entropy":
        target = lib.from_numpy(rng.integers(0, 1000, 4096).astype(np.int64))
        return CrossEntropy(lib), (arr(4096, 1000), target)
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


def CrossEntropy(lib):  # noqa: N802 - a module per library
    class CrossEntropy(lib.nn.Module):
        def forward(self, x, target):
            return lib.nn.functional.cross_entropy(x, target)

    return CrossEntropy()


NUMPY = {"chain": lambda x, y: chain_np(x, y), "loop": loop_np, "softmax": softmax_np,
         "reduce": reduce_np, "sub_amax": sub_amax_np, "center_w": center_w_np,
         "cross_entropy": cross_entropy_np}
WORKLOADS = ("chain", "layer_norm", "loop", "gelu_mlp", "softmax", "reduce", "sub_amax",
             "center_w", "cross_entropy",
             "encoder", "lstm", "mlp_train", "lenet_train")
TRAINING = ("mlp_train", "lenet_train")


def plan_backends(compiled) -> str:
    """How many kernels of each backend the compiled plan(s) run, e.g. ``5 c, 2 python``."""
    counts: dict[str, int] = {}
    modes = set()
    for plan in plans_of(compiled).plans.values():
        modes.add(plan.mode)
        for k in plan.kernels:
            counts[k.backend] = counts.get(k.backend, 0) + 1
    text = ", ".join(f"{n} {b}" for b, n in sorted(counts.items()))
    if modes - {"compiled"}:
        text = "/".join(sorted(modes)) + (f" ({text})" if text else "")
    return text or "—"


def training_backends(compiled) -> str:
    """Kernels by backend of the forward and backward plans the training calls ran (autodiff),
    else the modes of the plans that ran them (``autograd-codegen``: the eager tape)."""
    counts = training_kernels(plans_of(compiled).graph)
    if not counts:
        return plan_backends(compiled)
    return "fwd+bwd: " + ", ".join(f"{n} {b}" for b, n in sorted(counts.items()))


# --- training steps -------------------------------------------------------------------------
def train_model(lib, name):
    nn = lib.nn
    if name == "mlp_train":
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                             nn.Linear(512, 10)), (256, 784)
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10)), (64, 1, 28, 28)


def train_step(lib, model, x, y):
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def measure_training(name: str, budget: float) -> dict:
    row: dict = {}
    rng = np.random.default_rng(0)
    gt.manual_seed(0)
    gm, shape = train_model(gt, name)
    xs = rng.standard_normal(shape).astype(np.float32)
    ys = rng.integers(0, 10, shape[0]).astype(np.int64)
    state = {k: v.detach().numpy().copy() for k, v in gm.state_dict().items()}
    x, y = gt.from_numpy(xs), gt.from_numpy(ys)
    row["gt eager"] = timeit(train_step(gt, gm, x, y), budget)
    gm2, _ = train_model(gt, name)
    gm2.load_state_dict({k: gt.from_numpy(v.copy()) for k, v in state.items()})
    compiled = gt.jit.script(gm2)
    step = train_step(gt, compiled, x, y)
    row["gt compiled"] = timeit(step, budget)
    row["backends"] = training_backends(compiled)
    if torch is not None:
        tm, _ = train_model(torch, name)
        tm.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
        row["torch eager"] = timeit(train_step(torch, tm, torch.from_numpy(xs),
                                               torch.from_numpy(ys)), budget)
    return row


def measure(name: str, budget: float) -> dict:
    if name in TRAINING:
        return measure_training(name, budget)
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
        row["backends"] = plan_backends(compiled)
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


# --- compile time ---------------------------------------------------------------------------
UNARY = ("tanh", "sigmoid", "exp", "sin", "relu", "abs", "cos", "neg")


def probe_model(x, blocks: int):
    """Blocks of an elementwise chain, a mean, a softmax and an amax; no two blocks alike."""
    for i in range(blocks):
        u, v = getattr(gt, UNARY[i % 8]), getattr(gt, UNARY[(3 * i + 1) % 8])
        x = u(x * (1 + i / 100) + 0.5)
        x = v(x) - x.mean(-1, keepdim=True)
        x = x.softmax(-1) * (i + 1) + x.amax(-1, keepdim=True)
    return x


def probe_compile(blocks: int) -> None:
    """(In a child process) trace ``probe_model``, build its plan, print nodes and seconds."""
    x = gt.randn(64, 128)
    with gt.no_grad():
        f = gt.jit.trace(lambda t: probe_model(t, blocks), x)
        nodes = sum(1 for _ in prepared_function(f).graph.walk())
        f(x)  # the profiling run (the interpreter)
        cpu0 = _cpu_seconds()
        t0 = time.perf_counter()
        f(x)  # builds the plan: pipeline, lowering, C kernels (compiled or loaded), first run
        total = time.perf_counter() - t0
        cpu = _cpu_seconds() - cpu0
        plan = next(iter(plans_of(f).plans.values()))
    print(json.dumps({"nodes": nodes, "seconds": total, "cpu": cpu, "build": plan.build_seconds,
                      "mode": plan.mode, "backends": plan_backends(f)}))


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the C compiler runs)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def compile_times(blocks: int = 70) -> list[dict]:
    """Cold (empty kernel cache) and warm (filled) plan builds, each in a fresh process."""
    out = []
    with tempfile.TemporaryDirectory(prefix="gt_bench_cache_") as cache:
        env = dict(os.environ, GT_CACHE_DIR=cache)
        for what in ("cold", "warm"):
            res = subprocess.run([sys.executable, __file__, "--probe-compile", str(blocks),
                                  "--threads", str(ARGS.threads)], env=env, capture_output=True,
                                 text=True, check=True)
            row = json.loads(res.stdout.strip().splitlines()[-1])
            row["what"] = what
            out.append(row)
    return out


def fmt(v) -> str:
    if isinstance(v, str):
        return v
    if v is None:
        return "—"
    ms = v * 1e3
    if ms < 0.01:
        return f"{ms:.5f}"  # NOTE: microsecond calls (the loop row) keep three digits
    return f"{ms:.3f}" if ms < 1 else f"{ms:.2f}"


def main() -> None:
    if ARGS.probe_compile:
        probe_compile(ARGS.probe_compile)
        return
    only = [n for n in ARGS.only.split(",") if n]
    names = [n for n in only if n != "compile"] if only else list(WORKLOADS)
    compile_table = not ARGS.no_compile_time and (not only or "compile" in only)
    budget = 0.3 if ARGS.quick else 1.0
    rows = {}
    for name in names:
        rows[name] = measure(name, budget)
        print(f"{name}: " + ", ".join(f"{k}={fmt(v) if 'err' not in k and '|' not in k else v}"
                                     for k, v in rows[name].items()), file=sys.stderr)
    head = ["workload", *PEERS, "compiled vs gt eager", "compiled vs torch.compile",
            "compiled vs torch eager", "plan kernels"]
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
        te = r.get("torch eager")
        s3 = te / cc if isinstance(te, float) and isinstance(cc, float) else None
        cells = [name, *[fmt(r.get(p)) for p in PEERS],
                 f"{s1:.2f}x" if s1 else "—", f"{s2:.2f}x" if s2 else "—",
                 f"{s3:.2f}x" if s3 else "—", r.get("backends", "—")]
        print("| " + " | ".join(cells) + " |")
    if speedups:
        geo = math.exp(sum(math.log(s) for s in speedups) / len(speedups))
        print(f"\ngeometric mean, compiled vs graphtorch eager: {geo:.2f}x "
              f"(threads={ARGS.threads}, timer={ARGS.timer})")
    if not compile_table:
        return
    print("\n| compile | nodes | wall s (first compiled call) | CPU s (with the compiler) | "
          "wall ms per 1,000 nodes | CPU ms per 1,000 nodes | plan kernels |")
    print("|---|---|---|---|---|---|---|")
    for r in compile_times():
        per, cpu = (r[k] * 1e3 * 1000 / r["nodes"] for k in ("seconds", "cpu"))
        print(f"| {r['what']} | {r['nodes']} | {r['seconds']:.3f} | {r['cpu']:.3f} | "
              f"{per:.0f} | {cpu:.0f} | {r['backends']} |")


if __name__ == "__main__":
    main()
