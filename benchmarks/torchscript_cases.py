"""PyTorch's own TorchScript test cases, run with graphtorch in place of torch.

Run: ``.venv/bin/python benchmarks/torchscript_cases.py DIR [--json OUT] [--timeout S]
[--only FILE ...] [--checkscript-only]`` where DIR holds PyTorch test files flat in one folder
(``test_jit.py`` from ``test/``, ``test_list_dict.py`` ... from ``test/jit/``; they are read,
never committed here). Every ``self.checkScript`` and ``self.checkModule`` call site of a test
class, and every ``self.assertEqual`` that compares a scripted value, is one case, taken by one
of three runners:

    plain     (this file) a ``self.checkScript(fn, inputs)`` statement at the top level of a test
              method: the statements of the method before the call (nested ``def``s, classes,
              assignments, imports) plus the module-level imports and definitions they name
    program   (torchscript_cases_programs.py) ``checkModule``, ``assertEqual`` and methods whose
              classes must be global (``make_global``)
    site      (torchscript_cases_sites.py) every other call site (in a loop, an ``if``, a
              ``with``, a nested helper or a helper method, or with ``self`` in its arguments):
              the whole test method runs with a stand-in ``self`` that measures that site; a
              plain or program case that torch cannot run as cut falls back to it

A case counts when real PyTorch gets it right (eager and ``torch.jit.script`` agree); it is then
run with ``graphtorch.jit.script`` on the same inputs (converted from the torch values) and
compared with eager PyTorch:

    pass      same values
    refused   graphtorch.errors.ScriptError (a refusal with a message)
    missing   AttributeError / ImportError / NameError: an API graphtorch lacks
    crash     any other exception (or the worker died)
    wrong     a result that differs from eager PyTorch
    hang      no answer within --timeout seconds

Cases run in one worker process per file; a case that hangs or kills the worker is recorded and the
worker restarts after it. Per file the run prints how many calls the text holds, the cases each
runner took and why any was excluded; at the end the totals, the blockers by cause and the issue's
measure (``checkScript`` call sites only). The per-case list (with the error message) goes to
--json; ``torchscript_cases_report.py --markdown`` writes every failing case grouped by cause.
"""

from __future__ import annotations

import argparse
import ast
import collections
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torchscript_cases_programs as programs
import torchscript_cases_report as report
import torchscript_cases_sites as sites

STATUSES = ("pass", "refused", "missing", "crash", "wrong", "hang")
_CASE_FN = "__case__"


# ---------------------------------------------------------------- extraction (parent process)

def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _uses_self(node: ast.AST) -> bool:
    return "self" in _names(node)


def _is_check_script(stmt: ast.stmt) -> bool:
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return False
    f = stmt.value.func
    return (isinstance(f, ast.Attribute) and f.attr == "checkScript"
            and isinstance(f.value, ast.Name) and f.value.id == "self")


def _is_test_class(node: ast.ClassDef) -> bool:
    return any("TestCase" in ast.unparse(b) for b in node.bases)


def _module_context(tree: ast.Module) -> tuple[list[ast.stmt], dict[str, ast.stmt]]:
    imports, defs = [], {}
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            imports.append(stmt)
        elif isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
            if not (isinstance(stmt, ast.ClassDef) and _is_test_class(stmt)):
                defs[stmt.name] = stmt
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for t in targets:
                for n in _names(t):
                    defs[n] = stmt
    return imports, defs


def _dependencies(body: list[ast.stmt], defs: dict[str, ast.stmt]) -> list[ast.stmt]:
    seen: list[ast.stmt] = []
    todo = set().union(*(_names(s) for s in body)) if body else set()
    done: set[str] = set()
    while todo:
        name = todo.pop()
        done.add(name)
        stmt = defs.get(name)
        if stmt is None or any(stmt is s for s in seen):
            continue
        seen.append(stmt)
        todo |= _names(stmt) - done
    order = {id(s): i for i, s in enumerate(defs.values())}
    return sorted(seen, key=lambda s: order[id(s)])


_IMPORT_FIXES = (  # textual, on import lines only: the case's own text keeps its comments
    (re.compile(r"^(\s*)import torch$", re.M), r"\1import graphtorch as torch"),
    (re.compile(r"^(\s*)import torch\.(\S+) as", re.M), r"\1import graphtorch.\2 as"),
    (re.compile(r"^(\s*)import torch\.\S+$", re.M), r"\1import graphtorch as torch"),
    # PyTorch's test_module holds plain Python functions the tests script: kept as they are
    (re.compile(r"^(\s*)from torch(?!\.testing\._internal\.test_module)(\.\S+)? import", re.M),
     r"\1from graphtorch\2 import"),
)
_TEST_MODULE = "testing._internal.test_module"


