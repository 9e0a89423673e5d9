"""graphtorch.jit.compile scripts what it can and falls back per module/function to tracing or
eager; graphtorch.jit.explain reports each decision with its reason and source location."""

from __future__ import annotations

import inspect

import graphtorch as torch
from graphtorch import nn
from graphtorch.frontend.script.fallback import Outcome, compile_with_report
from graphtorch.testing import assert_close


def _line_of(obj, text: str) -> int:
    lines, first = inspect.getsourcelines(obj)
    return first + next(i for i, ln in enumerate(lines) if text in ln)


class Unscriptable(nn.Module):
    """try/except: script refuses it; tracing captures it."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        try:
            y = self.fc(x)
        except RuntimeError:
            y = x
        return y * 2


class DataDependent(nn.Module):
    """Unsupported and data-dependent: only eager is right for every input."""

    def forward(self, x):
        try:    # unsupported in script (a grad-mode 'with' compiles since with_stmt.py)
            pass
        except Exception:
            pass
        return x * 3 if float(x.sum()) > 0 else x - 1


def helper_with_lambda(x):
    f = lambda t: t + 1  # noqa: E731 - the unsupported construct under test
    return f(x)


class Top(nn.Module):
    def __init__(self, odd):
        super().__init__()
        self.odd = odd
        self.gate = nn.Linear(4, 4)

    def forward(self, x):
        h = self.odd(self.gate(x))
        if h.mean() > 0:
            h = helper_with_lambda(h)
        return h.relu()


def test_unscriptable_submodule_is_traced_with_recorded_inputs():
    model = Top(Unscriptable())
    x = torch.randn(2, 4)
    compiled, report = compile_with_report(model, x)
    assert isinstance(compiled, torch.jit.ScriptModule)
    assert report.outcome_of("Top") is Outcome.SCRIPTED
    assert report.outcome_of("Top.odd") is Outcome.TRACED
    assert report.outcome_of("Top.gate") is Outcome.SCRIPTED
    assert report.outcome_of("helper_with_lambda()") is Outcome.EAGER
    for _ in range(3):
        x = torch.randn(2, 4)
        assert_close(compiled(x), model(x))
    text = str(report)
    assert "try/except is not supported" in text
    line = _line_of(Unscriptable.forward, "try:")
    assert f"test_fallback.py:{line}" in text
    assert f"test_fallback.py:{_line_of(helper_with_lambda, 'lambda t')}" in text


def test_without_example_inputs_submodule_runs_eagerly_inside_script():
    model = Top(DataDependent())
    compiled = torch.jit.compile(model)
    report = compiled._gt_report
    assert report.outcome_of("Top.odd") is Outcome.EAGER
    assert report.outcome_of("Top") is Outcome.SCRIPTED
    assert "prim::PythonOp" in str(compiled.graph)
    for sign in (1.0, -1.0):
        x = torch.rand(2, 4) * sign
        assert_close(compiled(x), model(x))


def test_unscriptable_top_level_keeps_compiled_children():
    model = DataDependent()
    compiled = torch.jit.compile(model)
    assert compiled._gt_report.outcome_of("DataDependent") is Outcome.EAGER
    x = torch.randn(3)
    assert_close(compiled(x), model(x))

    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Linear(3, 3)

        def forward(self, x):
            try:
                return self.inner(x)
            except ValueError:
                return x

    outer = Outer()
    compiled, report = compile_with_report(outer)
    assert report.outcome_of("Outer") is Outcome.EAGER
    assert report.outcome_of("Outer.inner") is Outcome.SCRIPTED
    assert isinstance(compiled.inner, torch.jit.ScriptModule)
    assert not isinstance(outer.inner, torch.jit.ScriptModule)   # the user's model untouched
    assert_close(compiled(x), outer(x))


def test_functions_fall_back_to_trace_or_eager():
    def scriptable(x, n: int):
        for _ in range(n):
            x = x * 2
        return x

    sf, report = compile_with_report(scriptable)
    assert report.outcome_of("test_functions_fall_back_to_trace_or_eager.<locals>.scriptable()") \
        is Outcome.SCRIPTED
    assert_close(sf(torch.ones(2), 3), torch.full((2,), 8.0))

    x = torch.randn(3)
    traced, report = compile_with_report(helper_with_lambda, x)
    assert report.entries[0].outcome is Outcome.TRACED
    assert "lambda is not supported" in report.entries[0].reason
    assert_close(traced(x), x + 1)
    same, report = compile_with_report(helper_with_lambda)
    assert same is helper_with_lambda and report.entries[0].outcome is Outcome.EAGER


def test_explain_text():
    text = torch.jit.explain(Top(Unscriptable()), torch.randn(2, 4))
    assert text.startswith("graphtorch.jit.explain: 3 scripted, 1 traced, 1 eager")
    assert "traced   Top.odd  (module Unscriptable)" in text
    assert "why: try/except is not supported in script" in text
