"""Real PyTorch programs, run unchanged with PyTorch and with graphtorch in place of ``torch``.

Run: ``.venv/bin/python benchmarks/real_programs.py DIR [--only NAME ...] [--timeout S]
[--json OUT] [--markdown OUT]`` where DIR holds the programs (``*.py``, taken from the public
pytorch/tutorials and pytorch/examples repositories with their data loading replaced by synthetic
tensors; they are read, never committed here) and optionally ``manifest.json``:
``{"name": {"source": "repo/path.py", "ignore": ["regex", ...], "only": "regex",
"compare": false, "note": "..."}}``
(``ignore``: patterns cut out of every output line before its numbers are compared, such as
timings (``.*word.*`` drops a whole line); ``only``: compare only the lines it matches, for
instance the tensor values of a program that also prints graphs; ``compare: false``:
the output holds no comparable numbers, for instance a profiler table of times).

Each program runs twice in a fresh process, from a fresh working directory, with DIR on
``sys.path``: once with PyTorch, once with ``torch`` (and every ``torch.*`` module) resolving to
graphtorch through an import hook. The graphtorch run draws its random numbers from PyTorch's
generator (``graphtorch.manual_seed``, ``Generator``, ``rand``/``randn``/``randint``/
``randperm``/``bernoulli``, dropout masks, ``DataLoader`` shuffling), so that the two runs see the
same random draws and their printed numbers can be compared: every number in the output (in
order, memory addresses left out) must agree within ``--rtol``/``--atol``.

Per program:

    equal     both complete; the printed numbers agree
    differ    both complete; a printed number differs (the first difference is shown)
    complete  both complete; the output has no comparable numbers (``compare: false``)
    stops     PyTorch completes, graphtorch raises (the error is shown)
    refused   both raise, the same exception type or at the same line of the program (a program
              PyTorch itself refuses)
    torch-only-fails  PyTorch raises, graphtorch does not
    hang      no answer within --timeout seconds
"""

from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.util
import json
import math
import os
import re
import runpy
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
_RAISED = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b")
_DEFAULT_IGNORE = [r"ms/batch\s*[\d.]+", r"(?i)\btime:?\s*[\d.]+\s*s", r"(?i)elapsed\S*\s*[\d.:]+"]


# ---------------------------------------------------------------- the child process

