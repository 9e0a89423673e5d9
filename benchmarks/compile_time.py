"""Script compile time: scripting a generated 200-line module, with per-stage times.

Run: ``.venv/bin/python benchmarks/compile_time.py`` (``--blocks N`` for a bigger module,
``--repeats R``, ``--json``). The first script builds lark's parser (cached on disk by lark
afterwards); the target is under 0.5 s for every later script of the module. Stages: parse
(lark, Python text -> parse tree), AST (parse tree -> the compiler's syntax tree), IR emission
(syntax tree -> typed graph: everything else).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

import graphtorch as gt
from graphtorch.frontend.script.build_ast import build
from graphtorch.frontend.script.parser import parse_module, python_parser
from graphtorch.frontend.script.source import get_source
from graphtorch.frontend.script.unit import ScriptUnit

TARGET_S = 0.5

_HEADER = '''import graphtorch as torch
from graphtorch import nn


class Generated(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(8, 8) for _ in range({n})])
        self.scale = 0.5

    def mix(self, h, k: int):
        if k % 2 == 0:
            return h * self.scale
        return h + k

    def forward(self, x, n: int):
        h = x
        outs: list[torch.Tensor] = []
'''

_BLOCK = '''        h = self.layers[{i}](h)
        if h.sum() > {i}:
            h = torch.relu(h) + {i}
        else:
            h = torch.tanh(h) * 0.5
        for k in range(n):
            h = self.mix(h, k)
'''

_FOOTER = '''        outs.append(h)
        return h, len(outs)
'''


def write_module(blocks: int, directory: Path) -> tuple[object, int]:
    """The generated module's class and its line count."""
    text = _HEADER.format(n=blocks) + "".join(_BLOCK.format(i=i) for i in range(blocks)) \
        + _FOOTER
    path = directory / "generated_model.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("generated_model", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["generated_model"] = module
    spec.loader.exec_module(module)
    return module.Generated, text.count("\n")


def stage_times(cls) -> dict[str, float]:
    """Seconds spent parsing and building the syntax tree of every method script compiles."""
    parse = ast = 0.0
    for name in ("forward", "mix"):
        src = get_source(getattr(cls, name))
        t0 = time.perf_counter()
        tree = parse_module(src)
        t1 = time.perf_counter()
        build(src, tree)
        t2 = time.perf_counter()
        parse += t1 - t0
        ast += t2 - t1
    return {"parse": parse, "ast": ast}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=28, help="7-line blocks in forward")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cls, lines = write_module(args.blocks, Path(tmp))
        model = cls()
        t0 = time.perf_counter()
        python_parser()
        build_parser = time.perf_counter() - t0
        t0 = time.perf_counter()
        scripted = ScriptUnit().script_module(model)
        first = time.perf_counter() - t0
        totals = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            ScriptUnit().script_module(model)
            totals.append(time.perf_counter() - t0)
        best = min(totals)
        stages = stage_times(cls)
        x = gt.randn(2, 8)
        gt.testing.assert_close(scripted(x, 2)[0], model(x, 2)[0])
    stages["ir_emission"] = max(best - stages["parse"] - stages["ast"], 0.0)
    row = {"lines": lines, "parser_build_s": build_parser, "first_script_s": first,
           "script_s": best, **{f"{k}_s": v for k, v in stages.items()},
           "target_s": TARGET_S, "ok": best < TARGET_S}
    if args.json:
        print(json.dumps(row))
        return
    print(f"scripting a {lines}-line module (best of {args.repeats}, parser already built)")
    print(f"  lark parser build     {build_parser * 1e3:8.1f} ms  (once per process)")
    print(f"  first script          {first * 1e3:8.1f} ms")
    print(f"  script                {best * 1e3:8.1f} ms  (target < {TARGET_S * 1e3:.0f} ms: "
          f"{'ok' if row['ok'] else 'MISSED'})")
    for k in ("parse", "ast", "ir_emission"):
        print(f"    {k:<19} {stages[k] * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