def kept_import(stmt: ast.stmt) -> bool:
    """A module-level import a case may use: not PyTorch's test utilities (jit_utils,
    common_utils ...), except its ``test_module`` of plain functions."""
    text = ast.unparse(stmt)
    if _TEST_MODULE in text:
        return True
    return "testing._internal" not in text and "jit_utils" not in text


def _text(lines: list[str], stmt: ast.stmt, indent: str) -> str:
    """The statement's own source lines (decorators and comments included), re-indented."""
    first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
    col = stmt.col_offset
    out = []
    for line in lines[first - 1:stmt.end_lineno]:
        head = line[:col]
        out.append(indent + (line[col:] if not head.strip() else line.lstrip()))
    return "\n".join(out) + "\n"


def _segment(lines: list[str], node: ast.expr) -> str:
    part = lines[node.lineno - 1:node.end_lineno]
    if len(part) == 1:
        return part[0][node.col_offset:node.end_col_offset]
    return "\n".join([part[0][node.col_offset:]] + part[1:-1] + [part[-1][:node.end_col_offset]])


def _case_source(lines, imports, deps, setup, call: ast.Call, to_graphtorch: bool) -> str:
    fn_src = _segment(lines, call.args[0])
    inputs = call.args[1] if len(call.args) > 1 else None
    inputs_src = _segment(lines, inputs) if inputs else "()"
    head = "".join(f"try:\n{_text(lines, i, '    ')}except Exception:\n    pass\n"
                   for i in imports)
    body = "".join(_text(lines, d, "") for d in deps)
    case = f"\n\ndef {_CASE_FN}():\n"
    for stmt in setup:
        if to_graphtorch and not isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
            # values only the torch inputs need (make_tensor(..., dtype=complex64)) must not
            # fail the graphtorch side; a function that needs one fails with a NameError
            case += f"    try:\n{_text(lines, stmt, '        ')}    except Exception:\n" \
                    f"        pass\n"
        else:
            case += _text(lines, stmt, "    ")
    case += f"    return (({fn_src}), lambda: ({inputs_src}))\n"
    src = head + body + case
    if to_graphtorch:
        for pattern, repl in _IMPORT_FIXES:
            src = pattern.sub(repl, src)
    return src


def extract_cases(path: Path) -> list[dict]:
    """Every self-contained ``self.checkScript`` call of the file, as two module sources."""
    text = path.read_text()
    tree, lines = ast.parse(text), text.splitlines()
    imports, defs = _module_context(tree)
    imports = [i for i in imports if kept_import(i)]
    cases = []
    for cls in tree.body:
        if not isinstance(cls, ast.ClassDef):
            continue
        for meth in cls.body:
            if not (isinstance(meth, ast.FunctionDef) and meth.name.startswith("test")):
                continue
            if programs.method_makes_global(meth):
                continue  # its classes need a real module: torchscript_cases_programs.py
            setup: list[ast.stmt] = []
            for stmt in meth.body:
                if _is_check_script(stmt):
                    call = stmt.value
                    if call.args and not _uses_self(ast.Tuple(elts=call.args, ctx=ast.Load())):
                        kw = {k.arg: ast.unparse(k.value) for k in call.keywords if k.arg}
                        deps = _dependencies(setup + [stmt], defs)
                        cases.append({
                            "file": path.name, "test": f"{cls.name}.{meth.name}",
                            "line": stmt.lineno, "name": kw.get("name", "'func'"),
                            "atol": kw.get("atol"), "rtol": kw.get("rtol"),
                            "torch_src": _case_source(lines, imports, deps, setup, call, False),
                            "gt_src": _case_source(lines, imports, deps, setup, call, True)})
                    continue
                if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)) or isinstance(
                        stmt, (ast.Assign, ast.AnnAssign, ast.Import, ast.ImportFrom)
                ) and not _uses_self(stmt):  # ``self`` in a nested class's methods is its own
                    setup.append(stmt)
    return cases


# ---------------------------------------------------------------- one case (worker process)

def _load(src: str, path: Path, name: str):
    glb = programs.module(src, path).__dict__  # a real module: classes find their source
    fn, inputs = glb[_CASE_FN]()
    if isinstance(fn, str):  # checkScript(source_text, inputs, name=...)
        text_path = path.with_name(path.stem + "_text.py")
        text_path.write_text(fn)
        exec(compile(fn, str(text_path), "exec"), glb)  # noqa: S102
        fn = glb[name]
    return fn, inputs


