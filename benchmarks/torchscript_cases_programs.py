"""Script cases beyond self-contained ``checkScript`` calls, for benchmarks/torchscript_cases.py.

A test method is read statement by statement; its setup (nested ``def``s and classes, assignments,
imports, plain calls such as ``make_global(Foo)`` or ``m.eval()``) runs before each case, and a
case is one of:

    checkScript   ``self.checkScript(fn, inputs)`` in a method that calls ``make_global`` (the
                  classes it makes global need a real module, which the plain runner lacks), or
                  whose result is kept (``sfoo = self.checkScript(...)``)
    checkModule   ``self.checkModule(module, inputs)``: the module scripted, then run eager and
                  scripted on the same inputs
    assertEqual   ``self.assertEqual(a, b)`` where ``a`` or ``b`` calls something scripted (a name
                  bound to ``torch.jit.script(...)``, a ``@torch.jit.script`` function, a kept
                  ``checkScript`` / ``checkModule`` result, or ``torch.jit.script(f)(...)``)

Each case is a small module, executed once with torch and once with ``import graphtorch as torch``
(imports rewritten as the plain runner does). It counts when torch itself passes it. graphtorch
must then pass the same check (eager equals scripted, ``a`` equals ``b``); where torch's values do
not depend on the random seed (the module run again with another seed gives the same values),
graphtorch's values must also equal torch's. Cases that read TorchScript internals (``._c``,
``torch._C``, ``.graph``, ``graph_for``, ``last_executed_optimized_graph``, ``FileCheck``) are
not taken.
"""

from __future__ import annotations

import ast
import copy
import re
import sys
import types
from pathlib import Path

_CASE_FN = "__case__"
_VALUE = "value:"  # in the set of scripted names: a name bound to a scripted call's result
_INTERNAL = re.compile(r"\._c\b|torch\._C|\.graph\b|FileCheck|\.code\b|_jit_internal|\.graph_for\b"
                       r"|last_executed_optimized_graph")
_PRELUDE = (
    "def make_global(*objs):\n"
    "    for o in objs:\n"
    "        globals()[o.__name__] = o\n\n"
    "__swallowed__ = []\n\n"
)


# ---------------------------------------------------------------- extraction (parent process)

def _self_call(stmt_value: ast.AST, names: tuple[str, ...]) -> ast.Call | None:
    if not isinstance(stmt_value, ast.Call):
        return None
    f = stmt_value.func
    if (isinstance(f, ast.Attribute) and f.attr in names and isinstance(f.value, ast.Name)
            and f.value.id == "self"):
        return stmt_value
    return None


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _is_jit_script(node: ast.AST) -> bool:
    return "jit.script" in ast.unparse(node)


