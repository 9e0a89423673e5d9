"""``with`` statements in script: the grad-mode contexts (``no_grad()``, ``enable_grad()``,
``set_grad_enabled(b)``), mixed into FunctionCompiler.

``with ctx: body`` lowers to ``prev = prim::grad_mode_set(mode); body;
prim::grad_mode_restore(prev)``.
A ``return``/``break``/``continue`` in the body only sets the exit flags (exits.py): the statements
after it are guarded, but the restore node belongs to the ``with`` itself and always runs. When
the body raises, the exception leaves the whole graph, and the scripted function's caller
(script_module.py) puts back the grad mode it had on entry: the mode every enclosing ``with``
would have restored.
"""

from __future__ import annotations

from graphtorch.autograd import grad_mode
from graphtorch.errors import ScriptError
from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.state import Lowerer
from graphtorch.frontend.script.values import PyObj
from graphtorch.ir import types as T

_FIXED = {grad_mode.no_grad: False, grad_mode.enable_grad: True}
_HINT = "use no_grad(), enable_grad() or set_grad_enabled(b), or move the code into a function " \
        "decorated with @graphtorch.jit.ignore"


def _torch_kind(obj) -> str | None:
    """``"no_grad"`` ... for PyTorch's own grad-mode classes (programs written for torch)."""
    mod = getattr(obj, "__module__", "") or ""
    name = getattr(obj, "__name__", "")
    if mod.startswith("torch.") and name in ("no_grad", "enable_grad", "set_grad_enabled"):
        return name
    return None


class WithLowerer(Lowerer):
    """``stmt_With`` (see the module docstring)."""

    def stmt_With(self, s: S.With) -> None:
        saved = [self._enter_context(item, target)
                 for item, target in zip(s.items, s.targets or [None] * len(s.items))]
        self.exits.block(s.body)
        if self.exits.raised():   # the body always raises: nothing after it runs
            return
        for prev in reversed(saved):
            self.scalar("prim::grad_mode_restore", [prev], None)

    def _enter_context(self, item: S.Expr, target: S.Expr | None):
        self._refuse_user_context(item)
        if target is not None:
            raise self.src.error("'with ... as name' is not supported in script", target.pos,
                                 "drop 'as name': the grad-mode contexts (no_grad, enable_grad, "
                                 "set_grad_enabled) need no name")
        if not isinstance(item, S.Call) or item.keywords and any(
                k.name != "mode" for k in item.keywords):
            raise self.src.error("only grad-mode contexts are supported in a script 'with'",
                                 item.pos, _HINT)
        fn = self.exprs.lower(item.func)
        obj = fn.obj if isinstance(fn, PyObj) else None
        kind = _torch_kind(obj)
        args = list(item.args) + [k.value for k in item.keywords]
        if obj in _FIXED or kind in ("no_grad", "enable_grad"):
            if args:
                raise self.src.error("no_grad() and enable_grad() take no arguments", item.pos)
            mode = self.const(_FIXED[obj] if obj in _FIXED else kind == "enable_grad")
        elif obj is grad_mode.set_grad_enabled or kind == "set_grad_enabled":
            if len(args) != 1:
                raise self.src.error("set_grad_enabled() takes one argument (mode)", item.pos)
            mode = self.exprs.lower_value(args[0])
            if mode.type != T.BOOL:
                mode = self.scalar("prim::bool", [mode], T.BOOL)
        else:
            raise self.src.error("only grad-mode contexts are supported in a script 'with'",
                                 item.pos, _HINT)
        return self.scalar("prim::grad_mode_set", [mode], T.BOOL)

    def _refuse_user_context(self, item: S.Expr) -> None:
        """A user context manager (a class with ``__enter__`` / ``__exit__``, called or an
        instance) gets its own refusal: script has no classes with methods to run them."""
        e = item.func if isinstance(item, S.Call) else item
        if not isinstance(e, (S.Name, S.Attribute)):
            return
        try:
            v = self.exprs.lower(e)
        except ScriptError:
            return     # not a compile-time object: the general refusal below names it
        obj = v.obj if isinstance(v, PyObj) else None
        cls = obj if isinstance(obj, type) else type(obj) if obj is not None else None
        if cls is None or obj in _FIXED or obj is grad_mode.set_grad_enabled or \
                _torch_kind(obj) is not None or cls.__module__.startswith("graphtorch"):
            return
        if hasattr(cls, "__enter__") and hasattr(cls, "__exit__"):
            raise self.src.error(
                f"the context manager {cls.__qualname__} (a class with __enter__/__exit__) is "
                f"not supported in script: script has no user classes with methods", item.pos,
                "run the with-block in a function decorated with @graphtorch.jit.ignore, or "
                "use no_grad(), enable_grad() or set_grad_enabled(b)")