class _TorchIsGraphtorch(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import torch.X`` gives ``graphtorch.X`` (the module object itself)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        target_name = "graphtorch" + fullname[len("torch"):]
        try:
            importlib.import_module(target_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and target_name.startswith(exc.name):
                return None
            raise
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return sys.modules["graphtorch" + spec.name[len("torch"):]]

    def exec_module(self, module):
        return None


def _with_torch(torch, fn):
    """``fn()`` with ``sys.modules["torch"]`` PyTorch again for its duration."""
    shim = sys.modules.get("torch")
    sys.modules["torch"] = torch
    try:
        return fn()
    finally:
        sys.modules["torch"] = shim


class _TorchDraws:
    """The part of numpy's ``Generator`` graphtorch uses, drawing from a PyTorch generator.

    PyTorch's C++ side looks ``torch`` up in ``sys.modules``; during a draw it finds PyTorch.
    """

    def __init__(self, torch, gen):
        self.torch, self.gen = torch, gen

    def _draw(self, fn):
        return _with_torch(self.torch, lambda: fn(self.torch).numpy())

    def random(self, size):
        return self._draw(lambda t: t.rand(size, generator=self.gen)).astype("float64")

    def standard_normal(self, size):
        return self._draw(lambda t: t.randn(size, generator=self.gen)).astype("float64")

    def normal(self, mean, std, size):
        return self._draw(lambda t: t.empty(size).normal_(float(mean), float(std),
                                                          generator=self.gen)).astype("float64")

    def integers(self, low, high, size):
        return self._draw(lambda t: t.randint(int(low), int(high), size, generator=self.gen))

    def permutation(self, n):
        return self._draw(lambda t: t.randperm(int(n), generator=self.gen))


def _share_torch_rng(torch, seed: int) -> None:
    """Route graphtorch's random draws through PyTorch's generators (see the module doc)."""
    # NOTE: runs in the program's process after it chose its mode: graphtorch loads only there
    import numpy as np

    from graphtorch.ops import random as gt_random
    from graphtorch.ops.registry import REGISTRY
    from graphtorch.utils import data as gt_data

    gen_cls = gt_random.Generator
    orig_init = gen_cls.__init__

    def init(self, device="cpu"):
        orig_init(self, device)
        self._rng = _TorchDraws(torch, torch.Generator())

    def manual_seed(self, s):
        self._seed = int(s)
        self._rng.gen.manual_seed(int(s))
        return self

    def get_state(self):
        return gt_random.tensor(self._rng.gen.get_state().numpy())

    def set_state(self, state):
        self._rng.gen.set_state(torch.from_numpy(np.asarray(state, dtype=np.uint8).copy()))

    gen_cls.__init__, gen_cls.manual_seed = init, manual_seed
    gen_cls.get_state, gen_cls.set_state = get_state, set_state
    gt_random.default_generator._rng = _TorchDraws(torch, torch.default_generator)
    gt_random.default_generator.manual_seed(seed)

    def bernoulli(xp, p, gen):
        return _with_torch(torch, lambda: _bernoulli(p, gen))

    def _bernoulli(p, gen):
        g = (gen or gt_random.default_generator)._rng.gen
        flat = p.reshape(-1)
        if flat.size and (flat == flat[0]).all():  # a dropout mask: PyTorch's bernoulli_(float)
            out = torch.empty(p.shape, dtype=torch.float32).bernoulli_(float(flat[0]), generator=g)
        else:
            out = torch.bernoulli(torch.from_numpy(np.ascontiguousarray(p)), generator=g)
        return out.numpy().astype(p.dtype)

    REGISTRY["bernoulli"].kernel = bernoulli

    def sampler_iter(self):
        yield from _with_torch(torch, lambda: list(_sampler_order(self)))

    def _sampler_order(self):
        n = len(self.data_source)
        if self.generator is None:
            seed_ = int(torch.empty((), dtype=torch.int64).random_().item())
            g = torch.Generator()
            g.manual_seed(seed_)
        else:
            g = self.generator._rng.gen
        if self.replacement:
            yield from torch.randint(n, (self.num_samples,), generator=g).tolist()
            return
        for _ in range(self.num_samples // n):
            yield from torch.randperm(n, generator=g).tolist()
        yield from torch.randperm(n, generator=g).tolist()[:self.num_samples % n]

    gt_data.RandomSampler.__iter__ = sampler_iter
    orig_loader_iter = gt_data.DataLoader.__iter__

    def loader_iter(self):
        g = self.generator._rng.gen if self.generator is not None else None
        _with_torch(torch, lambda: torch.empty((), dtype=torch.int64).random_(generator=g))
        return orig_loader_iter(self)

    gt_data.DataLoader.__iter__ = loader_iter


def _child(mode: str, program: str, seed: int) -> None:
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)

    if mode == "graphtorch":
        for name in [m for m in sys.modules if m == "torch" or m.startswith("torch.")]:
            del sys.modules[name]
        import graphtorch  # NOTE: loaded once the torch modules are gone (the hook replaces them)

        _share_torch_rng(torch, seed)
        sys.meta_path.insert(0, _TorchIsGraphtorch())
        del graphtorch
    else:
        torch.manual_seed(seed)
    sys.path.insert(0, str(Path(program).parent))
    sys.argv = [program]
    runpy.run_path(program, run_name="__main__")


# ---------------------------------------------------------------- the parent process

def _run(mode: str, program: Path, seed: int, timeout: float) -> dict:
    with tempfile.TemporaryDirectory() as work:
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--child", mode, str(program.resolve()),
                 "--seed", str(seed)], cwd=work, capture_output=True, text=True, timeout=timeout,
                env={**os.environ, "PYTHONHASHSEED": "0"})
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            return {"rc": None, "stdout": out, "error": "timeout", "where": "", "seconds": timeout}
        seconds = time.perf_counter() - t0
    error, where = "", ""
    if proc.returncode != 0:
        raised = [ln for ln in proc.stderr.splitlines() if _RAISED.match(ln)]
        error = raised[-1] if raised else f"exit status {proc.returncode}"
        frames = re.findall(rf'File "[^"]*{re.escape(program.name)}", line (\d+)', proc.stderr)
        where = f"{program.name}:{frames[-1]}" if frames else ""
    return {"rc": proc.returncode, "stdout": proc.stdout, "error": error, "where": where,
            "seconds": round(seconds, 2)}


def _numbers(text: str, ignore: list[str], only: str = "") -> list[tuple[int, str, float]]:
    pats = [re.compile(p) for p in ignore]
    keep = re.compile(only) if only else None
    found = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if keep is not None and not keep.search(line):
            continue
        kept = _ADDRESS.sub("", line)
        for p in pats:
            kept = p.sub("", kept)
        for m in _NUMBER.finditer(kept):
            found.append((lineno, line.strip(), float(m.group())))
    return found


def compare_outputs(expected: str, actual: str, ignore: list[str], rtol: float,
                    atol: float, only: str = "") -> str:
    """'' when the printed numbers agree, else the first difference."""
    e, a = _numbers(expected, ignore, only), _numbers(actual, ignore, only)
    for (eline, etext, ev), (aline, atext, av) in zip(e, a):
        same = (math.isnan(ev) and math.isnan(av)) or abs(ev - av) <= atol + rtol * abs(ev)
        if not same:
            return f"line {eline}: torch {etext[:90]!r} vs graphtorch line {aline} {atext[:90]!r}"
    if len(e) != len(a):
        return f"{len(e)} numbers printed by torch, {len(a)} by graphtorch"
    return ""


