"""What ``graphtorch.jit`` calls: script a function or a module, mark functions ignore/unused."""

from __future__ import annotations

from graphtorch.frontend.script.unit import ScriptUnit


def script_function(fn):
    """Compile a Python function to a ScriptFunction (its graph is typed IR)."""
    return ScriptUnit().function(fn)


def script_module(module):
    """Compile an nn.Module: forward, the methods it calls, submodules recursively."""
    return ScriptUnit().script_module(module)


def ignore(fn=None, *, drop: bool = False):
    """Leave ``fn`` as Python: scripted callers run it eagerly through prim::PythonOp."""
    def mark(f):
        f._gt_ignore = True
        f._gt_drop = drop
        return f

    return mark(fn) if fn is not None else mark


def unused(fn):
    """Do not compile ``fn``: a scripted call to it raises when reached."""
    fn._gt_unused = True
    return fn
