"""Every other ``checkScript`` / ``checkModule`` call site, for benchmarks/torchscript_cases.py.

The plain runner takes a ``self.checkScript(fn, inputs)`` statement at the top level of a test
method, and torchscript_cases_programs.py the top-level ``checkModule`` and ``assertEqual`` cases.
A call site inside a loop, an ``if``, a ``with`` block, a nested helper (``def check(...)``), a
helper method of the test class, or one whose arguments use ``self`` (``self.dict()``) is a *site*
case here: the whole test method runs with a stand-in for ``self`` (``_Recorder``) whose
``checkScript`` / ``checkModule`` act only at the case's own site and record, per call, the inputs,
the eager value and the scripted value; every other ``self.assert*`` is a no-op, ``assertRaises``
blocks swallow the error, and unknown ``JitTestCase`` helpers return None. The method runs first
with torch: the case counts when the site is reached and torch's eager and scripted values agree at
every call. It then runs with ``import graphtorch as torch``; at the i-th call the site gets torch's
i-th inputs (converted), and graphtorch's eager and scripted values must agree, and equal torch's
where torch's values do not depend on the random seed (the method run again with another seed gives
the same values).

A site is named by its line; one site reached several times (a loop) is one case that passes only
if every call passes. Test-only context managers of PyTorch's test utilities
(``enable_profiling_mode_for_profiling_tests()``, ``torch._jit_internal._disable_emit_hooks()``
...) become null contexts on both sides: they tune the JIT's profiling and printing, not the
language.
"""

from __future__ import annotations

import ast
import copy
import re
from pathlib import Path

SITE_CALLS = ("checkScript", "checkModule")
_TEST_ONLY_CONTEXTS = re.compile(
    r"\btorch\._jit_internal\._disable_emit_hooks\(\)|\bdisable_emit_hooks\(\)")
