"""How deeply IR text nests, measured by one linear scan before any parser runs.

The IR readers (fast_parser.py, the lark builder in parser.py), the verifier, the printer and
the passes descend into nested blocks, types and attribute values by recursion. Text is
refused up front when blocks, brackets (types, attribute lists, tuples) or postfix types
(``Tensor[][]?``) nest deeper than a limit, so none of them meets a nesting deep enough to
exhaust Python's stack, whatever the text; numbers longer than MAX_DIGITS digits are refused
too (Python will not even read an int of more than 4300 digits).
"""

from __future__ import annotations

import re

MAX_DIGITS = 100     # int64 needs 19 (NOTE: the digits group of _TOKENS spells MAX_DIGITS + 1)

_TOKENS = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|<tensor:[^>\s]*>'
                     r"|(?P<digits>[0-9]{101,})|(?P<block>\bblock\d+\s*\()|(?P<arrow>->)"
                     r"|(?P<postfix>\[\s*\]|\?)|(?P<open>[\[({])|(?P<close>[\])}])")


def nesting_problem(text: str, limit: int) -> tuple[int, str] | None:
    """(line, why) when ``text`` nests deeper than ``limit`` or holds an overlong number,
    else None. Strings, comments and tensor references are skipped; nothing recurses."""
    blocks = brackets = run = 0
    prev_end, prev_postfix = 0, False
    for m in _TOKENS.finditer(text):
        kind = m.lastgroup
        what = None
        if kind == "digits":
            return _line(text, m.start()), (f"a number of {len(m.group())} digits (the limit "
                                            f"is {MAX_DIGITS})")
        if kind == "postfix":   # Tensor[][]?[] wraps a type once per suffix
            adjacent = prev_postfix and not text[prev_end:m.start()].strip()
            run = run + 1 if adjacent else 1
            what = "types" if brackets + run > limit else None
        elif kind == "block":
            blocks, brackets = blocks + 1, brackets + 1
            what = "blocks" if blocks > limit else None
        elif kind == "arrow":
            blocks = max(blocks - 1, 0)
        elif kind == "open":
            brackets += 1
            what = "brackets (types, attributes, tuples)" if brackets > limit else None
        elif kind == "close":
            brackets = max(brackets - 1, 0)
        if what is not None:
            return _line(text, m.start()), f"{what} nest deeper than the limit of {limit}"
        prev_end, prev_postfix = m.end(), kind == "postfix"
    return None


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1
