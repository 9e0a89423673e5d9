"""Scripting time per function, graphtorch.jit.script vs torch.jit.script, side by side.

Run: ``.venv/bin/python benchmarks/script_time_vs_torch.py`` (``--repeats R``, ``--json``,
``--timer thread`` for CPU time on a busy machine).
A fixed set of TorchScript-style functions (arithmetic, control flow with early exits, loops,
lists/dicts, strings, tensor ops) is written to a module file that is imported fresh for every
repetition, so neither compiler answers from a per-function cache. Each function is scripted
once per repetition by each compiler, the two taking turns; the report gives per-function
medians and the median of the per-function ratios (issue 10's target: graphtorch within 2x of
torch.jit.script).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

_FUNCTIONS = '''
from typing import Dict, List, Optional, Tuple

import {lib} as torch


def arith(x: int, y: float) -> float:
    return (x * 3 + 1) / y - x % 5


def early_return(x: int) -> Tuple[int, str]:
    s = ""
    if x > 3:
        if x > 4:
            return 1, s
        s += "a"
    s += "b"
    return 7, s


def loop_break(n: int) -> int:
    total = 0
    for i in range(n):
        if i == 4:
            total += 10
            break
        total += i
    return total


def while_continue(n: int) -> int:
    i = 0
    acc = 0
    while i < n:
        i += 1
        if i % 2 == 0:
            continue
        acc += i
    return acc


def lists(xs: List[int]) -> List[int]:
    out: List[int] = []
    for x in xs:
        if x > 0:
            out.append(x * 2)
    out.sort()
    return out


def dicts(keys: List[str]) -> Dict[str, int]:
    d: Dict[str, int] = {{}}
    for i, k in enumerate(keys):
        d[k] = i
    return d


def optional_arg(x: torch.Tensor, scale: Optional[float] = None) -> torch.Tensor:
    if scale is None:
        return x
    return x * scale


def tensor_ops(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    h = torch.relu(torch.matmul(x, w) + 1.0)
    return torch.softmax(h, dim=-1).sum(0)


def strings(s: str) -> str:
    parts = s.split(",")
    return "-".join(parts).upper()


def nested_loops(n: int) -> int:
    acc = 0
    for i in range(n):
        for j in range(i):
            if j > 3:
                break
            acc += i * j
    return acc
'''

NAMES = ("arith", "early_return", "loop_break", "while_continue", "lists", "dicts",
         "optional_arg", "tensor_ops", "strings", "nested_loops")


def _fresh_module(lib: str, tag: str, folder: Path):
    path = folder / f"script_time_{lib}_{tag}.py"
    path.write_text(_FUNCTIONS.format(lib=lib))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = mod
    spec.loader.exec_module(mod)
    return mod


def _time_one(lib: str, script, r: int, folder: Path, clock, times: dict) -> None:
    mod = _fresh_module(lib, f"r{r}", folder)
    for name in NAMES:
        fn = getattr(mod, name)
        t0 = clock()
        script(fn)
        dt = clock() - t0
        if r:                             # repetition 0 warms parsers and caches of the library
            times[name].append(dt)


def _time_all(libs: dict, repeats: int, folder: Path, clock) -> dict:
    """lib -> function -> times; the libraries take turns, repetition by repetition, so load
    that comes and goes on a shared machine falls on both alike."""
    times = {lib: {n: [] for n in NAMES} for lib in libs}
    for r in range(repeats + 1):
        for lib, script in libs.items():
            _time_one(lib, script, r, folder, clock, times[lib])
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--timer", choices=("wall", "thread"), default="wall",
                    help="wall: perf_counter; thread: this thread's CPU time (steadier on a "
                         "shared machine: time spent waiting for a core is not counted)")
    args = ap.parse_args()
    clock = time.perf_counter if args.timer == "wall" else time.thread_time
    import graphtorch

    try:
        import torch
    except ImportError:
        torch = None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        libs = {"graphtorch": graphtorch.jit.script}
        if torch is not None:
            libs["torch"] = torch.jit.script
        times = _time_all(libs, args.repeats, folder, clock)
        gt_times, pt_times = times["graphtorch"], times.get("torch")
    rows = []
    for name in NAMES:
        g = statistics.median(gt_times[name]) * 1e3
        p = statistics.median(pt_times[name]) * 1e3 if pt_times else None
        rows.append({"function": name, "graphtorch_ms": g, "torch_ms": p,
                     "ratio": g / p if p else None})
    ratios = [r["ratio"] for r in rows if r["ratio"] is not None]
    summary = {"median_graphtorch_ms": statistics.median(r["graphtorch_ms"] for r in rows),
               "median_torch_ms": (statistics.median(r["torch_ms"] for r in rows)
                                   if pt_times else None),
               "median_ratio": statistics.median(ratios) if ratios else None}
    if args.json:
        print(json.dumps({"rows": rows, **summary}))
        return
    print(f"{'function':<16}{'graphtorch ms':>15}{'torch ms':>11}{'ratio':>8}")
    for r in rows:
        p = f"{r['torch_ms']:.2f}" if r["torch_ms"] is not None else "-"
        q = f"{r['ratio']:.2f}" if r["ratio"] is not None else "-"
        print(f"{r['function']:<16}{r['graphtorch_ms']:>15.2f}{p:>11}{q:>8}")
    print(f"median per function: graphtorch {summary['median_graphtorch_ms']:.2f} ms, torch "
          f"{summary['median_torch_ms'] or float('nan'):.2f} ms, median ratio "
          f"{summary['median_ratio'] or float('nan'):.2f}")


if __name__ == "__main__":
    main()