def _to_graphtorch(v, gt, torch, memo: dict | None = None):
    """torch values as graphtorch values; one tensor object stays one object (dict keys)."""
    memo = {} if memo is None else memo
    if isinstance(v, torch.Tensor):
        if id(v) not in memo:
            memo[id(v)] = _tensor_to_graphtorch(v, gt, torch)
        return memo[id(v)]
    if isinstance(v, tuple) and hasattr(v, "_fields"):
        return type(v)(*(_to_graphtorch(x, gt, torch, memo) for x in v))
    if isinstance(v, (list, tuple)):
        return type(v)(_to_graphtorch(x, gt, torch, memo) for x in v)
    if isinstance(v, dict):
        return {_to_graphtorch(k, gt, torch, memo): _to_graphtorch(x, gt, torch, memo)
                for k, x in v.items()}
    return _leaf_to_graphtorch(v, gt, torch)


def _tensor_to_graphtorch(v, gt, torch):
    t = v.detach()
    if t.dtype == torch.bfloat16:
        out = gt.tensor(t.float().numpy()).to(gt.bfloat16)
    else:
        out = gt.tensor(t.numpy())
    if v.requires_grad:
        out.requires_grad_(True)
    return out


def _leaf_to_graphtorch(v, gt, torch):
    if isinstance(v, torch.dtype):
        return getattr(gt, str(v).split(".")[-1])
    if isinstance(v, torch.device):
        return gt.device(str(v))
    if isinstance(v, torch.Size):
        return tuple(v)
    if isinstance(v, range):  # TorchScript takes a range where a List[int] is expected
        return list(v)
    return v


def _plain(v, gt, torch):
    """A value as numpy arrays, tuples, dicts and Python scalars, from either library."""
    import numpy as np  # noqa: PLC0415 - worker-only dependency

    if isinstance(v, torch.Tensor):
        t = v.detach()
        return ("tensor", str(t.dtype).split(".")[-1], t.float().numpy() if
                t.dtype == torch.bfloat16 else t.numpy())
    if isinstance(v, gt.Tensor):
        t = v.detach()
        name = str(t.dtype).split(".")[-1]
        return ("tensor", name, t.float().numpy() if name == "bfloat16" else np.asarray(t.numpy()))
    if isinstance(v, (torch.dtype, gt.dtype)):
        return ("dtype", str(v).split(".")[-1])
    if isinstance(v, (torch.device, gt.device)):
        return ("device", str(v))
    if isinstance(v, (list, tuple, range)):
        return ("seq", tuple(_plain(x, gt, torch) for x in v))
    if isinstance(v, dict):
        return ("dict", [(_plain(k, gt, torch), _plain(x, gt, torch)) for k, x in v.items()])
    if type(v).__module__.startswith(("torch", "graphtorch")) and hasattr(v, "__dict__"):
        return ("object", type(v).__name__)
    if hasattr(v, "value") and hasattr(v, "name") and type(v).__name__ != "str":
        return ("enum", v.name, v.value)  # Enum members of the two module copies
    if isinstance(getattr(v, "__dict__", None), dict) and not isinstance(v, type) and \
            type(v).__module__.startswith("case_"):
        # NOTE: an object of a user class of the two module copies: its class and attributes
        # (checkScript's assertEqual asks the class's __eq__; equal attributes are stricter)
        return ("user-object", type(v).__qualname__,
                tuple((k, _plain(x, gt, torch)) for k, x in sorted(vars(v).items())))
    return v


def _is_number(v) -> bool:
    return isinstance(v, (bool, int, float)) and not isinstance(v, tuple)


