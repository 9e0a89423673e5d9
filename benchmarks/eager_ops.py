"""Eager per-op cost: graphtorch vs numpy vs PyTorch (CPU), side by side in one run.

Run: ``.venv/bin/python benchmarks/eager_ops.py`` (``--quick`` for fewer repeats, ``--json`` for
machine-readable rows). Small tensors (1,000 float32 elements) measure dispatch overhead, which we
compare with PyTorch eager; large ones (10M elements) measure the kernels, which should run at
numpy speed. PyTorch is pinned to one thread so that all three use one core, like numpy.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import numpy as np

import graphtorch as gt

SMALL, LARGE = 1_000, 10_000_000


def measure(fn: Callable[[], object], budget_s: float, repeats: int) -> float:
    """Best-of-``repeats`` seconds per call, each repeat running for about ``budget_s``."""
    fn()
    n, t = 1, 0.0
    while True:  # calibrate the loop count
        start = time.perf_counter()
        for _ in range(n):
            fn()
        t = time.perf_counter() - start
        if t > budget_s / 4 or n >= 1 << 20:
            break
        n *= 4
    n = max(1, int(n * budget_s / max(t, 1e-9) / 4))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best


def cases(size: int, requires_grad: bool, torch):
    """(name, graphtorch fn, numpy fn, torch fn) for one tensor size."""
    rng = np.random.default_rng(0)
    side = int(round(size ** 0.5))
    a_np = rng.standard_normal(size).astype(np.float32)
    b_np = rng.standard_normal(size).astype(np.float32)
    m_np = rng.standard_normal((side, side)).astype(np.float32)
    a, b, m = (gt.tensor(x, requires_grad=requires_grad) for x in (a_np, b_np, m_np))
    ta, tb, tm = (torch.tensor(x, requires_grad=requires_grad) for x in (a_np, b_np, m_np))
    shape2 = (size // 10, 10)
    return [
        ("add", lambda: a + b, lambda: a_np + b_np, lambda: ta + tb),
        ("mul", lambda: a * b, lambda: a_np * b_np, lambda: ta * tb),
        ("exp", lambda: a.exp(), lambda: np.exp(a_np), lambda: ta.exp()),
        ("relu", lambda: a.relu(), lambda: np.maximum(a_np, 0), lambda: ta.relu()),
        ("sum", lambda: a.sum(), lambda: a_np.sum(), lambda: ta.sum()),
        ("add_scalar", lambda: a + 1.5, lambda: a_np + np.float32(1.5), lambda: ta + 1.5),
        ("view", lambda: a.view(shape2), lambda: a_np.reshape(shape2), lambda: ta.view(shape2)),
        (f"matmul {side}x{side}", lambda: m @ m, lambda: m_np @ m_np, lambda: tm @ tm),
    ]


def run(quick: bool) -> list[dict]:
    import torch

    torch.set_num_threads(1)
    rows = []
    for size in (SMALL, LARGE):
        budget = 0.05 if size == SMALL else 0.3
        repeats = 3 if quick else 7
        for rg in (False, True):
            for name, g, n, t in cases(size, rg, torch):
                if size == LARGE and name.startswith("matmul"):
                    budget_mm = budget * 2
                else:
                    budget_mm = budget
                row = {"op": name, "numel": size, "requires_grad": rg,
                       "graphtorch_s": measure(g, budget_mm, repeats),
                       "numpy_s": measure(n, budget_mm, repeats),
                       "torch_s": measure(t, budget_mm, repeats)}
                rows.append(row)
    return rows


def print_table(rows: list[dict]) -> None:
    head = (f"{'op':<16}{'numel':>10} {'grad':>5} {'numpy':>11} {'torch':>11} {'graphtorch':>11}"
            f" {'gt/torch':>9} {'gt/numpy':>9}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['op']:<16}{r['numel']:>10} {'yes' if r['requires_grad'] else 'no':>5} "
              f"{_fmt(r['numpy_s'])} {_fmt(r['torch_s'])} {_fmt(r['graphtorch_s'])} "
              f"{r['graphtorch_s'] / r['torch_s']:>9.2f} {r['graphtorch_s'] / r['numpy_s']:>9.2f}")


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:>8.2f} us"
    return f"{seconds * 1e3:>8.2f} ms"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="3 repeats instead of 7")
    p.add_argument("--json", action="store_true", help="print rows as JSON")
    args = p.parse_args()
    rows = run(args.quick)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print_table(rows)


if __name__ == "__main__":
    main()
