"""How long ``load`` and ``graphtorch inspect`` take on a model with ~100 MB of weights.

    python benchmarks/load.py [--mb 100] [--repeat 5]

Loading maps the archive and makes tensors as views of the mapping (no copy until written), so
both should take well under a second; the CRC check of the members is most of the cost.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import graphtorch as gt
from graphtorch import nn
from graphtorch.archive import load, read_archive, save


class Wide(nn.Module):
    def __init__(self, width: int, depth: int):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])

    def forward(self, x):
        for layer in self.layers:
            x = gt.relu(layer(x))
        return x


def build(mb: int):
    width, depth = 1024, max(1, round(mb * 2 ** 20 / (4 * 1024 * 1025)))
    gt.manual_seed(0)
    return gt.jit.trace(Wide(width, depth), gt.rand(2, width))


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "wide.gt"
        m = build(args.mb)
        t_save = best_of(1, lambda: save(m, path))
        size = path.stat().st_size / 2 ** 20
        t_load = best_of(args.repeat, lambda: load(path))
        t_read = best_of(args.repeat, lambda: read_archive(path))
        cmd = [sys.executable, "-m", "graphtorch", "inspect", str(path)]
        t_start = best_of(2, lambda: subprocess.run([sys.executable, "-c", "import graphtorch"],
                                                    check=True))
        t_cli = best_of(2, lambda: subprocess.run(cmd, check=True, capture_output=True))
        print(f"archive: {size:.1f} MiB, {len(list(m.parameters()))} parameters")
        print(f"save:                       {t_save * 1e3:8.1f} ms")
        print(f"load (validate + build):    {t_load * 1e3:8.1f} ms")
        print(f"read_archive (validate):    {t_read * 1e3:8.1f} ms")
        print(f"graphtorch inspect (total): {t_cli * 1e3:8.1f} ms "
              f"(of which {t_start * 1e3:.0f} ms is Python + import graphtorch)")


if __name__ == "__main__":
    main()