_PRELUDE = '''
import contextlib as _ts_contextlib
import copy as _ts_copy
import sys as _ts_sys


class _TsSkipTest(Exception):
    pass


class _Recorder:
    """A stand-in for the JitTestCase ``self``: records the calls of one checkScript site."""

    _ts_target = None       # the site this run measures
    _ts_feed = None         # inputs to use at the i-th call (graphtorch side: torch's, converted)
    _ts_records = []        # per call: ("ok", inputs, eager, scripted) or ("error", phase, exc)
    _ts_lib = None          # torch or graphtorch
    _ts_text_dir = None     # where checkScript(source_text) writes its source (for inspect)

    def _ts_inputs(self, inputs):
        i = len(type(self)._ts_records)
        feed = type(self)._ts_feed
        if feed is not None and i < len(feed):
            return feed[i]
        return tuple(inputs) if inputs is not None else ()

    def checkScript(self, site, script, inputs=(), name="func", *args, frames_up=1, **kwargs):
        if site != type(self)._ts_target:
            return None
        records = type(self)._ts_records
        try:
            inputs = self._ts_inputs(inputs)
            if isinstance(script, str):
                frame = _ts_sys._getframe(frames_up)
                scope = dict(frame.f_globals)
                scope.update(frame.f_locals)
                path = f"{type(self)._ts_text_dir}/site_{len(records)}_{id(self)}.py"
                with open(path, "w") as f:
                    f.write(script)
                exec(compile(script, path, "exec"), scope)
                fn = scope[name]
            else:
                fn = script
        except Exception as exc:
            records.append(("error", "setup", exc))
            raise
        kept = _ts_copy.deepcopy(inputs)
        try:
            scripted = type(self)._ts_lib.jit.script(fn)
        except Exception as exc:
            records.append(("error", "script", exc))
            raise
        try:
            type(self)._ts_lib.manual_seed(7)
            eager = fn(*_ts_copy.deepcopy(inputs))
        except Exception as exc:
            records.append(("error", "eager", exc))
            raise
        try:
            type(self)._ts_lib.manual_seed(7)
            got = scripted(*_ts_copy.deepcopy(inputs))
        except Exception as exc:
            records.append(("error", "run", exc))
            raise
        records.append(("ok", kept, eager, got))
        return scripted

    def checkModule(self, site, module, inputs=(), *args, **kwargs):
        if site != type(self)._ts_target:
            return None
        records = type(self)._ts_records
        inputs = self._ts_inputs(inputs)
        kept = _ts_copy.deepcopy(inputs)
        try:
            scripted = type(self)._ts_lib.jit.script(module)
        except Exception as exc:
            records.append(("error", "script", exc))
            raise
        try:
            type(self)._ts_lib.manual_seed(7)
            eager = module(*inputs)
        except Exception as exc:
            records.append(("error", "eager", exc))
            raise
        try:
            type(self)._ts_lib.manual_seed(7)
            got = scripted(*inputs)
        except Exception as exc:
            records.append(("error", "run", exc))
            raise
        records.append(("ok", kept, eager, got))
        return scripted

    @_ts_contextlib.contextmanager
    def _ts_swallow(self):
        try:
            yield
        except Exception:
            pass

    def assertRaises(self, exc_type, fn=None, *args, **kwargs):
        if fn is None:
            return self._ts_swallow()
        with self._ts_swallow():
            fn(*args, **kwargs)

    def assertRaisesRegex(self, exc_type, regex, fn=None, *args, **kwargs):
        return self.assertRaises(exc_type, fn, *args, **kwargs)

    def assertRaisesRegexWithHighlight(self, exc_type, regex, highlight):
        return self._ts_swallow()

    assertWarns = assertRaises
    assertWarnsRegex = assertRaisesRegex

    def subTest(self, *args, **kwargs):
        return _ts_contextlib.nullcontext()

    def skipTest(self, reason=""):
        raise _TsSkipTest(reason)

    def __getattr__(self, name):
        if name.startswith("assert") or name.startswith("check") or name.startswith("run"):
            return lambda *a, **k: None
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *a, **k: None


IS_MACOS = IS_WINDOWS = IS_SANDCASTLE = IS_FBCODE = False
RUN_CUDA = TEST_CUDA = RUN_CUDA_MULTI_GPU = False


class FileCheck:
    """Checks of TorchScript's graph text (``torch.testing.FileCheck``): graphtorch has no such
    text, so on the graphtorch side they pass (the torch side imports the real one)."""

    def __getattr__(self, name):
        return lambda *a, **k: self


def make_global(*objs):
    for o in objs:
        globals()[o.__name__] = o


def execWrapper(code, glob, loc):
    exec(code, glob, loc)


def enable_profiling_mode_for_profiling_tests():
    return _ts_contextlib.nullcontext()


def __nullcontext__():
    return _ts_contextlib.nullcontext()

'''


# ---------------------------------------------------------------- extraction (parent process)

def _site_calls(node: ast.AST) -> list[ast.Call]:
    out = []
    for sub in ast.walk(node):
        if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
                and sub.func.attr in SITE_CALLS and isinstance(sub.func.value, ast.Name)
                and sub.func.value.id == "self"):
            out.append(sub)
    return out


def _stmt_line(call: ast.Call, parents: dict) -> int:
    node = call
    while not isinstance(node, ast.stmt):
        node = parents[node]
    return node.lineno


def _with_site_ids(lines: list[str], calls: list[ast.Call]) -> list[str]:
    """The file's lines with ``SITE, `` inserted as the first argument of each site call."""
    out = list(lines)
    inserts: dict[int, list[tuple[int, str]]] = {}
    for call in calls:
        row, col = call.func.end_lineno - 1, call.func.end_col_offset
        inserts.setdefault(row, []).append((col, f"'{call.lineno}:{call.col_offset}', "))
    for row, items in inserts.items():
        raw = out[row].encode()
        for col, text in sorted(items, reverse=True):
            paren = raw.index(b"(", col) + 1
            raw = raw[:paren] + text.encode() + raw[paren:]
        out[row] = raw.decode()
    return out


def _method_text(lines: list[str], meth: ast.FunctionDef) -> str:
    """A method's text from its ``def`` line (decorators such as skips are left out)."""
    return "\n".join(lines[meth.lineno - 1:meth.end_lineno]) + "\n"