def _calls_scripted(node: ast.AST, scripted: set[str]) -> bool:
    """``node`` calls a scripted name (``f(...)``, ``m.method(...)``) or ``jit.script(f)(...)``,
    or reads a name bound to the result of such a call (``out = sf(x)``)."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and _VALUE + sub.id in scripted:
            return True
        if not isinstance(sub, ast.Call):
            continue
        f = sub.func
        if isinstance(f, ast.Name) and f.id in scripted:
            return True
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) \
                and f.value.id in scripted:
            return True
        if isinstance(f, ast.Call) and _is_jit_script(f.func):
            return True
    return False


def _is_make_global(stmt: ast.stmt) -> bool:
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Name) and stmt.value.func.id == "make_global")


def method_makes_global(meth: ast.FunctionDef) -> bool:
    return any(_is_make_global(s) for s in meth.body)


def _setup_stmt(stmt: ast.stmt, uses_self) -> bool:
    if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
        return True  # ``self`` inside a class's methods is its own
    if uses_self(stmt) or _INTERNAL.search(ast.unparse(stmt)):
        return False
    if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.Import, ast.ImportFrom)):
        return True
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)


def _bound_scripted(stmt: ast.stmt, scripted: set[str]) -> None:
    """Names ``stmt`` binds to something scripted."""
    if isinstance(stmt, ast.FunctionDef) and any(_is_jit_script(d) for d in stmt.decorator_list):
        scripted.add(stmt.name)
    elif isinstance(stmt, ast.Assign) and (_is_jit_script(stmt.value) or _self_call(
            stmt.value, ("checkScript", "checkModule"))):
        for t in stmt.targets:
            if isinstance(t, ast.Name):
                scripted.add(t.id)
    elif isinstance(stmt, ast.Assign) and _calls_scripted(stmt.value, scripted):
        for t in stmt.targets:
            for n in ast.walk(t):
                if isinstance(n, ast.Name):
                    scripted.add(_VALUE + n.id)


def _case_stmt(stmt: ast.stmt, in_global_method: bool, scripted: set[str], uses_self):
    """(kind, call) when ``stmt`` is a case of this runner, else None."""
    value = stmt.value if isinstance(stmt, (ast.Expr, ast.Assign)) else None
    call = _self_call(value, ("checkScript", "checkModule", "assertEqual"))
    if call is None or len(call.args) < 2 or _INTERNAL.search(ast.unparse(call)):
        return None
    args = call.args[:2]
    if any(uses_self(a) for a in args):
        return None
    kind = call.func.attr
    if kind == "checkScript" and not (in_global_method or isinstance(stmt, ast.Assign)):
        return None  # the plain runner takes it
    if kind == "assertEqual" and not any(_calls_scripted(a, scripted) for a in args):
        return None
    return kind, call


def extract_program_cases(path: Path, ctx) -> list[dict]:
    """The cases of this runner in one test file; ``ctx`` is the plain runner's module."""
    text = path.read_text()
    tree, lines = ast.parse(text), text.splitlines()
    imports, defs = ctx._module_context(tree)
    imports = [i for i in imports if ctx.kept_import(i)]
    module_scripted: set[str] = set()
    for stmt in defs.values():
        _bound_scripted(stmt, module_scripted)
    cases = []
    for cls in tree.body:
        if not isinstance(cls, ast.ClassDef):
            continue
        for meth in cls.body:
            if not (isinstance(meth, ast.FunctionDef) and meth.name.startswith("test")):
                continue
            in_global = method_makes_global(meth)
            scripted = set(module_scripted)
            setup: list[ast.stmt] = []
            for stmt in meth.body:
                found = _case_stmt(stmt, in_global, scripted, ctx._uses_self)
                if found is not None:
                    kind, call = found
                    deps = ctx._dependencies(setup + [stmt], defs)
                    cases.append({
                        "file": path.name, "test": f"{cls.name}.{meth.name}",
                        "line": stmt.lineno, "kind": kind, "name": next(
                            (ast.literal_eval(k.value) for k in call.keywords
                             if k.arg == "name" and isinstance(k.value, ast.Constant)), "func"),
                        "torch_src": _source(lines, imports, deps, setup, kind, call, ctx, False),
                        "gt_src": _source(lines, imports, deps, setup, kind, call, ctx, True)})
                if isinstance(stmt, ast.Assign) and _self_call(
                        stmt.value, ("checkScript", "checkModule")):
                    fn = ast.unparse(stmt.value.args[0]) if stmt.value.args else None
                    if fn and not ctx._uses_self(stmt.value.args[0]):
                        target = " = ".join(ast.unparse(t) for t in stmt.targets)
                        bind = ast.parse(f"{target} = torch.jit.script({fn})").body[0]
                        bind._gt_synthetic = True
                        setup.append(bind)
                        _bound_scripted(stmt, scripted)
                    continue
                if found is None and _setup_stmt(stmt, ctx._uses_self):
                    setup.append(stmt)
                    _bound_scripted(stmt, scripted)
    return cases


def _source(lines, imports, deps, setup, kind: str, call: ast.Call, ctx, to_gt: bool) -> str:
    head = "".join(f"try:\n{ctx._text(lines, i, '    ')}except Exception:\n    pass\n"
                   for i in imports)
    body = "".join(ctx._text(lines, d, "") for d in deps)
    case = f"\n\ndef {_CASE_FN}():\n"
    for stmt in setup:
        plain = (not isinstance(stmt, (ast.FunctionDef, ast.ClassDef))
                 and "jit" not in ast.unparse(stmt))
        indent = "        " if to_gt and plain else "    "
        if getattr(stmt, "_gt_synthetic", False):
            text = indent + ast.unparse(stmt) + "\n"
        else:
            text = ctx._text(lines, stmt, indent)
        if to_gt and plain:
            # a value only the torch side can make (a complex tensor) must not stop the case
            # here: the exception is kept and reported if a later statement needs the value
            case += f"    try:\n{text}    except Exception as __e:\n" \
                    f"        __swallowed__.append(__e)\n"
        else:
            case += text
    a, b = (ctx._segment(lines, x) for x in call.args[:2])
    if kind == "assertEqual":
        case += f"    return (lambda: ({a}), lambda: ({b}))\n"
    else:
        case += f"    return (({a}), lambda: ({b}))\n"
    src = _PRELUDE + head + body + case
    if to_gt:
        for pattern, repl in ctx._IMPORT_FIXES:
            src = pattern.sub(repl, src)
    return src


# ---------------------------------------------------------------- one case (worker process)

def module(src: str, path: Path) -> types.ModuleType:
    """The case as a real module (scripted classes find their source through sys.modules)."""
    path.write_text(src)
    mod = types.ModuleType(path.stem)
    mod.__file__ = str(path)
    sys.modules[path.stem] = mod
    exec(compile(src, str(path), "exec"), mod.__dict__)  # noqa: S102 - the harness's own file
    return mod


