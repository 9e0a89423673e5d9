"""The forgiving entry point: ``graphtorch.jit.compile`` and ``graphtorch.jit.explain``.

Each submodule (innermost first) is scripted on its own; one that cannot be scripted is traced
with the inputs it received while the model ran once on the example inputs, and, failing that (no
example inputs, or tracing failed), kept as eager Python that the scripted parent calls through
prim::PythonOp. A Python function the scripted code calls falls back to prim::PythonOp the same
way. Nothing unsupported makes compile fail; the :class:`CompileReport` says what happened where.
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass, field
from enum import Enum

from graphtorch.autograd import no_grad
from graphtorch.errors import ScriptError
from graphtorch.frontend.script.annotations import type_from_python
from graphtorch.frontend.script.unit import ScriptUnit
from graphtorch.frontend.script_module import ScriptFunction, ScriptModule
from graphtorch.ir import types as T
from graphtorch.nn.module import Module


class Outcome(str, Enum):
    SCRIPTED = "scripted"
    TRACED = "traced"
    EAGER = "eager"


@dataclass
class Entry:
    """One function or module: how it was compiled, and why it fell back (with where)."""

    path: str
    what: str                   # "module MyCell" / "function helper"
    outcome: Outcome
    reason: str | None = None
    location: str | None = None


@dataclass
class CompileReport:
    entries: list[Entry] = field(default_factory=list)

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)

    def outcome_of(self, path: str) -> Outcome | None:
        return next((e.outcome for e in self.entries if e.path == path), None)

    def __str__(self) -> str:
        counts = {o: sum(1 for e in self.entries if e.outcome is o) for o in Outcome}
        lines = [f"graphtorch.jit.explain: {counts[Outcome.SCRIPTED]} scripted, "
                 f"{counts[Outcome.TRACED]} traced, {counts[Outcome.EAGER]} eager"]
        for e in self.entries:
            lines.append(f"  {e.outcome.value:<9}{e.path}  ({e.what})")
            if e.reason:
                lines.append(f"      why: {e.reason}")
            if e.location:
                lines.append(f"      at:  {e.location}")
        return "\n".join(lines) + "\n"


def _reason(err: Exception) -> tuple[str, str | None]:
    if isinstance(err, ScriptError):
        where = None
        if err.line is not None:
            where = f"{err.filename}:{err.line}" + (f":{err.column}" if err.column else "")
        why = err.msg + (f" (hint: {err.hint})" if err.hint else "")
        return why, where
    first = str(err).splitlines()[0] if str(err) else ""
    return f"{type(err).__name__}: {first}", None


def _defined_at(obj) -> str | None:
    target = type(obj) if not inspect.isfunction(obj) and not inspect.ismethod(obj) else obj
    try:
        return f"{inspect.getsourcefile(target)}:{inspect.getsourcelines(target)[1]}"
    except (OSError, TypeError):
        return None


class ForgivingUnit(ScriptUnit):
    """A ScriptUnit that turns failures into fallbacks and records each decision."""

    def __init__(self, report: CompileReport):
        super().__init__()
        self.report = report
        self.eager: dict[int, T.Type] = {}       # id(module) -> what its forward returns
        self.recorded: dict[int, tuple] = {}     # id(module) -> first inputs seen while running
        self.returns: dict[int, object] = {}     # id(module) -> first output seen

    def function(self, fn, caller_src=None, pos=None, param_types=None):
        try:
            return super().function(fn, caller_src, pos, param_types)
        except Exception as err:  # noqa: BLE001 - any failure becomes an eager fallback
            if caller_src is None:
                raise
            why, where = _reason(err)
            name = getattr(fn, "__qualname__", repr(fn))
            self.report.add(Entry(f"{name}()", f"function {name}", Outcome.EAGER, why,
                                  where or _defined_at(fn)))
            return None      # the caller emits prim::PythonOp

    def forgive_module(self, module, path: str) -> None:
        """Script ``module``'s children, then ``module``; fall back per module on failure."""

        if isinstance(module, ScriptModule):
            self.report.add(Entry(path, f"module {type(module).__name__}", Outcome.SCRIPTED,
                                  "already compiled"))
            return
        for name, sub in module._modules.items():
            if sub is not None:
                self.forgive_module(sub, f"{path}.{name}")
        what = f"module {type(module).__name__}"
        try:
            self.script_module(module)
        except Exception as err:  # noqa: BLE001 - any failure becomes a fallback
            self.modules.pop(id(module), None)
            why, where = _reason(err)
            self.fall_back(module, path, what, why, where or _defined_at(module))
            return
        self.report.add(Entry(path, what, Outcome.SCRIPTED))

    def fall_back(self, module, path: str, what: str, why: str, where: str | None) -> None:
        # NOTE: trace -> tracer -> traced_rnn -> the script compiler -> this module: a cycle
        from graphtorch.frontend.trace import trace_module

        inputs = self.recorded.get(id(module))
        if inputs is not None:
            try:
                self.modules[id(module)] = trace_module(module, inputs)
                self.report.add(Entry(path, what, Outcome.TRACED, why, where))
                return
            except Exception as err:  # noqa: BLE001 - tracing failed too: run it eagerly
                why += f"; tracing failed too ({_reason(err)[0]})"
        out = self.returns.get(id(module))
        self.eager[id(module)] = _type_of_output(out) if out is not None else \
            _annotated_return(module)
        self.report.add(Entry(path, what, Outcome.EAGER, why, where))

    def script_module(self, module):
        if id(module) in self.eager:
            return module        # kept as Python; scripted parents call it via prim::PythonOp
        return super().script_module(module)