def _runner_methods(cls: ast.ClassDef, helper: str) -> list[ast.FunctionDef]:
    """The test methods of ``cls`` that call ``self.<helper>``."""
    out = []
    for meth in cls.body:
        if isinstance(meth, ast.FunctionDef) and meth.name.startswith("test"):
            if any(isinstance(n, ast.Attribute) and n.attr == helper and isinstance(
                    n.value, ast.Name) and n.value.id == "self" for n in ast.walk(meth)):
                out.append(meth)
    return out


def extract_site_cases(path: Path, ctx, taken: set[int]):
    """(site cases, twins, sites not taken with the reason) of one file. ``taken`` holds the
    statement lines the other runners measure; a site on such a line is not a case of its own but
    its twin (``twins[line]``): the runner falls back to it where the case as the other runner
    cut it does not run with torch (a name bound in a ``with`` block or a loop, a class the cut
    moved out of its method)."""
    text = path.read_text()
    tree, lines = ast.parse(text), text.splitlines()
    parents = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
    imports, defs = ctx._module_context(tree)
    imports = [i for i in imports if ctx.kept_import(i)]
    cases, twins, dropped = [], {}, []
    for cls in tree.body:
        if not isinstance(cls, ast.ClassDef):
            continue
        methods = [m for m in cls.body if isinstance(m, ast.FunctionDef)]
        helpers = [m for m in methods if not m.name.startswith("test")]
        calls = [c for m in methods for c in _site_calls(m)]
        marked = _with_site_ids(lines, calls)
        for meth in methods:
            for call in _site_calls(meth):
                line = _stmt_line(call, parents)
                if not call.args:
                    if line not in taken:
                        dropped.append({"file": path.name, "line": line, "why": "no arguments"})
                    continue
                runners = [meth] if meth.name.startswith("test") else _runner_methods(
                    cls, meth.name)
                if not runners:
                    if line in taken:
                        continue
                    dropped.append({"file": path.name, "line": line,
                                    "why": f"helper {meth.name} is called by no test method"})
                    continue
                runner = runners[0]
                used = [runner] + [h for h in helpers if h is not runner]
                deps = ctx._dependencies(used, defs)
                site = f"{call.lineno}:{call.col_offset}"
                case = {"file": path.name, "test": f"{cls.name}.{runner.name}", "line": line,
                        "kind": "site", "site": site, "site_call": call.func.attr,
                        "method": runner.name}
                for side in ("torch", "gt"):
                    case[f"{side}_src"] = _source(marked, lines, imports, deps, used, ctx,
                                                  side == "gt")
                if line in taken:
                    twins.setdefault(line, case)
                else:
                    cases.append(case)
    return cases, twins, dropped


def _source(marked, lines, imports, deps, methods, ctx, to_gt: bool) -> str:
    head = "".join(f"try:\n{ctx._text(lines, i, '    ')}except Exception:\n    pass\n"
                   for i in imports)
    body = "".join(ctx._text(lines, d, "") for d in deps)
    cls = "\n\nclass __Self__(_Recorder):\n" + "".join(_method_text(marked, m) for m in methods)
    src = _PRELUDE + head + body + cls
    src = _TEST_ONLY_CONTEXTS.sub("__nullcontext__()", src)
    if to_gt:
        src = "import graphtorch as torch\n" + src
        for pattern, repl in ctx._IMPORT_FIXES:
            src = pattern.sub(repl, src)
    return src


# ---------------------------------------------------------------- one case (worker process)

def _run_method(case: dict, src: str, path: Path, lib, seed: int, feed, programs):
    """(records, exception or None) of one run of the case's test method."""
    mod = programs.module(src, path)
    rec = mod.__dict__["_Recorder"]
    rec._ts_target, rec._ts_feed, rec._ts_records = case["site"], feed, []
    rec._ts_lib, rec._ts_text_dir = lib, str(path.parent)
    lib.manual_seed(seed)
    inst = mod.__dict__["__Self__"]()
    try:
        getattr(inst, case["method"])()
        exc = None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # noqa: BLE001 - the records say how far it got
        exc = e
    return rec._ts_records, exc


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "no error"
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0][:200] if lines else ''}"


