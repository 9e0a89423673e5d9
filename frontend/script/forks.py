"""``graphtorch.jit.fork`` / ``wait`` in script.

``fork(self.sub, x)`` (a submodule's forward) or ``fork(fn, x, k=v)`` (a function, compiled)
becomes a call the executor runs through runtime/futures.py: the task starts on the inter-op
thread pool and the node's value is a Future; ``wait(fut)`` blocks for it and is typed by what
the forked callee returns (Tensor when the future went through a container). Both are
``prim::PythonOp`` nodes, so a graph that forks runs in this process but is not saved to a
``.gt`` archive. ``List[graphtorch.jit.Future[Tensor]]`` annotates a list of futures.
"""

from __future__ import annotations

from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.values import ModuleRef, PyObj
from graphtorch.ir import types as T
from graphtorch.ir.graph import Value
from graphtorch.ir.kinds import Prim
from graphtorch.runtime import futures


def _forker(label: str, keywords: list[str], fn=None):
    """The Python callable of a fork node: ``(target?, *positional, *keyword values)``."""
    n_kw = len(keywords)

    def fork_it(*args):
        target, rest = (fn, args) if fn is not None else (args[0], args[1:])
        pos = rest[:len(rest) - n_kw]
        kw = dict(zip(keywords, rest[len(rest) - n_kw:]))
        return futures.fork(target, *pos, **kw)

    fork_it.__qualname__ = label
    return fork_it


def compile_fork(c, obj, e: S.Call) -> Value:
    """The value of a ``fork(...)`` or ``wait(...)`` call, compiled by the CallResolver ``c``."""
    types = c.state.fork_types
    if obj is futures.wait:
        if len(e.args) != 1 or e.keywords:
            raise c.src.error("wait() takes one Future", e.pos)
        fut = c.exprs.lower_value(e.args[0])
        ret = types.get(fut, T.TENSOR)
        return c.graph.emit(Prim.PythonOp, [fut], [ret],
                            {"fn": futures.wait, "name": "graphtorch.jit.wait"}).output
    if not e.args:
        raise c.src.error("fork() needs the function or module to run", e.pos)
    target = c.exprs.lower(e.args[0])
    args = [c.exprs.lower_value(a) for a in e.args[1:]]
    keywords = [k.name for k in e.keywords]
    if any(k is None for k in keywords):
        raise c.src.error("fork() does not take **kwargs in script", e.pos)
    args += [c.exprs.lower_value(k.value) for k in e.keywords]
    if isinstance(target, ModuleRef):
        ret = c.state.unit.method_return_type(target.module, "forward", c.src, e.pos)
        name = "graphtorch.jit.fork"
        inputs, fn = [target.value] + args, _forker(name, keywords)
    elif isinstance(target, PyObj) and callable(target.obj):
        sf = c.state.unit.function(target.obj, c.src, e.pos)
        outs = sf.graph.outputs
        ret = outs[0].type if len(outs) == 1 else T.TupleType(tuple(v.type for v in outs))
        name = f"graphtorch.jit.fork({sf.name})"
        inputs, fn = args, _forker(name, keywords, sf)
    else:
        raise c.src.error("fork() runs a submodule (self.sub) or a function in script", e.pos,
                          "fork a module attribute or a module-level function")
    out = c.graph.emit(Prim.PythonOp, inputs, [T.ANY], {"fn": fn, "name": name}).output
    types[out] = ret
    return out
