"""Train-step benchmark: graphtorch vs PyTorch (CPU) vs hand-written numpy, side by side.

One step = forward, cross-entropy, backward, SGD-momentum update, on
  * an MLP 784-512-512-10 with batch 256, and
  * LeNet-5 (28x28 inputs, conv 6@5x5 pad 2, pool, conv 16@5x5, pool, 120, 84, 10), batch 64.

    python benchmarks/train_step.py [--iters 20] [--model mlp|lenet|all]
    OMP_NUM_THREADS=1 python benchmarks/train_step.py --threads 1   # steadier on a busy machine

Prints the median time per step and the ratios graphtorch/PyTorch and graphtorch/numpy.
Targets: the MLP within 1.3x of PyTorch, LeNet-5 within 2x.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import graphtorch as gt
import graphtorch.nn.functional as F  # noqa: N812 - the PyTorch convention

LR, MOMENTUM = 0.01, 0.9


def _median_ms(steps: dict, iters: int, warmup: int = 3) -> dict[str, float]:
    """Median ms per step; libraries take turns so load from other processes hits all alike."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(iters):
        for name, step in steps.items():
            t0 = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - t0)
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}


# --- graphtorch and PyTorch: the same code against either library -------------------------------
def _mlp(nn):
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 10))


def _lenet(nn):
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def _library_step(lib, functional, model, x, y):
    opt = lib.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def step():
        opt.zero_grad()
        loss = functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def _inputs(shape, batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((batch, *shape)).astype(np.float32),
            rng.integers(0, 10, batch).astype(np.int64))


# --- hand-written numpy ---------------------------------------------------------------------------
class _NumpySGD:
    def __init__(self, params: list[np.ndarray]):
        self.params = params
        self.bufs = [None] * len(params)

    def step(self, grads: list[np.ndarray]) -> None:
        for i, (p, g) in enumerate(zip(self.params, grads)):
            if self.bufs[i] is None:
                self.bufs[i] = g.copy()
            else:
                self.bufs[i] *= MOMENTUM
                self.bufs[i] += g
            p -= LR * self.bufs[i]


def _cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    m = logits.max(1, keepdims=True)
    e = np.exp(logits - m)
    s = e.sum(1, keepdims=True)
    n = len(y)
    loss = float(-(logits[np.arange(n), y] - m[:, 0] - np.log(s[:, 0])).mean())
    g = e / s
    g[np.arange(n), y] -= 1
    return loss, g / n


def _init(shape, fan_in, rng):
    bound = 1 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, shape).astype(np.float32)


def _numpy_mlp_step(x, y):
    rng = np.random.default_rng(1)
    sizes = [(512, 784), (512, 512), (10, 512)]
    params = []
    for out, inp in sizes:
        params += [_init((out, inp), inp, rng), _init(out, inp, rng)]
    opt = _NumpySGD(params)

    def step():
        w1, b1, w2, b2, w3, b3 = params
        h1 = x @ w1.T + b1
        a1 = np.maximum(h1, 0)
        h2 = a1 @ w2.T + b2
        a2 = np.maximum(h2, 0)
        loss, g3 = _cross_entropy(a2 @ w3.T + b3, y)
        g2 = (g3 @ w3) * (h2 > 0)
        g1 = (g2 @ w2) * (h1 > 0)
        opt.step([g1.T @ x, g1.sum(0), g2.T @ a1, g2.sum(0), g3.T @ a2, g3.sum(0)])
        return loss

    return step