def _evaluate(case: dict, src: str, path: Path, lib, seed: int):
    """(eager or ``a`` value, scripted or ``b`` value) of the case with library ``lib``."""
    mod = module(src, path)
    lib.manual_seed(seed)
    first, second = getattr(mod, _CASE_FN)()
    if case["kind"] == "assertEqual":
        return first(), second()
    inputs = second()
    if not isinstance(inputs, tuple):
        inputs = tuple(inputs)
    if case["kind"] == "checkModule":
        sm = lib.jit.script(first)
        lib.manual_seed(seed + 100)
        eager = first(*inputs)
        lib.manual_seed(seed + 100)
        return eager, sm(*inputs)
    fn = first
    if isinstance(fn, str):  # checkScript(source_text, inputs, name=...)
        name = case.get("name", "func")
        text_path = path.with_name(path.stem + "_text.py")
        text_path.write_text(fn)
        exec(compile(fn, str(text_path), "exec"), mod.__dict__)  # noqa: S102
        fn = mod.__dict__[name]
    scripted = lib.jit.script(fn)
    lib.manual_seed(seed + 100)
    eager = fn(*copy.deepcopy(inputs))
    lib.manual_seed(seed + 100)
    return eager, scripted(*copy.deepcopy(inputs))


def _plain(v, gt, torch, ctx):
    """The plain runner's value form, with user-class objects compared field by field."""
    mod = type(v).__module__
    if mod.startswith("case_") and hasattr(v, "__dict__") and not isinstance(v, type):
        return ("object", type(v).__name__,
                sorted((k, _plain(x, gt, torch, ctx)) for k, x in vars(v).items()))
    if isinstance(v, (list, tuple)) and not isinstance(v, torch.Size):
        return ("seq", tuple(_plain(x, gt, torch, ctx) for x in v))
    if isinstance(v, dict):
        return ("dict", [(_plain(k, gt, torch, ctx), _plain(x, gt, torch, ctx))
                         for k, x in v.items()])
    return ctx._plain(v, gt, torch)


def _swallowed_cause(mod_name: str, exc: BaseException) -> BaseException:
    """A NameError caused by a setup statement that failed earlier reports that failure."""
    mod = sys.modules.get(mod_name)
    earlier = getattr(mod, "__swallowed__", None) if mod else None
    if isinstance(exc, (NameError, UnboundLocalError)) and earlier:
        return earlier[0]
    return exc


def run_program_case(case: dict, workdir: Path, ctx) -> dict:
    import torch  # noqa: PLC0415 - worker-only dependencies

    import graphtorch as gt  # noqa: PLC0415 - NOTE: worker-only, like torch above

    stem = f"case_{case['id']}"
    rtol, atol = 1.3e-6, 1e-5
    try:
        ta, tb = _evaluate(case, case["torch_src"], workdir / f"{stem}_torch.py", torch, 0)
        ta, tb = _plain(ta, gt, torch, ctx), _plain(tb, gt, torch, ctx)
        if not ctx._same(ta, tb, rtol, atol):
            return {"status": "excluded", "why": "torch's two values differ"}
    except BaseException as exc:  # noqa: BLE001 - a case PyTorch itself does not pass
        return {"status": "excluded", "why": f"{type(exc).__name__}: {str(exc)[:200]}"}
    try:
        ra, rb = _evaluate(case, case["torch_src"], workdir / f"{stem}_torch2.py", torch, 1)
        fixed = (ctx._same(ta, _plain(ra, gt, torch, ctx), rtol, atol)
                 and ctx._same(tb, _plain(rb, gt, torch, ctx), rtol, atol))
    except BaseException:  # noqa: BLE001 - then only graphtorch's own two values are compared
        fixed = False
    try:
        ga, gb = _evaluate(case, case["gt_src"], workdir / f"{stem}_gt.py", gt, 0)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - every failure is classified
        exc = _swallowed_cause(f"{stem}_gt", exc)
        msg = str(exc).splitlines()[0][:300] if str(exc) else ""
        out = {"status": ctx._classify(exc, gt), "why": f"{type(exc).__name__}: {msg}"}
        if out["status"] == "refused":
            out["caret"] = getattr(exc, "line", None) is not None
            out["hint"] = bool(getattr(exc, "hint", None))
        return out
    pa, pb = _plain(ga, gt, torch, ctx), _plain(gb, gt, torch, ctx)
    if not ctx._same(pa, pb, rtol, atol):
        return {"status": "wrong",
                "why": f"graphtorch's two values differ: {str(ga)[:120]!r} vs {str(gb)[:120]!r}"}
    if fixed and not (ctx._same(ta, pa, rtol, atol) and ctx._same(tb, pb, rtol, atol)):
        return {"status": "wrong", "why": f"torch gives {str(ta)[:120]!r}, graphtorch "
                                          f"{str(pa)[:120]!r}"}
    return {"status": "pass"}
