"""The layer order holds for every import (docs/architecture.md).

core (tensor, ops, autograd, dtypes, device, errors ...) -> nn/optim -> ir -> passes -> runtime
-> frontend -> jit/archive/cli/viz: a module imports only from its own layer or the layers before
it, at module level and inside functions alike (a function-level import defers loading, it does
not make an upward dependency acceptable), and every function-level import of a graphtorch module
says why it is not at module level (``# NOTE:``: a cycle, or a heavy part loaded on use). Run
this file with Python to list every upward import, every function-level import between
top-level parts (``-v``: each of them) and any function-level import without a reason.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# source folder -> the package it installs as (pyproject.toml package-dir)
MAPPING = {"graphtorch": "graphtorch", "frontend": "graphtorch.frontend",
           "passes": "graphtorch.passes", "runtime": "graphtorch.runtime"}

# Layers, lowest first. A module belongs to the layer of its longest matching prefix; any other
# graphtorch module (tensor, ops, autograd, dtypes, device, errors, functions ...) is core.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("core", ("graphtorch",)),
    ("nn", ("graphtorch.nn", "graphtorch.optim", "graphtorch.utils", "graphtorch.distributed",
            # graphtorch.save / load (torch.serialization) restore nn.Parameters
            "graphtorch.checkpoint", "graphtorch.serialization")),
    ("ir", ("graphtorch.ir",)),
    ("passes", ("graphtorch.passes",)),
    ("runtime", ("graphtorch.runtime",)),
    ("frontend", ("graphtorch.frontend",)),
    ("top", ("graphtorch.jit", "graphtorch.archive", "graphtorch.cli", "graphtorch.viz",
             "graphtorch.onnx", "graphtorch.futures", "graphtorch.__main__",
             "graphtorch.utils.tensorboard")),  # add_graph traces and draws a model
]
RANKS = {name: rank for rank, (name, _) in enumerate(LAYERS)}

def layer_of(module: str) -> str | None:
    """The layer of a graphtorch module name; None outside graphtorch."""
    best, best_len = None, -1
    for name, prefixes in LAYERS:
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best_len:
                best, best_len = name, len(p)
    return best


def iter_modules() -> Iterator[tuple[str, Path]]:
    """(dotted module name, path) of every Python file of the installed packages."""
    for folder, dotted in MAPPING.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).with_suffix("").parts
            if rel[-1] == "__init__":
                rel = rel[:-1]
            yield ".".join((dotted,) + rel), path


_MODULES = None


def _known_modules() -> set[str]:
    global _MODULES
    if _MODULES is None:
        _MODULES = {m for m, _ in iter_modules()}
    return _MODULES


def _resolve(mod: str, path: Path, node: ast.ImportFrom) -> str:
    base = node.module or ""
    if node.level:
        package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        package = package[:len(package) - node.level + 1]
        base = ".".join(package + ([base] if base else []))
    return base


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def imports_of(mod: str, path: Path) -> Iterator[tuple[str, int, str]]:
    """(imported graphtorch module, line, "module" or "function") for each import in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    known = _known_modules()

    def walk(node: ast.AST, level: str) -> Iterator[tuple[str, int, str]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                yield from walk(child, "function")
                continue
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue    # annotations only: never executed
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("graphtorch"):
                        yield alias.name, child.lineno, level
            elif isinstance(child, ast.ImportFrom):
                base = _resolve(mod, path, child)
                if not base.startswith("graphtorch"):
                    continue
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    yield (sub if sub in known else base), child.lineno, level
            else:
                yield from walk(child, level)

    yield from walk(tree, "module")


def upward_imports(level: str = "module", modules=None) -> dict[tuple[str, str], int]:
    """(importing module, imported module) -> line, for imports up the layers made at ``level``
    ("module" or "function") by ``modules`` ((name, path) pairs; default: every module)."""
    found: dict[tuple[str, str], int] = {}
    for mod, path in iter_modules() if modules is None else modules:
        src = layer_of(mod)
        for target, line, at in imports_of(mod, path):
            dst = layer_of(target)
            if at == level and dst is not None and RANKS[dst] > RANKS[src]:
                found.setdefault((mod, target), line)
    return found


def has_reason(lines: list[str], line: int) -> bool:
    """Whether the import at 1-based ``line`` carries a ``# NOTE`` on its line or in the comment
    lines just above it."""
    i = line - 1
    if "# NOTE" in lines[i]:
        return True
    i -= 1
    while i >= 0 and lines[i].lstrip().startswith("#"):
        if "# NOTE" in lines[i]:
            return True
        i -= 1
    return False


def unexplained_lazy_imports(modules=None) -> dict[tuple[str, str], int]:
    """(importing module, imported module) -> line, for function-level imports of graphtorch
    modules (in any layer) that do not say why they are not at module level."""
    found: dict[tuple[str, str], int] = {}
    for mod, path in iter_modules() if modules is None else modules:
        lines = path.read_text().splitlines()
        for target, line, at in imports_of(mod, path):
            if at == "function" and not has_reason(lines, line):
                found.setdefault((mod, target), line)
    return found


def test_every_module_has_a_layer():
    assert all(layer_of(m) is not None for m, _ in iter_modules())
    assert layer_of("graphtorch.ops.dispatch") == "core"
    assert layer_of("graphtorch.nn.functional") == "nn"
    assert layer_of("graphtorch.runtime.executor") == "runtime"
    assert layer_of("graphtorch.jit") == "top"


def test_import_parsing_sees_levels(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("import graphtorch.ir\nfrom graphtorch import nn\n"
                   "def f():\n    from graphtorch.runtime import executor\n")
    found = list(imports_of("graphtorch.x", src))
    assert ("graphtorch.ir", 1, "module") in found
    assert ("graphtorch.nn", 2, "module") in found
    assert ("graphtorch.runtime.executor", 4, "function") in found


def test_no_upward_import():
    new = upward_imports()
    assert not new, ("module-level imports up the layer order (docs/architecture.md); import "
                     "lazily with a reason, or move the object down: " +
                     ", ".join(f"{a} -> {b} (line {line})" for (a, b), line in sorted(new.items())))


def test_no_upward_import_in_functions():
    found = upward_imports("function")
    assert not found, ("function-level imports up the layer order (docs/architecture.md): a "
                       "lower layer reaches the one above through a hook it defines (e.g. "
                       "ops/dispatch.py's TracerHooks), or the object moves down: " +
                       ", ".join(f"{a} -> {b} (line {line})" for (a, b), line in
                                 sorted(found.items())))


def test_upward_imports_found_at_both_levels(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("from graphtorch.runtime import executor\n"
                   "def f():\n    import graphtorch.frontend.tracer\n")
    modules = [("graphtorch.nn.x", src)]
    assert upward_imports("module", modules) == {("graphtorch.nn.x",
                                                  "graphtorch.runtime.executor"): 1}
    assert upward_imports("function", modules) == {("graphtorch.nn.x",
                                                    "graphtorch.frontend.tracer"): 3}


def test_lazy_imports_say_why():
    found = unexplained_lazy_imports()
    assert not found, ("function-level imports without a reason: import at module level, or "
                       "say on the line above why not (# NOTE: ...): " +
                       ", ".join(f"{a} -> {b} (line {line})" for (a, b), line in
                                 sorted(found.items())))


def test_reason_comment_is_found(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from graphtorch.ir import graph\n"
                   "def g():\n    # NOTE: graph imports this module\n"
                   "    from graphtorch.ir import printer\n"
                   "def h():\n    from graphtorch.ir import kinds  # NOTE: a cycle\n")
    found = unexplained_lazy_imports([("graphtorch.nn.x", src)])
    assert found == {("graphtorch.nn.x", "graphtorch.ir.graph"): 2}


if __name__ == "__main__":
    for at in ("module", "function"):
        ups = upward_imports(at)
        print(f"upward {at}-level imports: {len(ups)}")
        for (a, b), line in sorted(ups.items()):
            print(f"  {a}:{line} -> {b} ({layer_of(a)} -> {layer_of(b)})")
    between = []
    for mod, path in iter_modules():
        for target, line, level in imports_of(mod, path):
            if level == "function" and layer_of(target) != layer_of(mod):
                between.append((mod, line, target))
    print(f"function-level imports between layers: {len(between)} in "
          f"{len({m for m, _, _ in between})} files, "
          f"{sum(RANKS[layer_of(t)] > RANKS[layer_of(m)] for m, _, t in between)} of them upward")
    unexplained = unexplained_lazy_imports()
    print(f"function-level imports without a reason: {len(unexplained)}")
    for (a, b), line in sorted(unexplained.items()):
        print(f"  {a}:{line} -> {b}")
    if "-v" in sys.argv:
        for m, line, t in between:
            print(f"  {m}:{line} -> {t}")
