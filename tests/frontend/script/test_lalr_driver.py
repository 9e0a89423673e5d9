"""The lean LALR driver builds exactly lark's tree (rules, tokens, every start position) on real
sources, and a syntax error is still lark's own error."""

from __future__ import annotations

from pathlib import Path

import pytest
from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from graphtorch.frontend.script.lalr_driver import FastLALR, _is_unit_identity
from graphtorch.frontend.script.parser import _driver, python_parser

ROOT = Path(__file__).resolve().parents[3]
SOURCES = (sorted((ROOT / "frontend" / "script").glob("*.py"))
           + sorted((ROOT / "graphtorch" / "ir").glob("*.py"))[:6]
           + [ROOT / "tests" / "frontend" / "script" / "test_language_features.py"])
SNIPPET = '''
@dec(1)
def f(x: int, *a, y: List[int] = [1, (2 + 3)], **k) -> Tuple[int, bool]:
    if not x:
        return (x + 1), True
    elif x is not None and x not in y or -x ** 2 >= 3 // 4:
        x @= x
    for i in [a for a in y if a]:
        x += -i if i else (i)
    assert x, "no"
    while None: pass
    with a as b, c:
        lambda q=1: q
    return {"a": [x], **k}["a"][0:2:-1], f"{x!r:>3}", not False
'''


def _same(a, b) -> None:
    """Equal as trees: rule names, children, token kinds/text/positions, node starts."""
    assert type(a) is type(b)
    if isinstance(a, Token):
        assert (a.type, str(a), a.line, a.column, a.start_pos, a.end_pos) == \
            (b.type, str(b), b.line, b.column, b.start_pos, b.end_pos)
        return
    if not isinstance(a, Tree):
        assert a == b
        return
    assert a.data == b.data and len(a.children) == len(b.children)
    for key in ("empty", "line", "column", "container_line", "container_column"):
        assert getattr(a.meta, key, None) == getattr(b.meta, key, None), (a.data, key)
    for x, y in zip(a.children, b.children, strict=True):
        _same(x, y)


@pytest.mark.parametrize("text", [SNIPPET] + [p.read_text() for p in SOURCES],
                         ids=["snippet"] + [p.name for p in SOURCES])
def test_the_driver_builds_larks_tree(text):
    driver = _driver()
    assert isinstance(driver, FastLALR)
    ours = driver._drive(text, "file_input")          # the driver alone, no fallback
    theirs = python_parser().parse(text, start="file_input")
    assert sum(1 for _ in theirs.iter_subtrees()) > 10
    _same(ours, theirs)


def test_expressions_parse_from_their_own_start():
    tree = _driver()._drive("a[1] + f(b, c=2)\n", "eval_input")
    _same(tree, python_parser().parse("a[1] + f(b, c=2)\n", start="eval_input"))


@pytest.mark.parametrize("text", ["def f(x)\n    return x\n", "x = (1, 2]\n",
                                  "def f():\n  x = 1\n    y = 2\n", "x = $\n", "if x:\npass\n"])
def test_bad_input_raises_larks_own_error(text):
    with pytest.raises(UnexpectedInput) as ours:
        _driver().parse(text, "file_input")
    with pytest.raises(UnexpectedInput) as theirs:
        python_parser().parse(text, start="file_input")
    assert type(ours.value) is type(theirs.value)
    assert (ours.value.line, ours.value.column) == (theirs.value.line, theirs.value.column)


def test_unit_rules_are_recognized_from_the_callback_chain():
    inner = python_parser().parser.parser.parser
    units = [r for r, cb in inner.callbacks.items()
             if not isinstance(r, str) and _is_unit_identity(r, cb)]
    assert len(units) > 20                      # the expression grammar's ?-rule ladder
    for rule in units:
        assert len(rule.expansion) == 1 and rule.options.expand1 and not rule.alias
        child = Tree("child", [])
        assert inner.callbacks[rule]([child]) is child