def run_site_case(case: dict, workdir: Path, ctx, programs) -> dict:
    import torch  # noqa: PLC0415 - worker-only dependencies

    import graphtorch as gt  # noqa: PLC0415 - NOTE: worker-only, like torch above

    stem = f"case_{case['id']}"
    rtol, atol = 1.3e-6, 1e-5
    try:
        recs_t, exc_t = _run_method(case, case["torch_src"], workdir / f"{stem}_torch.py",
                                    torch, 0, None, programs)
    except BaseException as exc:  # noqa: BLE001 - the module itself does not load with torch
        return {"status": "excluded", "why": f"torch: {_describe(exc)}"}
    if not recs_t:
        return {"status": "excluded", "why": f"torch never reaches the site ({_describe(exc_t)})"}
    expected = []
    for k, r in enumerate(recs_t):
        if r[0] == "error":
            return {"status": "excluded",
                    "why": f"torch, call {k}: {r[1]} raises {_describe(r[2])}"}
        try:
            e, s = programs._plain(r[2], gt, torch, ctx), programs._plain(r[3], gt, torch, ctx)
        except Exception as exc:  # noqa: BLE001 - a value the comparison cannot read
            return {"status": "excluded", "why": f"torch, call {k}: {_describe(exc)}"}
        if not ctx._same(e, s, rtol, atol):
            return {"status": "excluded", "why": f"torch, call {k}: eager and script differ"}
        expected.append(e)
    try:
        recs_2, _ = _run_method(case, case["torch_src"], workdir / f"{stem}_torch2.py", torch, 1,
                                [r[1] for r in recs_t], programs)
        fixed = len(recs_2) == len(recs_t) and all(
            r[0] == "ok" and ctx._same(x, programs._plain(r[2], gt, torch, ctx), rtol, atol)
            for r, x in zip(recs_2, expected))
    except BaseException:  # noqa: BLE001 - then only graphtorch's own values are compared
        fixed = False
    try:
        feed = [ctx._to_graphtorch(copy.deepcopy(r[1]), gt, torch) for r in recs_t]
    except Exception as exc:  # noqa: BLE001 - e.g. a dtype graphtorch lacks (complex)
        return {"status": "missing", "why": f"inputs: {_describe(exc)}"}
    try:
        recs_g, exc_g = _run_method(case, case["gt_src"], workdir / f"{stem}_gt.py", gt, 0, feed,
                                    programs)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - the module does not load with graphtorch
        return _failure(exc, gt, ctx)
    for k in range(len(recs_t)):
        if k >= len(recs_g):
            if exc_g is not None:
                return _failure(programs._swallowed_cause(f"{stem}_gt", exc_g), gt, ctx)
            return {"status": "crash", "why": f"the site is reached {len(recs_g)} times, "
                                              f"torch reaches it {len(recs_t)} times"}
        r = recs_g[k]
        if r[0] == "error":
            return _failure(r[2], gt, ctx)
        try:
            ge, gs = programs._plain(r[2], gt, torch, ctx), programs._plain(r[3], gt, torch, ctx)
        except Exception as exc:  # noqa: BLE001 - a value graphtorch cannot give back
            return {"status": "crash", "why": f"call {k}: the result: {_describe(exc)}"}
        if not ctx._same(ge, gs, rtol, atol):
            return {"status": "wrong", "why": f"call {k}: graphtorch's eager "
                                              f"{str(r[2])[:100]!r}, scripted {str(r[3])[:100]!r}"}
        if fixed and not ctx._same(expected[k], gs, rtol, atol):
            return {"status": "wrong", "why": f"call {k}: torch gives {str(recs_t[k][2])[:100]!r}, "
                                              f"graphtorch {str(r[3])[:100]!r}"}
    return {"status": "pass"}


def _failure(exc: BaseException, gt, ctx) -> dict:
    out = {"status": ctx._classify(exc, gt), "why": _describe(exc)}
    if out["status"] == "refused":
        out["caret"] = getattr(exc, "line", None) is not None
        out["hint"] = bool(getattr(exc, "hint", None))
    return out
