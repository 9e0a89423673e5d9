"""The parser's start-only position tracking gives every node the start lark's own propagation
gives it (carets point at the same line and column), on real sources."""

from __future__ import annotations

from pathlib import Path

import pytest
from lark import Lark
from lark.indenter import PythonIndenter

from graphtorch.frontend.script.build_ast import pos_of
from graphtorch.frontend.script.parser import StartPositions, python_parser

ROOT = Path(__file__).resolve().parents[3]
SOURCES = sorted((ROOT / "frontend" / "script").glob("*.py"))[:12] + [
    ROOT / "tests" / "frontend" / "script" / "test_language_features.py",
    ROOT / "tests" / "frontend" / "script" / "test_classes_with.py",
]
SNIPPET = '''
def f(x: int, y: List[int] = [1, (2 + 3)]) -> Tuple[int, bool]:
    if not x:
        return (x + 1), True
    for i in [a for a in y if a]:
        x += -i if i else (i)
    assert x, "no"
    while None: pass
    return {"a": [x]}["a"][0], False
'''


@pytest.fixture(scope="module")
def lark_positions() -> Lark:
    """lark's own propagation (start and end of every node)."""
    return Lark.open_from_package("lark", "python.lark", ["grammars"], parser="lalr",
                                  postlex=PythonIndenter(), start=["file_input", "eval_input"],
                                  propagate_positions=True)


def test_the_parser_uses_start_positions():
    callbacks = python_parser().parser.parser.parser.callbacks
    assert all(isinstance(cb, StartPositions) for cb in callbacks.values())


@pytest.mark.parametrize("text", [SNIPPET] + [p.read_text() for p in SOURCES],
                         ids=["snippet"] + [p.name for p in SOURCES])
def test_every_node_starts_where_lark_says(lark_positions, text):
    ours = list(python_parser().parse(text, start="file_input").iter_subtrees())
    theirs = list(lark_positions.parse(text, start="file_input").iter_subtrees())
    assert len(ours) == len(theirs) > 10
    for a, b in zip(ours, theirs, strict=True):
        assert a.data == b.data
        assert pos_of(a) == pos_of(b), (a.data, pos_of(a), pos_of(b))
