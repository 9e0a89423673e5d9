"""The matmul-bound rows of benchmarks/compiled.py, graphtorch compiled against its target peer
in *paired, alternating rounds*, for margins smaller than a shared machine's drift.

benchmarks/compiled.py times each peer once, one after the other; on a busy 2-core VM the load
changes between those windows by more than the few percent separating these rows. Here every
round times graphtorch compiled and the peer back to back (the order alternating each round),
each as the median of its calls in the round, and reports the per-round ratio peer / gt:
its median over the rounds and its range. A ratio above 1 means graphtorch is faster.

Rows (same workloads as benchmarks/compiled.py): ``lstm`` (an ``LSTMCell(256, 256)`` stepped over
50 steps at batch 64 in a scripted loop) vs ``torch.jit.script``; ``gelu_mlp`` (256x512 -> 2048
GELU -> 512) vs ``torch.compile``; ``mlp_train`` (an MLP 784-512-512-10 training step at batch
256: forward, cross-entropy, backward, SGD with momentum) vs PyTorch eager.

    .venv/bin/python benchmarks/matmul_rows.py --threads 1 --timer thread --rounds 7

``--tree DIR`` runs graphtorch from another source tree (a ``git archive`` of an older commit,
laid out like this repository) for a before/after comparison, with its own plan cache.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--timer", choices=("wall", "thread"), default="thread")
ap.add_argument("--rounds", type=int, default=7)
ap.add_argument("--calls", type=int, default=0, help="calls per side per round (0: by row)")
ap.add_argument("--only", default="lstm,gelu_mlp,mlp_train")
ap.add_argument("--tree", default="", help="graphtorch source tree to run (default: this one)")
ARGS = ap.parse_args()
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "GT_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)  # NOTE: before numpy/torch load their thread pools
if ARGS.tree:
    os.environ["GT_CACHE_DIR"] = tempfile.mkdtemp(prefix="gt_tree_cache_")
    # NOTE: the editable install maps graphtorch's packages to source folders: point them there
    import __editable___graphtorch_0_1_0_finder as _finder  # noqa: E402

    _root = os.path.dirname(_finder.MAPPING["graphtorch"])
    for _k, _v in list(_finder.MAPPING.items()):
        _finder.MAPPING[_k] = os.path.join(os.path.abspath(ARGS.tree), os.path.relpath(_v, _root))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import graphtorch as gt  # noqa: E402

torch.set_num_threads(ARGS.threads)
CLOCK = time.thread_time if ARGS.timer == "thread" else time.perf_counter


def median_ms(fn, calls: int) -> float:
    times = []
    for _ in range(calls):
        t0 = CLOCK()
        fn()
        times.append(CLOCK() - t0)
    return float(np.median(times)) * 1e3


def lstm_class(lib):
    class LSTMLoop(lib.nn.Module):
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


def inference_row(name: str):
    """(gt compiled call, peer call) of an inference row, on the same weights and inputs."""
    rng = np.random.default_rng(0)
    gt.manual_seed(0)
    if name == "lstm":
        gm, shape = lstm_class(gt)().eval(), (50, 64, 256)
        tm = lstm_class(torch)().eval()
    else:
        gm = gt.nn.Sequential(gt.nn.Linear(512, 2048), gt.nn.GELU(), gt.nn.Linear(2048, 512))
        tm = torch.nn.Sequential(torch.nn.Linear(512, 2048), torch.nn.GELU(),
                                 torch.nn.Linear(2048, 512))
        gm, tm, shape = gm.eval(), tm.eval(), (256, 512)
    tm.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                        for k, v in gm.state_dict().items()})
    xs = rng.standard_normal(shape).astype(np.float32)
    gx, tx = gt.from_numpy(xs), torch.from_numpy(xs.copy())
    compiled = gt.jit.script(gm)
    peer = torch.jit.script(tm) if name == "lstm" else torch.compile(tm)

    def g():
        with gt.no_grad():
            return compiled(gx)

    def p():
        with torch.no_grad():
            return peer(tx)

    for _ in range(3):
        g(), p()
    err = float(np.abs(g().numpy() - p().numpy()).max())
    return g, p, err


def mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 10))


def train_step(lib, model, x, y):
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def training_row():
    rng = np.random.default_rng(0)
    gt.manual_seed(0)
    gm = mlp(gt)
    tm = mlp(torch)
    tm.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                        for k, v in gm.state_dict().items()})
    xs = rng.standard_normal((256, 784)).astype(np.float32)
    ys = rng.integers(0, 10, 256).astype(np.int64)
    g = train_step(gt, gt.jit.script(gm), gt.from_numpy(xs), gt.from_numpy(ys))
    p = train_step(torch, tm, torch.from_numpy(xs), torch.from_numpy(ys))
    first = abs(float(g().item()) - float(p().item()))
    for _ in range(3):
        g(), p()
    return g, p, first


PEER = {"lstm": "torch.jit.script", "gelu_mlp": "torch.compile", "mlp_train": "torch eager"}
CALLS = {"lstm": 8, "gelu_mlp": 30, "mlp_train": 30}


def main() -> None:
    print(f"graphtorch from {os.path.dirname(gt.__file__)}; threads={ARGS.threads}, "
          f"timer={ARGS.timer}, rounds={ARGS.rounds}")
    print("| row | peer | gt compiled ms (median of rounds) | peer ms | peer / gt per round: "
          "median [min, max] | rounds gt ahead |")
    print("|---|---|---|---|---|---|")
    for name in [n for n in ARGS.only.split(",") if n]:
        g, p, err = training_row() if name == "mlp_train" else inference_row(name)
        calls = ARGS.calls or CALLS[name]
        gs, ps = [], []
        for r in range(ARGS.rounds):
            if r % 2:
                ps.append(median_ms(p, calls))
                gs.append(median_ms(g, calls))
            else:
                gs.append(median_ms(g, calls))
                ps.append(median_ms(p, calls))
        ratios = [b / a for a, b in zip(gs, ps)]
        ahead = sum(x > 1 for x in ratios)
        print(f"| {name} | {PEER[name]} | {np.median(gs):.2f} | {np.median(ps):.2f} | "
              f"{np.median(ratios):.3f} [{min(ratios):.3f}, {max(ratios):.3f}] | "
              f"{ahead}/{len(ratios)} |", flush=True)
        print(f"    ({name}: max |gt - peer| = {err:.2e})", file=sys.stderr)


if __name__ == "__main__":
    main()
