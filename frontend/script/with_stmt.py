"""``with`` statements in script, mixed into FunctionCompiler: the grad-mode contexts
(``no_grad()``, ``enable_grad()``, ``set_grad_enabled(b)``) and objects of script classes with
``__enter__`` / ``__exit__`` (classes.py).

``with ctx: body`` lowers to ``prev = prim::grad_mode_set(mode); body;
prim::grad_mode_restore(prev)``; ``with obj as x: body`` to ``x = obj.__enter__();
prim::enter_context(obj); body; prim::exit_context(obj); obj.__exit__(None, None, None)``.
A ``return``/``break``/``continue`` in the body only sets the exit flags (exits.py): the statements
after it are guarded, but the restore (exit) nodes belong to the ``with`` itself and always run.
When the body raises, the exception leaves the whole graph: the interpreter runs the
``__exit__`` of every object context the graph entered (runtime/objects.py), and the scripted
function's caller (script_module.py) puts back the grad mode it had on entry: the mode every
enclosing ``with`` would have restored.
"""

from __future__ import annotations

from graphtorch.autograd import grad_mode
from graphtorch.errors import ScriptError
from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.class_types import is_script_class, script_class_of
from graphtorch.frontend.script.state import Lowerer
from graphtorch.frontend.script.values import PyObj
from graphtorch.ir import types as T
from graphtorch.ir.graph import Value

_FIXED = {grad_mode.no_grad: False, grad_mode.enable_grad: True}
_ONLY = "only grad-mode contexts and objects of classes with __enter__/__exit__ are supported " \
    "in a script 'with'"
_HINT = "use no_grad(), enable_grad() or set_grad_enabled(b), an object of a class with " \
        "__enter__ and __exit__, or move the code into a function decorated with " \
        "@graphtorch.jit.ignore"


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
        for (is_object, v), item in zip(reversed(saved), reversed(s.items)):
            if is_object:
                self.classes.exit_context(v, item.pos)
            else:
                self.scalar("prim::grad_mode_restore", [v], None)

    def _enter_context(self, item: S.Expr, target: S.Expr | None) -> tuple[bool, Value]:
        """(True, the object) for a script-class context, (False, the grad mode to restore)
        for a grad-mode one."""
        if not self._is_grad_mode(item):
            if isinstance(item, S.Call) and isinstance(item.func, (S.Name, S.Attribute)):
                fn = self.exprs.lower(item.func)
                if isinstance(fn, PyObj) and not is_script_class(fn.obj):   # open(...) ...
                    raise self.src.error(_ONLY, item.pos, _HINT)
            v = self.exprs.lower_value(item)
            if script_class_of(v.type) is None:
                raise self.src.error(f"{_ONLY}: this is a value of type {v.type}", item.pos,
                                     _HINT)
            return True, self.classes.enter_context(v, target, item.pos)
        return False, self._enter_grad_mode(item, target)

    def _is_grad_mode(self, item: S.Expr) -> bool:
        if not isinstance(item, S.Call) or not isinstance(item.func, (S.Name, S.Attribute)):
            return False
        try:
            fn = self.exprs.lower(item.func)
        except ScriptError:
            return False
        obj = fn.obj if isinstance(fn, PyObj) else None
        return obj in _FIXED or obj is grad_mode.set_grad_enabled or \
            _torch_kind(obj) is not None

    def _enter_grad_mode(self, item: S.Call, target: S.Expr | None) -> Value:
        if target is not None:
            raise self.src.error("'with ... as name' is not supported in script", target.pos,
                                 "drop 'as name': the grad-mode contexts (no_grad, enable_grad, "
                                 "set_grad_enabled) need no name")
        if not isinstance(item, S.Call) or item.keywords and any(
                k.name != "mode" for k in item.keywords):
            raise self.src.error(_ONLY, item.pos, _HINT)
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
            raise self.src.error(_ONLY, item.pos, _HINT)
        return self.scalar("prim::grad_mode_set", [mode], T.BOOL)
