"""The lark front: Python text -> lark parse tree, with lark failures turned into ScriptErrors.

The parser is lark's bundled Python grammar (LALR with the Python indenter), built once per process
(and cached on disk by lark between processes). Nothing lark raises leaves this module.
"""

from __future__ import annotations

import functools

from lark import Lark, Token, Tree
from lark import parse_tree_builder as _tree_builder
from lark.exceptions import LarkError, UnexpectedInput
from lark.indenter import PythonIndenter

from graphtorch.errors import ScriptError
from graphtorch.frontend.script.lalr_driver import FastLALR
from graphtorch.frontend.script.source import Pos, SourceInfo

# NOTE: labelled broken programs; lark's match_examples finds the one failing the same way, which
# names the mistake far better than "unexpected token".
_EXAMPLES = {
    "expected ':' at the end of this line": [
        "def f(x)\n    return x\n", "if x\n    pass\n", "for i in x\n    pass\n",
        "while x\n    pass\n", "def f(x):\n    if x\n        pass\n",
    ],
    "unbalanced brackets": ["f(x\n", "x = [1, 2\n", "x = (1, 2]]\n", "x = f(a))\n"],
    "unexpected indentation": ["def f(x):\n    x = 1\n        y = 2\n"],
    "a statement is missing its expression": ["x = \n", "return x +\n", "x = 1 +\n"],
}


@functools.cache
def python_parser() -> Lark:
    """The process-wide lark parser for Python (built on first use)."""
    parser = Lark.open_from_package("lark", "python.lark", ["grammars"], parser="lalr",
                                    postlex=PythonIndenter(), start=["file_input", "eval_input"],
                                    propagate_positions=True, cache=True)
    _track_starts_only(parser)
    return parser


class StartPositions:
    """lark's position propagation for where a node *starts* only (the compiler's carets never
    read where a node ends): the same line and column as lark's, at about half its cost -- it
    runs once per grammar reduction, a fifth of scripting time. A node starts where its first
    child's *container* starts (a parenthesized or inlined child keeps the position of the text
    that contained it), as lark defines it."""

    __slots__ = ("node_builder",)

    def __init__(self, node_builder):
        self.node_builder = node_builder

    def __call__(self, children):
        res = self.node_builder(children)
        if isinstance(res, Tree):
            for c in children:
                if isinstance(c, Tree):
                    m = c.meta
                    if m.empty:
                        continue
                    line = getattr(m, "container_line", m.line)
                    column = getattr(m, "container_column", m.column)
                elif isinstance(c, Token):
                    line, column = c.line, c.column
                else:
                    continue
                meta = res.meta
                if not hasattr(meta, "line"):   # else: an inlined child that has its own
                    meta.line, meta.column, meta.empty = line, column, False
                meta.container_line, meta.container_column = line, column
                break
        return res


def _track_starts_only(parser: Lark) -> None:
    """Swap lark's per-rule position wrappers for :class:`StartPositions`; a lark whose parser
    is laid out otherwise keeps its own (slower, same starts)."""
    callbacks = getattr(getattr(getattr(parser.parser, "parser", None), "parser", None),
                        "callbacks", None)
    if not isinstance(callbacks, dict):  # pragma: no cover - another lark layout
        return
    for rule, cb in callbacks.items():
        if type(cb) is _tree_builder.PropagatePositions and not cb.node_filter:
            callbacks[rule] = StartPositions(cb.node_builder)


@functools.cache
def _driver() -> FastLALR | None:
    """The lean LALR driver over :func:`python_parser`'s tables (None: lark parses itself)."""
    return FastLALR.build(python_parser())


def _parse(text: str, start: str) -> Tree:
    driver = _driver()
    if driver is None:  # pragma: no cover - a lark laid out otherwise
        return python_parser().parse(text, start=start)
    return driver.parse(text, start)


def parse_module(src: SourceInfo) -> Tree:
    """Parse a whole source text (a function or class definition) into a lark tree."""
    return _parse_or_raise(src, src.text, "file_input", Pos(1, 1))


def parse_expression(src: SourceInfo, text: str, at: Pos) -> Tree:
    """Parse one expression (e.g. a field of an f-string) that sits at ``at`` in ``src``."""
    return _parse_or_raise(src, text.strip() + "\n", "eval_input", at)


def _parse_or_raise(src: SourceInfo, text: str, start: str, at: Pos) -> Tree:
    try:
        return _parse(text, start)
    except UnexpectedInput as e:
        label = None
        try:
            label = e.match_examples(lambda t: _parse(t, "file_input"), _EXAMPLES,
                                     use_accepts=True)
        except LarkError:
            label = None
        line = (e.line if isinstance(e.line, int) and e.line > 0 else 1) + at.line - 1
        column = e.column if isinstance(e.column, int) and e.column > 0 else 1
        if line == at.line:
            column += at.column - 1
        message = f"invalid syntax: {label}" if label else "invalid syntax"
        raise src.error(message, Pos(line, column),
                        "graphtorch.jit.script parses the Python subset TorchScript accepts; "
                        "check this line, or move the code into a @graphtorch.jit.ignore "
                        "function") from None
    except LarkError as e:
        raise ScriptError(f"could not parse the source of {src.filename}: {e}") from None