def _conv(x, w, b, pad):
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    k = w.shape[-1]
    cols = sliding_window_view(x, (k, k), axis=(2, 3))  # N, C, Ho, Wo, k, k
    out = np.tensordot(cols, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    return out + b[:, None, None], cols


def _conv_backward(dout, cols, w, need_dx: bool):
    dw = np.tensordot(dout, cols, axes=([0, 2, 3], [0, 2, 3]))
    db = dout.sum((0, 2, 3))
    if not need_dx:
        return None, dw, db
    n, c, ho, wo, k, _ = cols.shape
    dcols = np.tensordot(dout, w, axes=([1], [0]))  # N, Ho, Wo, C, k, k
    dx = np.zeros((n, c, ho + k - 1, wo + k - 1), dtype=dout.dtype)
    for i in range(k):
        for j in range(k):
            dx[:, :, i:i + ho, j:j + wo] += dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return dx, dw, db


def _pool(x):
    n, c, h, w = x.shape
    out = x.reshape(n, c, h // 2, 2, w // 2, 2).max((3, 5))
    mask = x == out.repeat(2, 2).repeat(2, 3)
    return out, mask


def _numpy_lenet_step(x, y):
    rng = np.random.default_rng(2)
    params = [_init((6, 1, 5, 5), 25, rng), _init(6, 25, rng),
              _init((16, 6, 5, 5), 150, rng), _init(16, 150, rng),
              _init((120, 400), 400, rng), _init(120, 400, rng),
              _init((84, 120), 120, rng), _init(84, 120, rng),
              _init((10, 84), 84, rng), _init(10, 84, rng)]
    opt = _NumpySGD(params)

    def step():
        c1w, c1b, c2w, c2b, w1, b1, w2, b2, w3, b3 = params
        h1, cols1 = _conv(x, c1w, c1b, 2)
        p1, m1 = _pool(np.maximum(h1, 0))
        h2, cols2 = _conv(p1, c2w, c2b, 0)
        p2, m2 = _pool(np.maximum(h2, 0))
        f = p2.reshape(len(x), -1)
        h3 = f @ w1.T + b1
        a3 = np.maximum(h3, 0)
        h4 = a3 @ w2.T + b2
        a4 = np.maximum(h4, 0)
        loss, g5 = _cross_entropy(a4 @ w3.T + b3, y)
        g4 = (g5 @ w3) * (h4 > 0)
        g3 = (g4 @ w2) * (h3 > 0)
        gp2 = (g3 @ w1).reshape(p2.shape)
        gh2 = gp2.repeat(2, 2).repeat(2, 3) * m2 * (h2 > 0)
        gp1, gc2w, gc2b = _conv_backward(gh2, cols2, c2w, True)
        gh1 = gp1.repeat(2, 2).repeat(2, 3) * m1 * (h1 > 0)
        _, gc1w, gc1b = _conv_backward(gh1, cols1, c1w, False)
        opt.step([gc1w, gc1b, gc2w, gc2b, g3.T @ f, g3.sum(0), g4.T @ a3, g4.sum(0),
                  g5.T @ a4, g5.sum(0)])
        return loss

    return step


# --- the table -----------------------------------------------------------------------------------
def run(model: str, iters: int) -> dict[str, float]:
    import torch

    torch.manual_seed(0)
    gt.manual_seed(0)
    if model == "mlp":
        shape, batch, build, np_step = (784,), 256, _mlp, _numpy_mlp_step
    else:
        shape, batch, build, np_step = (1, 28, 28), 64, _lenet, _numpy_lenet_step
    x, y = _inputs(shape, batch)
    steps = {
        "graphtorch": _library_step(gt, F, build(gt.nn), gt.tensor(x), gt.tensor(y)),
        "pytorch": _library_step(torch, torch.nn.functional, build(torch.nn),
                                 torch.tensor(x), torch.tensor(y)),
        "numpy": np_step(x, y),
    }
    return _median_ms(steps, iters)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--model", choices=["mlp", "lenet", "all"], default="all")
    parser.add_argument("--threads", type=int, default=None,
                        help="PyTorch intra-op threads (set OMP_NUM_THREADS for numpy's BLAS)")
    args = parser.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; numpy {np.__version__}")
    print(f"{'model':<28}{'graphtorch':>12}{'pytorch':>12}{'numpy':>12}{'gt/pt':>8}{'gt/np':>8}")
    names = {"mlp": "MLP 784-512-512-10 b256", "lenet": "LeNet-5 b64"}
    for model in (["mlp", "lenet"] if args.model == "all" else [args.model]):
        t = run(model, args.iters)
        print(f"{names[model]:<28}{t['graphtorch']:>10.2f}ms{t['pytorch']:>10.2f}ms"
              f"{t['numpy']:>10.2f}ms{t['graphtorch'] / t['pytorch']:>7.2f}x"
              f"{t['graphtorch'] / t['numpy']:>7.2f}x")


if __name__ == "__main__":
    main()