def _type_of_output(out) -> T.Type:
    try:
        return T.type_of_value(out)
    except Exception:  # noqa: BLE001 - an output script cannot type is passed through as Any
        return T.ANY


def _annotated_return(module) -> T.Type:
    ann = getattr(type(module).forward, "__annotations__", {}).get("return")
    return (type_from_python(ann) if ann is not None else None) or T.TENSOR


def _record_inputs(unit: ForgivingUnit, model, example_inputs: tuple) -> None:
    """Run ``model`` once, noting each submodule's first inputs and output (for tracing)."""
    handles = []

    def hook(mod, args, out):
        if id(mod) not in unit.recorded:
            unit.recorded[id(mod)] = tuple(args)
            unit.returns[id(mod)] = out

    for m in model.modules():
        handles.append(m.register_forward_hook(hook))
    try:
        with no_grad():
            model(*example_inputs)
    except Exception:  # noqa: BLE001 - the model itself fails: nothing to record
        pass
    finally:
        for h in handles:
            h.remove()


def compile_with_report(model, *example_inputs):
    """(compiled model or function, CompileReport)."""

    report = CompileReport()
    unit = ForgivingUnit(report)
    if not isinstance(model, Module):
        return _compile_function(unit, model, example_inputs), report
    if example_inputs:
        _record_inputs(unit, model, example_inputs)
        unit.recorded.setdefault(id(model), tuple(example_inputs))
    unit.forgive_module(model, type(model).__name__)
    if id(model) in unit.modules:
        return unit.modules[id(model)], report
    return _eager_shell(unit, model), report


def _compile_function(unit: ForgivingUnit, fn, example_inputs: tuple):
    # NOTE: trace -> tracer -> traced_rnn -> the script compiler -> this module: a cycle
    from graphtorch.frontend.trace import trace_function

    name = getattr(fn, "__qualname__", repr(fn))
    if isinstance(fn, ScriptFunction):
        unit.report.add(Entry(f"{name}()", f"function {name}", Outcome.SCRIPTED,
                              "already compiled"))
        return fn
    try:
        sf = unit.function(fn)
        unit.report.add(Entry(f"{name}()", f"function {name}", Outcome.SCRIPTED))
        return sf
    except Exception as err:  # noqa: BLE001 - any failure becomes a fallback
        why, where = _reason(err)
        where = where or _defined_at(fn)
    if example_inputs:
        try:
            traced = trace_function(fn, example_inputs)
            unit.report.add(Entry(f"{name}()", f"function {name}", Outcome.TRACED, why, where))
            return traced
        except Exception as err:  # noqa: BLE001 - tracing failed too
            why += f"; tracing failed too ({_reason(err)[0]})"
    unit.report.add(Entry(f"{name}()", f"function {name}", Outcome.EAGER, why, where))
    return fn


def _eager_shell(unit: ForgivingUnit, model):
    """``model`` itself runs in Python, with its compiled children swapped in (a shallow copy:
    the caller's module is left untouched, parameters are shared)."""
    shell = copy.copy(model)
    object.__setattr__(shell, "_modules", type(model._modules)())
    for name, sub in model._modules.items():
        compiled = unit.modules.get(id(sub)) if sub is not None else None
        shell._modules[name] = compiled if compiled is not None else sub
    return shell


def compile_forgiving(model, *example_inputs):
    """``graphtorch.jit.compile``: script what can be scripted, trace or run eagerly the rest.

    The result's ``_gt_report`` (a :class:`CompileReport`) says what happened to each part.
    """
    compiled, report = compile_with_report(model, *example_inputs)
    try:
        object.__setattr__(compiled, "_gt_report", report)
    except (AttributeError, TypeError):
        pass
    return compiled


def explain(model, *example_inputs) -> str:
    """``graphtorch.jit.explain``: what compiled, what fell back, why, and where."""
    return str(compile_with_report(model, *example_inputs)[1])