def _same(a, b, rtol: float, atol: float) -> bool:
    import math  # noqa: PLC0415 - worker-only dependency

    import numpy as np  # noqa: PLC0415 - worker-only dependency

    if _is_number(a) and isinstance(b, tuple) and b and b[0] == "tensor":
        a, b = b, a
    if isinstance(a, tuple) and a and a[0] == "tensor":
        if _is_number(b) and a[2].size == 1:
            # checkScript's assertEqual takes a one-element tensor and a number by value (an
            # ``int`` signature comment makes script return 7 where eager returns tensor(7))
            return _same(a[2].reshape(()).item(), b, rtol, atol)
        if not (isinstance(b, tuple) and b and b[0] == "tensor"):
            return False
        if a[1] != b[1] or a[2].shape != b[2].shape:
            return False
        return bool(np.allclose(a[2], b[2], rtol=rtol, atol=atol, equal_nan=True))
    if isinstance(a, tuple) and a and a[0] == "seq":
        return (isinstance(b, tuple) and b and b[0] == "seq" and len(a[1]) == len(b[1])
                and all(_same(x, y, rtol, atol) for x, y in zip(a[1], b[1])))
    if isinstance(a, tuple) and a and a[0] == "user-object":
        return (isinstance(b, tuple) and b and b[0] == "user-object" and a[1] == b[1]
                and [k for k, _ in a[2]] == [k for k, _ in b[2]]
                and all(_same(x, y, rtol, atol) for (_, x), (_, y) in zip(a[2], b[2])))
    if isinstance(a, tuple) and a and a[0] == "dict":
        return (isinstance(b, tuple) and b and b[0] == "dict" and len(a[1]) == len(b[1])
                and all(_same(ka, kb, rtol, atol) and _same(va, vb, rtol, atol)
                        for (ka, va), (kb, vb) in zip(a[1], b[1])))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float, complex)) and isinstance(b, (int, float, complex)):
        # numbers compare by value, as checkScript's assertEqual does (2 ** 3 is 8.0 in script)
        if isinstance(a, complex) or isinstance(b, complex):
            a, b = complex(a), complex(b)
            return _same(a.real, b.real, rtol, atol) and _same(a.imag, b.imag, rtol, atol)
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=rtol, abs_tol=atol) or a == b
    return type(a) is type(b) and a == b


def _classify(exc: BaseException, gt) -> str:
    if isinstance(exc, gt.errors.ScriptError):
        return "refused"
    if isinstance(exc, (AttributeError, ImportError, NameError)):
        return "missing"
    return "crash"


def run_case(case: dict, workdir: Path) -> dict:
    import copy  # noqa: PLC0415 - worker-only dependencies below

    import torch  # noqa: PLC0415

    import graphtorch as gt  # noqa: PLC0415

    rtol = float(eval(case["rtol"])) if case["rtol"] else 1.3e-6  # noqa: S307 - own literal
    atol = float(eval(case["atol"])) if case["atol"] else 1e-5  # noqa: S307
    name = ast.literal_eval(case["name"]) if case["name"].startswith(("'", '"')) else "func"
    stem = f"case_{case['id']}"
    try:
        fn_t, inputs_t = _load(case["torch_src"], workdir / f"{stem}_torch.py", name)
        torch.manual_seed(0)
        inputs = inputs_t()
        if not isinstance(inputs, tuple):
            inputs = tuple(inputs)
        expected = fn_t(*copy.deepcopy(inputs))
        scripted = torch.jit.script(fn_t)(*copy.deepcopy(inputs))
        exp_plain = _plain(expected, gt, torch)
        if not _same(exp_plain, _plain(scripted, gt, torch), rtol, atol):
            return {"status": "excluded", "why": "torch.jit.script differs from eager"}
    except BaseException as exc:  # noqa: BLE001 - a case PyTorch itself does not pass
        return {"status": "excluded", "why": f"{type(exc).__name__}: {str(exc)[:200]}"}
    try:
        args = _to_graphtorch(copy.deepcopy(inputs), gt, torch)
    except Exception as exc:  # noqa: BLE001 - e.g. a dtype graphtorch lacks (complex)
        return {"status": "missing", "why": f"inputs: {type(exc).__name__}: {str(exc)[:200]}"}
    try:
        fn_g, _ = _load(case["gt_src"], workdir / f"{stem}_gt.py", name)
        got = gt.jit.script(fn_g)(*args)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - every failure is classified
        msg = str(exc).splitlines()[0][:300] if str(exc) else ""
        out = {"status": _classify(exc, gt), "why": f"{type(exc).__name__}: {msg}"}
        if out["status"] == "refused":
            out["caret"] = getattr(exc, "line", None) is not None
            out["hint"] = bool(getattr(exc, "hint", None))
        return out
    if _same(exp_plain, _plain(got, gt, torch), rtol, atol):
        return {"status": "pass"}
    return {"status": "wrong", "why": f"expected {str(expected)[:150]!r}, got {str(got)[:150]!r}"}