def _exc_name(error: str) -> str:
    return error.split(":")[0].rsplit(".", 1)[-1]


def text_difference(expected: str, actual: str, ignore: list[str], only: str = "") -> str:
    """The first output line that differs once numbers, addresses and the module name are masked."""
    def masked(text: str) -> list[str]:
        keep = re.compile(only) if only else None
        out = []
        for line in text.splitlines():
            if keep is not None and not keep.search(line):
                continue
            line = _ADDRESS.sub("0x", line.replace("graphtorch", "torch"))
            for p in ignore:
                line = re.sub(p, "", line)
            out.append(_NUMBER.sub("#", line).rstrip())
        return out
    for e, a in zip(masked(expected), masked(actual)):
        if e != a:
            return f"text: torch {e.strip()[:70]!r} vs graphtorch {a.strip()[:70]!r}"
    return ""


def judge(torch_run: dict, gt_run: dict, entry: dict, rtol: float, atol: float) -> dict:
    if gt_run["error"] == "timeout":
        return {"status": "hang", "detail": "graphtorch run timed out"}
    if torch_run["rc"] != 0:
        if gt_run["rc"] != 0:
            same = _exc_name(torch_run["error"]) == _exc_name(gt_run["error"])
            same_line = bool(torch_run["where"]) and torch_run["where"] == gt_run["where"]
            at = f"at {torch_run['where']}: " if same_line else ""
            return {"status": "refused" if same or same_line else "stops",
                    "detail": f"{at}torch: {torch_run['error']} / graphtorch: {gt_run['error']}"}
        detail = torch_run["error"]
        if torch_run["stdout"].strip() and entry.get("compare", True) is not False:
            ignore, only = _DEFAULT_IGNORE + entry.get("ignore", []), entry.get("only", "")
            printed = _numbers(torch_run["stdout"], ignore, only)
            ours = _numbers(gt_run["stdout"], ignore, only)[:len(printed)]
            diff = compare_outputs(torch_run["stdout"], "\n".join(
                gt_run["stdout"].splitlines()[:len(torch_run["stdout"].splitlines())]),
                ignore, rtol, atol, only)
            detail += (f"; the {len(printed)} numbers PyTorch printed first: "
                       + ("equal" if not diff and len(ours) == len(printed) else diff))
        return {"status": "torch-only-fails", "detail": detail}
    if gt_run["rc"] != 0:
        return {"status": "stops", "detail": f"{gt_run['where']}: {gt_run['error']}"}
    if entry.get("compare", True) is False:
        return {"status": "complete", "detail": entry.get("why", "")}
    ignore, only = _DEFAULT_IGNORE + entry.get("ignore", []), entry.get("only", "")
    diff = compare_outputs(torch_run["stdout"], gt_run["stdout"], ignore, rtol, atol, only)
    n = len(_numbers(torch_run["stdout"], ignore, only))
    text = text_difference(torch_run["stdout"], gt_run["stdout"], ignore, only)
    detail = diff or f"{n} numbers" + (f"; {text}" if text else "")
    return {"status": "differ" if diff else "equal", "detail": detail}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", nargs="?")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "PROGRAM"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--atol", type=float, default=2e-4)
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    args = ap.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], args.seed)
        return
    root = Path(args.dir)
    manifest_path = root / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    names = args.only or sorted(manifest) or sorted(p.stem for p in root.glob("*.py"))
    rows = []
    for name in names:
        entry = manifest.get(name, {})
        program = root / f"{name}.py"
        t_run = _run("torch", program, args.seed, args.timeout)
        g_run = _run("graphtorch", program, args.seed, args.timeout)
        row = {"program": name, "source": entry.get("source", ""), **judge(t_run, g_run, entry,
                                                                           args.rtol, args.atol),
               "torch_s": t_run["seconds"], "graphtorch_s": g_run["seconds"],
               "note": entry.get("note", "")}
        rows.append(row)
        print(f"{name:34s} {row['status']:9s} torch {row['torch_s']:7.2f}s  graphtorch "
              f"{row['graphtorch_s']:7.2f}s  {row['detail'][:150]}", flush=True)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    print("total", len(rows), " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if args.markdown:
        lines = ["| program | source | status | equal to PyTorch | torch s | graphtorch s "
                 "| detail |", "|---|---|---|---|---|---|---|"]
        for r in rows:
            eq = {"equal": "yes", "differ": "no", "refused": "refused alike"}.get(r["status"], "-")
            detail = (r["note"] or r["detail"]).replace("|", "/")[:160]
            lines.append(f"| {r['program']} | {r['source']} | {r['status']} | {eq} | "
                         f"{r['torch_s']} | {r['graphtorch_s']} | {detail} |")
        Path(args.markdown).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
