"""Reading a function's source off its code object gives inspect's lines (trailing blank and
comment lines aside), or hands the lookup to inspect when the block's end is not certain."""

from __future__ import annotations

import functools
import inspect

import pytest

import graphtorch
import graphtorch.nn.functional as F
from graphtorch.frontend.script.source import _function_lines, get_source
from tests.frontend.script import source_samples as S


def _trim(lines: list[str]) -> list[str]:
    lines = list(lines)
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
        lines.pop()
    return lines


def _check_like_inspect(fn) -> bool:
    """True when the fast path answered; then its answer is inspect's."""
    found = _function_lines(fn)
    if found is None:
        return False
    lines, first, filename = found
    ref, ref_first = inspect.getsourcelines(fn)
    assert (first, _trim(lines)) == (ref_first, _trim(ref))
    assert filename == inspect.getsourcefile(fn)
    return True


@pytest.mark.parametrize("fn", [S.plain, S.decorated, S.nested, S.one_liner, S.string_tail,
                                S.Holder.method, S.Holder.after], ids=lambda f: f.__qualname__)
def test_the_fast_path_reads_what_inspect_reads(fn):
    assert _check_like_inspect(fn)


@pytest.mark.parametrize("fn", [S.trailing_pass, S.trailing_annotation],
                         ids=lambda f: f.__qualname__)
def test_statements_without_instructions_at_the_end_are_never_cut_off(fn):
    _check_like_inspect(fn)            # answered like inspect, or left to it
    assert get_source(fn).text.rstrip().endswith(("pass", "w: int"))


@pytest.mark.parametrize("fn", [S.docstring_only, functools.wraps(S.plain)(lambda x: x),
                                lambda x: x], ids=["docstring_only", "wrapped", "lambda"])
def test_uncertain_ends_are_left_to_inspect(fn):
    assert _function_lines(fn) is None


def test_functions_read_the_fast_way_compile_and_run():
    assert graphtorch.jit.script(S.decorated)(3) == 5
    assert graphtorch.jit.script(S.one_liner)(2) == 6


def test_a_library_module_reads_like_inspect():
    fns = [f for f in vars(F).values() if inspect.isfunction(f) and f.__module__ == F.__name__]
    answered = [f for f in fns if _check_like_inspect(f)]
    assert len(fns) > 50 and len(answered) > 0.8 * len(fns)