def worker(cases_path: str, start: str) -> None:
    cases = json.loads(Path(cases_path).read_text())
    start = int(start)
    workdir = Path(tempfile.mkdtemp(prefix="gt_ts_"))
    for case in cases[start:]:
        print(f"BEGIN {case['id']}", flush=True)
        if case.get("kind") == "site":
            res = sites.run_site_case(case, workdir, sys.modules[__name__], programs)
        elif case.get("kind"):
            res = programs.run_program_case(case, workdir, sys.modules[__name__])
        else:
            res = run_case(case, workdir)
        if res["status"] == "excluded" and case.get("fallback") and "differ" not in res["why"]:
            # the cut case does not run with torch: run the whole test method instead
            again = sites.run_site_case(dict(case["fallback"], id=case["id"]), workdir,
                                        sys.modules[__name__], programs)
            res = dict(again, via="site") if again["status"] != "excluded" else res
        print("DONE " + json.dumps(res), flush=True)


# ---------------------------------------------------------------- driver

def run_file(cases: list[dict], timeout: float) -> list[dict]:
    """Run the cases of one file in a worker, restarting it after a hang or a crash."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(cases, f)
    results: list[dict] = []
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    while len(results) < len(cases):
        proc = subprocess.Popen([sys.executable, __file__, "--worker", f.name, str(len(results))],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                env=env)
        deadline, buf = None, ""
        while True:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([proc.stdout], [], [], wait)
            if not ready:
                proc.kill()
                proc.wait()
                results.append({"status": "hang", "why": f"no answer in {timeout:.0f} s"})
                break
            line = proc.stdout.readline()
            if not line:
                proc.wait()
                # died inside a case, or before starting one (never loop on a broken worker)
                results.append({"status": "crash", "why": f"worker died ({proc.returncode})"})
                break
            buf = line.strip()
            if buf.startswith("BEGIN "):
                deadline = time.monotonic() + timeout
            elif buf.startswith("DONE "):
                results.append(json.loads(buf[5:]))
                deadline = None
        proc.stdout.close()
    os.unlink(f.name)
    return [dict(c, **r) for c, r in zip(cases, results)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", nargs="?")
    ap.add_argument("--json", default="/tmp/torchscript_cases.json")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--only", nargs="*", help="file names to run (default: every test_*.py)")
    ap.add_argument("--checkscript-only", action="store_true",
                    help="only top-level checkScript calls (the measure before checkModule, "
                         "assertEqual and make_global cases were added)")
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(*a.worker)
        return
    files = sorted(Path(a.dir).glob("test_*.py"))
    if a.only:
        files = [p for p in files if p.name in a.only]
    rows, everything = [], []
    for path in files:
        cases = extract_cases(path)
        dropped: list[dict] = []
        if not a.checkscript_only:
            cases += programs.extract_program_cases(path, sys.modules[__name__])
            more, twins, dropped = sites.extract_site_cases(path, sys.modules[__name__],
                                                            {c["line"] for c in cases})
            for c in cases:
                if c.get("kind") in (None, "checkScript", "checkModule") and c["line"] in twins:
                    c["fallback"] = twins[c["line"]]
            cases += more
        for i, c in enumerate(cases):
            c["id"] = f"{path.stem}_{i}"
        results = run_file(cases, a.timeout) if cases else []
        counted = [r for r in results if r["status"] != "excluded"]
        counts = collections.Counter(r["status"] for r in counted)
        rows.append((path.name, len(counted), counts))
        everything += results
        print(f"{path.name:32s} {len(counted):4d} " + " ".join(
            f"{s}={counts[s]}" for s in STATUSES if counts[s]), flush=True)
        report.print_found(path, results, dropped)
    total = collections.Counter()
    n = 0
    for _, k, c in rows:
        total += c
        n += k
    print(f"\n{'file':32s} {'cases':>5s} " + " ".join(f"{s:>8s}" for s in STATUSES))
    for name, k, c in rows:
        print(f"{name:32s} {k:5d} " + " ".join(f"{c[s]:8d}" for s in STATUSES))
    print(f"{'total':32s} {n:5d} " + " ".join(f"{total[s]:8d}" for s in STATUSES))
    if n:
        print(f"{'share':32s} {'':5s} " + " ".join(f"{100 * total[s] / n:7.1f}%"
                                                   for s in STATUSES))
    slim = [{k: v for k, v in r.items() if k not in ("torch_src", "gt_src", "fallback")} | {
        "gt_src": (r["fallback"] if r.get("via") else r)["gt_src"]} for r in everything]
    Path(a.json).write_text(json.dumps(slim, indent=1))
    refused = [r for r in everything if r["status"] == "refused"]
    print(f"refusals without a caret: {sum(not r['caret'] for r in refused)}, "
          f"without a hint: {sum(not r['hint'] for r in refused)} (of {len(refused)})")
    report.print_blockers(everything)
    report.print_checkscript_measure(everything)
    print(f"per-case results: {a.json}")


if __name__ == "__main__":
    main()
